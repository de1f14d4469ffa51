"""Dunning (finance desk, issue 20), with time_machine on both engines (two sweeps at once on
PostgreSQL with real threads): a failed card payment is retried on days 1, 3 and 7, the
account's admins are emailed each time, the account's live campaigns are paused once the invoice
is DUNNING_SUSPEND_DAYS overdue and go live again when it is paid (only those dunning paused),
with transition, activity and webhook rows; the panel on the account's admin page shows it."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core import mail

from billing.models import DunningCase, Invoice
from billing.services.dunning import dunning_sweep
from billing.services.invoices import invoice_mark_paid, invoices_issue_month
from billing.services.payments import payment_method_add
from campaigns.models import Campaign, CampaignTransition
from console.models import ActivityEntry, Membership, WebhookEvent
from tests.factories import MembershipFactory

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db

DECLINING = "4000 0000 0000 0002"  # the processors' test card that is always declined
VISA = "4242 4242 4242 4242"


def put_card(account, number: str) -> None:
    owner = Membership.objects.filter(account=account, role="admin").first().user
    payment_method_add(
        account=account,
        actor=owner,
        card_number=number,
        exp_month=12,
        exp_year=2035,
        cardholder_name="Owner",
        billing_address="1 Main St",
    )


@pytest.fixture
def declined(settings):
    """Acme (two admins) pays by a card that is declined; October's invoice of $50 is issued on
    1 November and its charge fails. Two campaigns are live; a third was suspended by a
    reviewer before."""
    settings.DUNNING_SUSPEND_DAYS = 14
    acme, (miner, quiz, old) = account_with_campaigns(
        "Acme Games", "Space Miner", "Quiz Night", "Old One", card=False
    )
    MembershipFactory(account=acme, user__email="second-admin@acme.test", role="admin")
    MembershipFactory(account=acme, user__email="member@acme.test", role="member")
    with time_machine.travel(at(2026, 10, 1), tick=False):
        put_card(acme, DECLINING)
    Campaign.objects.filter(pk=old.pk).update(status=Campaign.Status.SUSPENDED)
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
    mail.outbox.clear()
    return {"acme": acme, "invoice": invoice, "live": [miner, quiz], "old": old}


@pytest.fixture
def sweep_on(django_capture_on_commit_callbacks):
    """Run the dunning sweep at 03:00 (or `hour`) on `day`, with its after-commit work (the
    emails) run as a worker would."""

    def run(day: date, hour: int = 3):
        with (
            time_machine.travel(at(day.year, day.month, day.day, hour), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return dunning_sweep()

    return run


def statuses(campaigns):
    return [Campaign.objects.get(pk=c.pk).status for c in campaigns]


def test_a_declined_card_leaves_the_invoice_open_and_due_at_once(declined):
    invoice = declined["invoice"]
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.due_date == date(2026, 11, 1)


def test_the_card_is_retried_on_days_1_3_and_7_and_the_admins_are_emailed_each_time(
    declined, sweep_on
):
    invoice = declined["invoice"]
    sweep_on(date(2026, 11, 1))
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.failed_on, case.next_retry_on, case.attempts) == (
        date(2026, 11, 1),
        date(2026, 11, 2),
        0,
    )
    assert mail.outbox == []

    retried_on = []
    for day in range(1, 21):
        for hour in (3, 15):  # the sweep runs many times a day: a retry is made once
            result = sweep_on(date(2026, 11, day), hour)
            if result.attempts:
                retried_on.append(date(2026, 11, day))
    assert retried_on == [date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 8)]

    case.refresh_from_db()
    assert case.attempts == 3 and case.next_retry_on is None
    assert [(a.number, a.succeeded) for a in case.attempts_made.all()] == [
        (1, False),
        (2, False),
        (3, False),
    ]
    retries = [m for m in mail.outbox if m.subject.startswith("Payment failed")]
    assert len(retries) == 3
    for message in retries:
        assert sorted(message.to) == ["owner@acmegames.test", "second-admin@acme.test"]
        assert "was declined" in message.body and "$50.00" in message.body
    assert "We will try again on 4 November 2026." in retries[0].body
    assert "That was our last automatic retry." in retries[2].body
    assert "paused" in retries[0].body and "15 November 2026" in retries[0].body
    assert ActivityEntry.objects.filter(action="invoice.card_retried").count() == 3


def test_live_campaigns_pause_after_the_suspend_days_and_resume_when_paid(
    declined, finance, sweep_on
):
    invoice, live, old = declined["invoice"], declined["live"], declined["old"]
    for day in range(1, 15):
        sweep_on(date(2026, 11, day))
    assert statuses(live) == ["live", "live"]  # 13 days overdue on the 14th

    sweep_on(date(2026, 11, 15))  # 14 days overdue
    assert statuses(live) == ["suspended", "suspended"]
    case = DunningCase.objects.get(invoice=invoice)
    assert case.suspended_at is not None
    paused = ActivityEntry.objects.filter(action="campaign.paused_for_payment")
    assert sorted(int(e.object_id) for e in paused) == sorted(c.pk for c in live)
    assert all(invoice.number in e.data["reason"] for e in paused)
    events = WebhookEvent.objects.filter(type="campaign.status_changed")
    assert events.count() == 2
    (notice,) = [m for m in mail.outbox if m.subject.startswith("Your campaigns are paused")]
    (suspended,) = ActivityEntry.objects.filter(action="account.dunning_suspended")
    assert suspended.data == {"invoice": invoice.number, "campaigns": 2}
    assert "(2)" in notice.body

    sweep_on(date(2026, 11, 16))  # nothing twice
    assert ActivityEntry.objects.filter(action="campaign.paused_for_payment").count() == 2

    # Paid by bank transfer: the next sweep resumes only what dunning paused.
    with time_machine.travel(at(2026, 11, 18, 10), tick=False):
        invoice_mark_paid(
            actor=finance, invoice=invoice, paid_on=date(2026, 11, 18), reference="TRF-1"
        )
    sweep_on(date(2026, 11, 18), 11)
    assert statuses(live) == ["live", "live"]
    assert statuses([old]) == ["suspended"]  # the reviewer's suspension stands
    resumed = ActivityEntry.objects.filter(action="campaign.resumed_after_payment")
    assert sorted(int(e.object_id) for e in resumed) == sorted(c.pk for c in live)
    moves = CampaignTransition.objects.filter(campaign__in=live).order_by("pk")
    assert [(m.from_status, m.to_status) for m in moves] == [("live", "suspended")] * 2 + [
        ("suspended", "live")
    ] * 2
    assert WebhookEvent.objects.filter(type="campaign.status_changed").count() == 4
    (resolved,) = ActivityEntry.objects.filter(action="account.dunning_resolved")
    assert resolved.data["campaigns_resumed"] == 2
    case.refresh_from_db()
    assert case.status == DunningCase.Status.RESOLVED
    assert not case.pauses.filter(resumed_at__isnull=True).exists()

    sweep_on(date(2026, 11, 19))  # a second run resumes nothing twice
    assert ActivityEntry.objects.filter(action="campaign.resumed_after_payment").count() == 2


def test_a_new_card_is_charged_at_the_next_sweep_and_the_invoice_marked_paid(declined, sweep_on):
    invoice = declined["invoice"]
    sweep_on(date(2026, 11, 1))
    sweep_on(date(2026, 11, 2))  # retry 1: declined
    with time_machine.travel(at(2026, 11, 2, 12), tick=False):
        put_card(declined["acme"], VISA)  # as the email asks
    sweep_on(date(2026, 11, 2), 13)  # the same day: not waiting for day 3
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.paid_on == date(2026, 11, 2)
    assert invoice.paid_reference == "Card retry 2: Visa •••• 4242"
    case = DunningCase.objects.get(invoice=invoice)
    assert case.status == DunningCase.Status.RESOLVED and case.next_retry_on is None
    assert [m.subject for m in mail.outbox] == [
        f"Payment failed for invoice {invoice.number}: please update your card",
        f"Payment received for invoice {invoice.number}",
    ]
    for day in range(3, 25):
        sweep_on(date(2026, 11, day))
    assert statuses(declined["live"]) == ["live", "live"]  # paid: never paused
    assert len(mail.outbox) == 2


def test_a_card_put_on_file_after_the_last_retry_is_still_charged(declined, sweep_on):
    invoice = declined["invoice"]
    for day in range(1, 16):
        sweep_on(date(2026, 11, day))
    assert statuses(declined["live"]) == ["suspended", "suspended"]
    sweep_on(date(2026, 11, 16))  # nothing scheduled any more: no retry
    assert DunningCase.objects.get(invoice=invoice).attempts == 3
    with time_machine.travel(at(2026, 11, 17, 9), tick=False):
        put_card(declined["acme"], VISA)
    sweep_on(date(2026, 11, 17), 10)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.paid_reference == "Card retry 4: Visa •••• 4242"
    assert statuses(declined["live"]) == ["live", "live"]  # resumed in the same sweep


def test_the_account_admin_page_shows_the_dunning_panel(declined, client, finance, sweep_on):
    finance.groups.add(finance_group())
    for day in (1, 2, 4, 8, 15):
        sweep_on(date(2026, 11, day))
    client.force_login(finance)
    with time_machine.travel(at(2026, 11, 16), tick=False):
        page = client.get(f"/admin/console/account/{declined['acme'].pk}/change/")
    html = page.content.decode()
    assert 'id="dunning-panel"' in html
    assert declined["invoice"].number in html
    assert "3 retries" in html
    assert "Suspended since" in html and "15 November 2026" in html
    assert "Space Miner" in html  # a paused campaign


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_retry_the_card_once_and_email_once(postgres, declined):
    from tests.rewards.redemption_helpers import at_once

    with time_machine.travel(at(2026, 11, 1, 3), tick=False):
        dunning_sweep()
    with time_machine.travel(at(2026, 11, 2, 3), tick=False):
        results = at_once([dunning_sweep] * 4)
    assert sum(r.attempts for r in results) == 1
    case = DunningCase.objects.get(invoice=declined["invoice"])
    assert case.attempts == 1 and case.attempts_made.count() == 1
    assert len([m for m in mail.outbox if m.subject.startswith("Payment failed")]) == 1


def test_a_suspended_campaign_goes_live_again_only_through_the_payment_resume(declined):
    from campaigns.services.lifecycle import IllegalTransition, campaign_transition

    old = Campaign.objects.get(pk=declined["old"].pk)  # suspended by a reviewer
    with pytest.raises(IllegalTransition):
        campaign_transition(campaign=old, to_status=Campaign.Status.LIVE)
    assert Campaign.objects.get(pk=old.pk).status == Campaign.Status.SUSPENDED
