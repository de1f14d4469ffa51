"""One audit call: a service records a change with activity_record alone, which writes the
activity row and the line of the admin's "History" page of the objects changed. An admin
action leaves one audit row, and the object's history page shows it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from billing.models import Invoice
from billing.services.invoices import invoices_issue_month
from campaigns.models import Campaign
from campaigns.services.lifecycle import campaigns_sweep
from console.models import ActivityEntry

from ..billing.invoice_helpers import account_with_campaigns, at, charge, finance_group
from ..campaigns import lifecycle_helpers
from ..campaigns.lifecycle_helpers import pending_campaign

reviewer_in_group = lifecycle_helpers.reviewer_in_group

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2030, 5, 10, 12, 0, tzinfo=UTC)


def audit_rows(obj) -> list[ActivityEntry]:
    return list(
        ActivityEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    )


def history_lines(obj) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        )
    )


def test_no_app_writes_the_admin_log_by_hand():
    writers = [
        str(path.relative_to(ROOT))
        for app in ("console", "campaigns", "billing", "rewards")
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        and re.search(r"LogEntry\b|\blog_(change|addition|deletion|action)s?\(", path.read_text())
    ]

    assert writers == ["console/activity.py"], (
        "Record a change with console.activity.activity_record(history=...): it writes the "
        "admin's History line too."
    )


def test_marking_an_invoice_paid_in_admin_leaves_one_audit_row_shown_in_its_history(
    client, finance
):
    _, (miner,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    charge(miner, "10.0000", at(2026, 10, 4), times=3)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=date(2026, 10, 1))
    finance.groups.add(finance_group())
    client.force_login(finance)
    selection = {"action": "mark_paid", ACTION_CHECKBOX_NAME: [invoice.pk]}

    with time_machine.travel(at(2026, 11, 20), tick=False):
        done = client.post(
            reverse("admin:billing_invoice_changelist"),
            {**selection, "apply": "1", "paid_on": "2026-11-18", "reference": "WIRE-77"},
        )

    assert done.status_code == 302
    (row,) = [r for r in audit_rows(invoice) if r.action == "invoice.paid"]
    assert row.actor == finance and row.data == {
        "paid_on": "2026-11-18",
        "reference": "WIRE-77",
        "amount": "30.00",  # the whole balance (partial payments: issue 20)
        "balance_due": "0.00",
    }
    (line,) = history_lines(invoice)
    assert line.user == finance and line.action_time == row.created_at
    history = client.get(reverse("admin:billing_invoice_history", args=[invoice.pk]))
    assert "Marked paid on 2026-11-18 (reference WIRE-77): $30.00." in history.content.decode()


def test_approving_a_campaign_in_admin_leaves_one_audit_row_shown_in_its_history(
    client, reviewer_in_group, acme_app, time_machine
):
    time_machine.move_to(NOW, tick=False)
    campaign = pending_campaign(app=acme_app, submitted_at=NOW - timedelta(days=1))
    client.force_login(reviewer_in_group)

    client.post(
        reverse("admin:campaigns_campaignreview_changelist"),
        {"action": "approve_selected", ACTION_CHECKBOX_NAME: [campaign.pk]},
    )

    (row,) = audit_rows(campaign)
    assert (row.action, row.actor) == ("campaign.approved", reviewer_in_group)
    (line,) = history_lines(campaign)
    assert (line.user, line.change_message) == (
        reviewer_in_group,
        "Pending approval → Approved (test mode).",
    )
    history = client.get(reverse("admin:campaigns_campaign_history", args=[campaign.pk]))
    assert "Pending approval → Approved (test mode)." in history.content.decode()


def test_a_move_by_the_sweep_is_in_the_activity_log_but_has_no_admin_user_to_show(acme_app):
    campaign = pending_campaign(app=acme_app, submitted_at=NOW - timedelta(days=8))
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.APPROVED, goes_live_at=NOW - timedelta(hours=1)
    )

    campaigns_sweep(now=NOW)

    assert [row.action for row in audit_rows(campaign)] == ["campaign.went_live"]
    assert history_lines(campaign) == []


def test_a_credit_note_shows_in_the_history_of_both_invoices_from_one_call(finance):
    from billing.services.invoices import credit_note_issue

    _, (miner,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    charge(miner, "10.0000", at(2026, 10, 4), times=3)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=date(2026, 10, 1))
    finance.groups.add(finance_group())

    with time_machine.travel(at(2026, 11, 5), tick=False):
        note = credit_note_issue(actor=finance, invoice=invoice, reason="Bot traffic")

    assert [row.action for row in audit_rows(invoice)].count("invoice.credited") == 1
    assert [line.change_message for line in history_lines(invoice)] == [
        f"Credit note {note.number} of $30.00 issued: Bot traffic"
    ]
    assert [line.change_message for line in history_lines(note)] == ["Issued: Bot traffic"]
    assert Invoice.objects.get(pk=note.pk).corrects_id == invoice.pk
