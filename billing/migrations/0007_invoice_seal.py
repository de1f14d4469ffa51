"""Issued invoices are sealed (issue 17): on PostgreSQL, besides 0003/0004's refusals,

- a line (of an invoice or of a credit note: both are `billing_invoiceline`) can be inserted
  only by the transaction that inserted its invoice, so an issued invoice's lines keep adding
  up to its total;
- an invoice's status moves only forward: open → paid (`invoice_mark_paid`), open → void (a
  credit note crediting an open invoice in full); paid and void never change again;
- each payment column (`paid_on`, `paid_reference`, `paid_by`) is set once, from empty to a
  value, and is never changed or cleared after.

The email columns stay free (0004). Nothing changes on SQLite.

Which transaction issued an invoice is kept in a PostgreSQL-only column, `issuing_txid`, that a
BEFORE INSERT trigger fills with `txid_current()` (whatever the INSERT says) and that the
immutability trigger then keeps as it is. The model does not declare it (SQLite has no
transaction ids; Django's INSERTs leave it to the trigger). `txid_current()` is the top-level
transaction's id, also inside savepoints (Django's nested `atomic()`), and is never reused.

Why not the row's `xmin` (is the invoice row's version ours, still in progress?): `xmin` is the
transaction that wrote the row's *latest version*, not the one that inserted it. Any UPDATE the
trigger allows, even one that changes nothing (`invoice.save()`, an email stamp, the credit
note voiding the invoice), makes a committed invoice's `xmin` ours for the rest of the
transaction, and lines could then be added to it.

Reversing drops the column and the two new triggers and restores 0004's function."""

import importlib

from django.db import migrations

_EMAIL = importlib.import_module("billing.migrations.0004_invoice_emailed_at")
FUNCTION_0004 = _EMAIL.FUNCTION_0004

# The updatable columns (payment and email) are checked one by one below; every other column,
# `issuing_txid` included, is compared as a whole and never changes.
SEAL = r"""
ALTER TABLE billing_invoice ADD COLUMN IF NOT EXISTS issuing_txid bigint;
COMMENT ON COLUMN billing_invoice.issuing_txid IS
    'txid_current() of the transaction that issued the invoice, set by the trigger '
    'billing_invoice_issuing; only that transaction may insert its lines (billing/0007).';

CREATE OR REPLACE FUNCTION billing_invoice_issuing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.issuing_txid := txid_current();
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS billing_invoice_issuing ON billing_invoice;
CREATE TRIGGER billing_invoice_issuing BEFORE INSERT ON billing_invoice
FOR EACH ROW EXECUTE FUNCTION billing_invoice_issuing();

CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    document text;
BEGIN
    IF TG_TABLE_NAME = 'billing_invoice' THEN
        document := CASE WHEN OLD.kind = 'credit_note' THEN 'Credit note ' ELSE 'Invoice ' END
            || OLD.number;
    ELSE
        SELECT CASE WHEN i.kind = 'credit_note' THEN 'credit note ' ELSE 'invoice ' END
               || i.number
          INTO document FROM billing_invoice i WHERE i.id = OLD.invoice_id;
        document := coalesce(document, 'invoice #' || OLD.invoice_id);
    END IF;

    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'billing_invoice' THEN
        IF (to_jsonb(NEW) - 'status' - 'paid_on' - 'paid_reference' - 'paid_by'
                - 'email_claimed_at' - 'emailed_at')
           IS DISTINCT FROM
           (to_jsonb(OLD) - 'status' - 'paid_on' - 'paid_reference' - 'paid_by'
                - 'email_claimed_at' - 'emailed_at') THEN
            RAISE EXCEPTION '% is issued and never edited: only its payment may be recorded, '
                'once; issue a credit note to correct it.', document;
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status
           AND NOT (OLD.status = 'open' AND NEW.status IN ('paid', 'void')) THEN
            RAISE EXCEPTION '% cannot go from % to %: an invoice''s status only moves forward '
                '(open to paid, or open to void by a credit note crediting it in full); '
                'issue a credit note to correct it.', document, OLD.status, NEW.status;
        END IF;
        IF (OLD.paid_on IS NOT NULL AND NEW.paid_on IS DISTINCT FROM OLD.paid_on)
           OR (OLD.paid_reference <> '' AND NEW.paid_reference IS DISTINCT FROM OLD.paid_reference)
           OR (OLD.paid_by <> '' AND NEW.paid_by IS DISTINCT FROM OLD.paid_by) THEN
            RAISE EXCEPTION '% has its payment recorded already (paid on %, reference "%", '
                'paid by "%"): a payment is recorded once, never changed or cleared; issue a '
                'credit note to correct it.',
                document, OLD.paid_on, OLD.paid_reference, OLD.paid_by;
        END IF;
        RETURN NEW;
    END IF;

    IF TG_TABLE_NAME = 'billing_invoice' THEN
        RAISE EXCEPTION '% is kept as issued: % is refused; issue a credit note to correct it.',
            document, TG_OP;
    ELSIF TG_TABLE_NAME = 'billing_invoiceline' THEN
        RAISE EXCEPTION 'The lines of % are kept as issued: % of a line is refused; issue a '
            'credit note to correct the invoice.', document, TG_OP;
    END IF;
    RAISE EXCEPTION 'The ledger entries that % covers are kept as issued: % on % is refused; '
        'issue a credit note to correct the invoice.', document, TG_OP, TG_TABLE_NAME;
END;
$$;

-- One check per statement (bulk_create, INSERT ... SELECT), not one per line.
CREATE OR REPLACE FUNCTION billing_invoiceline_sealed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sealed record;
BEGIN
    SELECT i.number, i.kind, corrected.number AS corrects INTO sealed
      FROM (SELECT DISTINCT invoice_id FROM inserted_lines) l
      JOIN billing_invoice i ON i.id = l.invoice_id
      LEFT JOIN billing_invoice corrected ON corrected.id = i.corrects_id
     WHERE i.issuing_txid IS DISTINCT FROM txid_current()
     ORDER BY i.number
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF sealed.kind = 'credit_note' THEN
        RAISE EXCEPTION 'Credit note % is issued and sealed: a line cannot be added to it after '
            'the transaction that issued it; to credit more of invoice %, issue another credit '
            'note.', sealed.number, sealed.corrects;
    END IF;
    RAISE EXCEPTION 'Invoice % is issued and sealed: a line cannot be added to it after the '
        'transaction that issued it (its lines add up to its total); issue a credit note to '
        'correct it.', sealed.number;
END;
$$;
DROP TRIGGER IF EXISTS billing_invoiceline_sealed ON billing_invoiceline;
CREATE TRIGGER billing_invoiceline_sealed AFTER INSERT ON billing_invoiceline
REFERENCING NEW TABLE AS inserted_lines
FOR EACH STATEMENT EXECUTE FUNCTION billing_invoiceline_sealed();
"""

UNSEAL = """
DROP TRIGGER IF EXISTS billing_invoiceline_sealed ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_sealed();
DROP TRIGGER IF EXISTS billing_invoice_issuing ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_issuing();
ALTER TABLE billing_invoice DROP COLUMN IF EXISTS issuing_txid;
"""


def seal(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEAL, params=None)


def unseal(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNSEAL, params=None)
        schema_editor.execute(FUNCTION_0004, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_ledger_campaign_created_index"),
    ]

    operations = [
        migrations.RunPython(seal, unseal),
    ]
