"""Billing: payment methods, the append-only spend ledger and the monthly spend counters."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from console.money import format_money
from console.rules import case_value, q_matches


def card_expired(exp_month: int, exp_year: int, today: date) -> bool:
    """The one rule of card expiry: a card is good until the end of its expiry month, so it has
    expired once `today` is in a later month. The card form refuses such a card and the billing
    page warns about the one on file."""
    return (exp_year, exp_month) < (today.year, today.month)


class PaymentMethod(models.Model):
    """A card on file (only brand, last four, expiry and billing address; never the number).
    One active method per account."""

    account = models.ForeignKey(
        "console.Account", on_delete=models.CASCADE, related_name="payment_methods"
    )
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    cardholder_name = models.CharField(max_length=120, blank=True)
    billing_address = models.TextField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_active=True), name="one_active_payment_method"
            ),
            models.CheckConstraint(
                condition=Q(exp_month__gte=1, exp_month__lte=12), name="card_exp_month_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4} ({self.exp_month:02d}/{self.exp_year})"

    @property
    def is_expired(self) -> bool:
        """card_expired as of the business date."""
        return card_expired(self.exp_month, self.exp_year, timezone.localdate())


class LedgerEntry(models.Model):
    """One line of the spend ledger: a CPA charge, or a correction. Never edited or deleted;
    corrections are new entries. `month` (the first day of the month charged) feeds the
    monthly caps and invoices."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "CPA charge"
        CORRECTION = "correction", "Correction"

    account = models.ForeignKey("console.Account", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    moment = models.ForeignKey(
        "campaigns.Moment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grant = models.OneToOneField(
        "rewards.RewardGrant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entry",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHARGE)
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    month = models.DateField()
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["account", "month"]),
            # A campaign's results read its ledger since its rollup's watermark.
            models.Index(fields=["campaign", "created_at"], name="ledger_campaign_created"),
            # The admin list (console.admin_lists): newest first, and one index per filter.
            models.Index(fields=["created_at", "id"], name="ledger_created"),
            models.Index(fields=["kind", "created_at", "id"], name="ledger_kind_created"),
            models.Index(fields=["month", "created_at"], name="ledger_month_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_money(self.amount)} ({self.campaign_id})"


class AccountMonthlySpend(models.Model):
    """What an account has spent in one month: the counter the account cap is checked on."""

    account = models.ForeignKey("console.Account", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    spent = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="account_month_unique"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="account_month_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}: {format_money(self.spent)}"


class CampaignMonthlySpend(models.Model):
    """What a campaign has spent in one month: the counter the $5,000 campaign cap is
    checked on."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="monthly_spend"
    )
    month = models.DateField()
    spent = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="campaign_month_unique"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="campaign_month_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.month:%Y-%m}: {format_money(self.spent)}"


class InvoiceCounter(models.Model):
    """The last invoice number drawn in a calendar year: one row per series.

    Numbers are drawn by one conditional `UPDATE ... SET last = last + 1 RETURNING last` in the
    invoice's own transaction (`invoice_number_next`), so a rolled-back invoice gives its number
    back and the series has no gap. Never `max() + 1` (two writers read the same max) and never
    a database sequence (a rolled-back nextval is lost)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


# Invoice terms: the invoice is due this many days after its issue date (SPEC §9).
PAYMENT_DAYS = 30


def invoice_due_date(*, payment_terms: str, issue_date: date) -> date:
    """The one rule of "due": invoice terms give PAYMENT_DAYS; a card account is charged on
    the day of issue, so its invoice is due that day. The monthly run stores it
    (billing.services.invoices); Invoice.due_on reads it back for invoices stored without one."""
    if payment_terms == Invoice.PaymentTerms.INVOICE:
        return issue_date + timedelta(days=PAYMENT_DAYS)
    return issue_date


def invoice_overdue_q(today: date) -> Q:
    """The one rule of "overdue": open, and its due date is before `today` (an invoice due
    today is not overdue yet). The finance filter, the console's badge and the PDF's payment
    line all read it: in a query through InvoiceQuerySet.overdue, on one invoice through
    Invoice.overdue_on (console.rules evaluates the same Q without a query)."""
    return Q(status="open", due_date__lt=today)


# What invoice_status_case gives, and how a person reads it (admin, CSV in lower case).
INVOICE_STATUS_LABELS = {
    "open": "Open",
    "partially_paid": "Partially paid",
    "overdue": "Overdue",
    "paid": "Paid",
    "void": "Void",
    "applied": "Applied",
}


def invoice_status_case(today: date) -> Case:
    """The one status a person reads, as of `today`: a credit note is "applied" (it is
    settled against its invoice when issued; its stored status is `paid`), an open invoice
    past its due date is "overdue" (invoice_overdue_q), an open one with a payment recorded
    is "partially_paid", else the stored status. The admin list and detail page, the CSV and
    the PDF read it: in a query through InvoiceQuerySet.with_status_shown, on one invoice
    through Invoice.status_on (console.rules evaluates the same Case without a query)."""
    return Case(
        When(Q(kind="credit_note"), then=Value("applied")),
        When(invoice_overdue_q(today), then=Value("overdue")),
        When(Q(status="open", amount_paid__gt=0), then=Value("partially_paid")),
        default=F("status"),
        output_field=models.CharField(),
    )


class InvoiceQuerySet(models.QuerySet):
    def with_status_shown(self, today: date | None = None) -> InvoiceQuerySet:
        """Each invoice with `status_shown`, invoice_status_case as of `today`."""
        return self.annotate(status_shown=invoice_status_case(today or timezone.localdate()))

    def overdue(self, today: date | None = None) -> InvoiceQuerySet:
        """The invoices overdue on `today` (the business date by default)."""
        return self.filter(invoice_overdue_q(today or timezone.localdate()))


class Invoice(models.Model):
    """An issued invoice or credit note: a month's charges of one account, with a snapshot of
    the buyer as it was on the day of issue.

    Sealed once issued, by PostgreSQL triggers (billing/0003, 0004, 0007): never edited or
    deleted, and its lines are written only by the transaction that inserts it. What may move:
    - status, forward only: open → paid (`invoice_mark_paid`), open → void (`credit_note_issue`
      crediting an open invoice in full); card-paid invoices and credit notes are inserted
      paid. Paid and void never change;
    - each payment field (paid_on, paid_reference, paid_by) once, from empty to a value;
    - the email lease and stamp (email_claimed_at, emailed_at), freely.
    A mistake is corrected by a credit note, a row of kind `credit_note` that `corrects` the
    invoice, with its own number in the same series and negative lines.

    On PostgreSQL the table also has a column the model does not declare, `issuing_txid`: the
    id of the transaction that inserted the row, set by a trigger, which the line trigger
    compares with `txid_current()`."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    class PaymentTerms(models.TextChoices):
        CARD = "card", "Card on file"
        INVOICE = "invoice", "Invoice (30 days)"

    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    account = models.ForeignKey(
        "console.Account", on_delete=models.PROTECT, related_name="invoices"
    )
    period = models.DateField(help_text="The first day of the month billed.")
    issued_at = models.DateTimeField(default=timezone.now)
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    payment_terms = models.CharField(
        max_length=10, choices=PaymentTerms.choices, default=PaymentTerms.CARD
    )
    paid_by = models.CharField(max_length=60, blank=True)
    buyer_company = models.CharField(max_length=200)
    buyer_address = models.TextField(blank=True)
    buyer_country = models.CharField(max_length=2, blank=True)
    buyer_tax_id = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    paid_on = models.DateField(null=True, blank=True)
    paid_reference = models.CharField(max_length=200, blank=True)
    # What finance recorded as paid on this invoice: always the sum of its Payment rows (card
    # charges on issue are not Payments: such invoices are inserted paid). Moved only by
    # invoice_payment_record's conditional UPDATE, upwards, never above the total (a database
    # check, and on PostgreSQL the seal trigger, billing/0008).
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    reason = models.TextField(blank=True)
    # The email of the PDF to the billing owner (billing.services.invoice_email): claimed
    # with a lease by a conditional UPDATE, stamped once sent, so a task run twice mails once
    # and a sweep sends what a dead worker claimed. Not part of what was issued: the
    # immutability trigger lets these two move freely (billing/0004, kept by 0007): the claim
    # is given back (NULL) after a failed send and re-claimed by the sweep after the lease.
    email_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-number"]
        indexes = [
            models.Index(fields=["period", "status"]),
            models.Index(fields=["account", "period"]),
            # The admin list's status filter ("overdue": open and due before today).
            models.Index(fields=["status", "due_date"], name="invoice_status_due"),
        ]
        constraints = [
            # What makes the monthly run idempotent: one invoice per account and month, however
            # many workers run it (credit notes are not limited).
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=Q(kind="invoice"),
                name="invoice_one_per_account_period",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", corrects__isnull=True)
                | Q(kind="credit_note", corrects__isnull=False),
                name="invoice_credit_note_corrects",
            ),
            models.CheckConstraint(
                condition=Q(status="paid", paid_on__isnull=False) | ~Q(status="paid"),
                name="invoice_paid_has_date",
            ),
            # Two payments recorded at once can never pay more than the invoice's total.
            models.CheckConstraint(
                condition=Q(amount_paid=0) | Q(amount_paid__gt=0, amount_paid__lte=F("total")),
                name="invoice_amount_paid_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    def overdue_on(self, today: date) -> bool:
        """invoice_overdue_q on this invoice, as of `today`."""
        return q_matches(invoice_overdue_q(today), self)

    @property
    def is_overdue(self) -> bool:
        """Overdue as of the business date (the badge the console and the admin show)."""
        return self.overdue_on(timezone.localdate())

    @property
    def due_on(self) -> date | None:
        """The due date printed on the invoice: the stored one, else the terms' rule (card-paid
        invoices store none: they were charged on issue). Credit notes are never due."""
        if self.is_credit_note:
            return None
        if self.due_date is not None:
            return self.due_date
        return invoice_due_date(payment_terms=self.payment_terms, issue_date=self.issue_date)

    @property
    def is_corrected(self) -> bool:
        """True when a credit note corrects this invoice (uses a prefetched `credit_notes`
        when the caller prefetched it)."""
        if self.is_credit_note:
            return False
        return self.credit_notes.exists() if self.pk else False

    def status_on(self, today: date) -> str:
        """invoice_status_case on this invoice, as of `today` (`overdue`, `applied`, ...)."""
        return case_value(invoice_status_case(today), self)

    @property
    def status_label(self) -> str:
        """The status a person reads as of the business date: "Overdue", "Partially paid",
        "Applied" for a credit note (invoice_status_case)."""
        return INVOICE_STATUS_LABELS[self.status_on(timezone.localdate())]


class Payment(models.Model):
    """A payment finance recorded against an invoice (a bank transfer's amount, date and
    reference). Append-only: written only by `invoice_payment_record`, in the transaction that
    adds its amount to the invoice's `amount_paid`; on PostgreSQL a trigger refuses UPDATE and
    DELETE (billing/0008). A mistake is corrected by a credit note, never by an edit."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    paid_on = models.DateField()
    reference = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["invoice", "recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=~Q(reference=""), name="payment_has_reference"),
        ]

    def __str__(self) -> str:
        return (
            f"{format_money(self.amount, places=2)} on {self.paid_on:%Y-%m-%d} ({self.reference})"
        )


class InvoiceLine(models.Model):
    """One line of an invoice: a campaign's actions at one CPA in one month, or a credit note's
    negative line. `amount` is rounded once to cents (`console.money.round_money`).

    Written with its invoice and never after: on PostgreSQL a trigger refuses an INSERT unless
    the invoice was inserted by the same transaction (savepoints included), and another refuses
    every UPDATE and DELETE (billing/0007), so an issued invoice's lines keep adding up to its
    total."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=300)
    actions = models.IntegerField(default=0)
    unit_cpa = models.DecimalField(max_digits=12, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["invoice", "position", "pk"]

    def __str__(self) -> str:
        return self.description


class InvoicedEntry(models.Model):
    """Which invoice billed a ledger entry. The one-to-one on the entry is what makes every
    ledger entry billed exactly once, without ever editing the (append-only) ledger.

    No database foreign keys (db_constraint=False): a monthly run inserts one row per ledger
    entry, and PostgreSQL's checks of two foreign keys per row took more than half of the run
    (bench/invoices.py: 27.8 s of 47.9 s, all at COMMIT). They guard nothing here: rows are only
    written by INSERT ... SELECT from the ledger and the invoice in the same transaction, and
    neither the ledger nor invoices can be deleted (triggers on PostgreSQL, PROTECT in Django)."""

    ledger_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="invoiced", db_constraint=False
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="entries", db_constraint=False
    )

    class Meta:
        verbose_name_plural = "invoiced entries"

    def __str__(self) -> str:
        return f"{self.ledger_entry_id} → {self.invoice_id}"


# --- The finance desk (issue 20) ----------------------------------------------------------------


class DunningCase(models.Model):
    """A card payment that failed, chased until paid: the card is retried on a schedule (days
    1, 3 and 7 after the failure, billing.services.dunning.RETRY_DAYS), the account's admins
    are emailed each time, and once the invoice is DUNNING_SUSPEND_DAYS overdue the account's
    live campaigns are paused; they resume when it is paid. One case per invoice (the unique
    one-to-one is what makes the sweep's opening of cases safe to run twice).

    `claimed_at` is the lease of the retry in progress: a retry is claimed with a conditional
    UPDATE on (attempts, next_retry_on), so two sweeps at once retry once."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="dunning")
    account = models.ForeignKey(
        "console.Account", on_delete=models.PROTECT, related_name="dunning_cases"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    failed_on = models.DateField(help_text="The day the card payment first failed.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Retries made so far.")
    next_retry_on = models.DateField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-failed_on", "-pk"]
        indexes = [models.Index(fields=["status", "next_retry_on"], name="dunning_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="dunning_resolved_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Dunning of {self.invoice_id}"


class DunningAttempt(models.Model):
    """One retry of a dunning case's card payment: when, what the card answered, who was
    emailed. Written once, never edited."""

    case = models.ForeignKey(DunningCase, on_delete=models.CASCADE, related_name="attempts_made")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField(default=False)
    message = models.CharField(max_length=300)
    emailed_to = models.TextField(blank=True)

    class Meta:
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="dunning_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.case_id}"


class DunningPause(models.Model):
    """A live campaign that dunning paused (live → suspended through the lifecycle service).
    Only campaigns listed here are resumed when the invoice is paid: a campaign suspended by
    a reviewer or taken down by its developer stays as it is."""

    case = models.ForeignKey(DunningCase, on_delete=models.CASCADE, related_name="pauses")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")
    paused_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "campaign"], name="dunning_pause_once"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} paused by {self.case_id}"


class BankStatement(models.Model):
    """A bank-transfer CSV finance uploaded for reconciliation (billing.services.
    reconciliation): its lines, each matched to an open invoice or not, and why."""

    filename = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"


class BankLine(models.Model):
    """One line of a bank statement: a transfer received (date, amount, reference) and what
    the matcher made of it.

    `fingerprint` (date, amount, reference and which occurrence of that same line it is in its
    file) is unique among first sightings: the same transfer uploaded again is stored as a
    duplicate of the first (`duplicate_of`) and never matched, so no invoice is marked paid
    twice by a second upload of the same CSV."""

    class Outcome(models.TextChoices):
        MATCHED = "matched", "Matched"
        AMBIGUOUS = "ambiguous", "Ambiguous"
        UNMATCHED = "unmatched", "Unmatched"
        DUPLICATE = "duplicate", "Already uploaded"

    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    row = models.PositiveIntegerField(help_text="The line's number in the file (header is 1).")
    booked_on = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reference = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_lines"
    )
    why = models.CharField(max_length=300, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "row"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(duplicate_of__isnull=True),
                name="bank_line_fingerprint_once",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="matched") | Q(invoice__isnull=False),
                name="bank_line_matched_has_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {format_money(self.amount, places=2)} {self.reference}"


class MonthEndPack(models.Model):
    """A month's documents for the accountants, as one ZIP (billing.services.monthend): every
    invoice and credit note issued in the month as PDF, the invoices and lines CSVs and a
    double-entry journal CSV. Built by a Celery task that reports its progress here; the file
    lives under MONTHEND_DIR. One build at a time per month (the conditional unique)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    month = models.DateField(help_text="The first day of the month.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done_steps = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    documents = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "month-end pack"
        constraints = [
            models.UniqueConstraint(
                fields=["month"],
                condition=Q(status__in=["queued", "building"]),
                name="monthend_one_build_per_month",
            ),
        ]

    def __str__(self) -> str:
        return f"Month-end {self.month:%Y-%m} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        if not self.total_steps:
            return 0
        return min(99, self.done_steps * 100 // self.total_steps)


class ReceivablesReport(Invoice):
    """The aging report's entry in the admin's index (no table: a proxy)."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "receivables (aging)"


class RevenueReport(LedgerEntry):
    """The revenue report's entry in the admin's index (no table: a proxy)."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "revenue by month"
