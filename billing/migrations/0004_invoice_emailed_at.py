"""When each invoice's PDF was emailed (billing.services.invoice_email): the stamp that claims
the send. On PostgreSQL the immutability trigger's function of 0003 is redefined so that this
one column may move too, besides the payment fields: mailing an invoice does not edit what
was issued. Reversing restores 0003's function."""

import importlib

from django.db import migrations, models

# 0003's function, with 'emailed_at' added to the columns an UPDATE may change.
_ISSUED = importlib.import_module("billing.migrations.0003_invoices")
FUNCTION_0003 = _ISSUED.INVOICE_IMMUTABLE.split("DROP TRIGGER", 1)[0]
FUNCTION_0004 = FUNCTION_0003.replace("to_jsonb(NEW)", "(to_jsonb(NEW) - 'emailed_at')").replace(
    "to_jsonb(OLD)", "(to_jsonb(OLD) - 'emailed_at')"
)
assert FUNCTION_0004.count("'emailed_at'") == 2, "0003's trigger function changed shape"


def allow_emailed_at(apps, schema_editor):
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
            name="emailed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(allow_emailed_at, restore_0003),
    ]
