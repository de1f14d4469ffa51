"""The email of each invoice's PDF (billing.services.invoice_email): when a worker claimed the
send (a lease) and when it was sent. On PostgreSQL the immutability trigger's function of 0003
is redefined so that these two columns may move too, besides the payment fields: mailing an
invoice does not edit what was issued. Reversing restores 0003's function."""

import importlib

from django.db import migrations, models

# 0003's function, with the two email columns added to those an UPDATE may change.
_ISSUED = importlib.import_module("billing.migrations.0003_invoices")
FUNCTION_0003 = _ISSUED.INVOICE_IMMUTABLE.split("DROP TRIGGER", 1)[0]
EMAIL_COLUMNS = "- 'email_claimed_at' - 'emailed_at'"
FUNCTION_0004 = FUNCTION_0003.replace("to_jsonb(NEW)", f"(to_jsonb(NEW) {EMAIL_COLUMNS})").replace(
    "to_jsonb(OLD)", f"(to_jsonb(OLD) {EMAIL_COLUMNS})"
)
assert FUNCTION_0004.count(EMAIL_COLUMNS) == 2, "0003's trigger function changed shape"


def allow_email_columns(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION_0004, params=None)


def restore_0003(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION_0003, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_invoices"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="email_claimed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="invoice",
            name="emailed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(allow_email_columns, restore_0003),
    ]
