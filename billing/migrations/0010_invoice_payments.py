"""Partial payments (issue 20): `Payment` rows, append-only, and the invoice's `amount_paid`,
their sum, moved by one conditional UPDATE that never goes above the total (a CHECK).

On PostgreSQL the seal (0007) compared every column but the payment and email ones, so it would
refuse `amount_paid` moving: its function is replaced by one that also lets `amount_paid` move,
upwards only and only while the invoice is open (a payment is never taken back: a credit note
corrects it). Payments get a trigger refusing UPDATE and DELETE. Reversing restores 0007's
function. Nothing changes on SQLite but the table and the column."""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

_SEAL = importlib.import_module("billing.migrations.0007_invoice_seal")
_FUNCTION_0007 = _SEAL.SEAL[
    _SEAL.SEAL.index("CREATE OR REPLACE FUNCTION billing_invoice_immutable()") : _SEAL.SEAL.index(
        "-- One check per statement"
    )
]


def _function_0008() -> str:
    """0007's billing_invoice_immutable, with `amount_paid` among the columns that may move,
    and its own rule: upwards only, only while open."""
    function = _FUNCTION_0007
    for old, new in [
        (
            "- 'email_claimed_at' - 'emailed_at')\n           IS DISTINCT FROM",
            "- 'email_claimed_at' - 'emailed_at' - 'amount_paid')\n           IS DISTINCT FROM",
        ),
        (
            "- 'email_claimed_at' - 'emailed_at') THEN",
            "- 'email_claimed_at' - 'emailed_at' - 'amount_paid') THEN",
        ),
        (
            "        RETURN NEW;\n    END IF;",
            "        IF NEW.amount_paid IS DISTINCT FROM OLD.amount_paid\n"
            "           AND (OLD.status <> 'open' OR NEW.amount_paid < OLD.amount_paid) THEN\n"
            "            RAISE EXCEPTION '% has % paid: a payment is added only to an open "
            "invoice and never taken back; issue a credit note to correct it.',\n"
            "                document, OLD.amount_paid;\n"
            "        END IF;\n"
            "        RETURN NEW;\n    END IF;",
        ),
    ]:
        assert function.count(old) == 1, old
        function = function.replace(old, new)
    return function


PAYMENTS_APPEND_ONLY = r"""
CREATE OR REPLACE FUNCTION billing_payment_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'A recorded payment is kept as recorded: % is refused; issue a credit '
        'note to correct the invoice.', TG_OP;
END;
$$;
DROP TRIGGER IF EXISTS billing_payment_append_only ON billing_payment;
CREATE TRIGGER billing_payment_append_only BEFORE UPDATE OR DELETE ON billing_payment
FOR EACH ROW EXECUTE FUNCTION billing_payment_append_only();
"""

UNDO = """
DROP TRIGGER IF EXISTS billing_payment_append_only ON billing_payment;
DROP FUNCTION IF EXISTS billing_payment_append_only();
"""


def seal_payments(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function_0008(), params=None)
        schema_editor.execute(PAYMENTS_APPEND_ONLY, params=None)


def unseal_payments(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNDO, params=None)
        schema_editor.execute(_FUNCTION_0007, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_finance_desk_reconciliation_monthend"),
        ("console", "0007_remove_support_request"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Payment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                ("paid_on", models.DateField()),
                ("reference", models.CharField(max_length=200)),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["invoice", "recorded_at", "pk"],
            },
        ),
        migrations.AddField(
            model_name="invoice",
            name="amount_paid",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=12),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_paid", 0),
                    models.Q(("amount_paid__gt", 0), ("amount_paid__lte", models.F("total"))),
                    _connector="OR",
                ),
                name="invoice_amount_paid_within_total",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="invoice",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="billing.invoice",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="recorded_by",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="payment_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(("reference", ""), _negated=True), name="payment_has_reference"
            ),
        ),
        migrations.RunPython(seal_payments, unseal_payments),
    ]
