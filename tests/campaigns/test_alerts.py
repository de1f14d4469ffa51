"""Budget alerts (SPEC §12): at 50 %, 80 % and 100 % of a campaign's budget and of the account's
monthly spend limit, each admin gets one email per threshold (per month for the limit) and the
account one webhook event, found by the every-minute sweep, once however often it runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from billing.services.ledger import account_spend_reserve, campaign_spend_reserve, ledger_charge
from campaigns.models import BudgetAlert, Campaign, CapAlert
from campaigns.results.alerts import EMAIL_LEASE, alerts_pending_email, alerts_sweep
from campaigns.results.tasks import sweep_budget_alerts
from campaigns.services.lifecycle import campaigns_sweep
from campaigns.services.notifications import campaign_page_url
from console.clock import month_start
from console.models import ActivityEntry, WebhookEvent
from console.webhooks.schemas import SCHEMAS
from rewards.services.grants import reward_grant
from tests.factories import (
    AppFactory,
    CampaignFactory,
    MembershipFactory,
    MomentFactory,
    RewardGroupFactory,
)

S = Campaign.Status
NOW = datetime(2030, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def admins(acme, alice, bob):
    """Acme with two admins (alice, dana) and a member (bob)."""
    dana = MembershipFactory(user__email="dana@acme.test", account=acme, role="admin").user
    return [alice, dana]


def live(app, *, total_budget="1000", cpa="10", name="Summer Quest") -> Campaign:
    """A live campaign of `app`, started yesterday, with a US reward group and a moment."""
    today = timezone.localdate()
    campaign = CampaignFactory(
        app=app,
        name=name,
        status=S.LIVE,
        submitted_at=timezone.now() - timedelta(days=10),
        start_date=today - timedelta(days=1),
        end_date=today + timedelta(days=30),
        total_budget=Decimal(total_budget),
        cpa=Decimal(cpa),
    )
    RewardGroupFactory(campaign=campaign, marketplace_id="US")
    MomentFactory(campaign=campaign, moment_id="LEVEL_10_COMPLETE")
    return campaign


def get_rewards(campaign: Campaign, times: int) -> None:
    """`times` GetReward calls, through the service the API calls (the SQL function on
    PostgreSQL), each charging the campaign's CPA."""
    for _ in range(times):
        result = reward_grant(
            app=campaign.app,
            campaign_id=campaign.campaign_id,
            reward_group_id="US",
            moment_id="LEVEL_10_COMPLETE",
            device_type="Android",
        )
        assert result is not None and not result.test_mode


def charge(campaign: Campaign, times: int, *, amount: str | None = None) -> None:
    """`times` CPA charges through the ledger services, as GetReward's steps (3)-(5) make them
    (no catalog needed: usable after a transactional test's flush)."""
    amount = Decimal(amount) if amount else campaign.cpa
    month = month_start(timezone.localdate())
    for _ in range(times):
        with transaction.atomic():
            campaign_spend_reserve(campaign=campaign, amount=amount, month=month)
            account_spend_reserve(account_id=campaign.account_id, amount=amount, month=month)
            ledger_charge(
                account_id=campaign.account_id,
                campaign_id=campaign.pk,
                moment_id=None,
                grant_id=None,
                amount=amount,
                month=month,
                now=timezone.now(),
            )


def sweep(capture) -> None:
    with capture(execute=True):
        alerts_sweep()


def events(event_type: str) -> list[dict]:
    return list(
        WebhookEvent.objects.filter(type=event_type).order_by("pk").values_list("data", flat=True)
    )


# --- campaign budgets ------------------------------------------------------------------------


def test_crossing_half_the_budget_emails_each_admin_once_and_publishes_one_event(
    settings, now, admins, acme_app, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://console.example.test"
    campaign = live(acme_app, total_budget="1000", cpa="10")
    get_rewards(campaign, 49)
    sweep(django_capture_on_commit_callbacks)
    assert mail.outbox == [] and events("campaign.budget_threshold") == []

    get_rewards(campaign, 1)  # $500.00 of $1,000.00
    sweep(django_capture_on_commit_callbacks)

    assert sorted(m.to for m in mail.outbox) == [["alice@acme.test"], ["dana@acme.test"]]
    message = mail.outbox[0]
    assert message.subject == (
        "Campaign “Summer Quest” reached 50 % of its budget ($500.00 of $1,000.00)"
    )
    for body in (message.body, message.alternatives[0].content):
        assert "Summer Quest" in body and "50 %" in body
        assert "$500.00" in body and "$1,000.00" in body
        assert campaign_page_url(campaign) in body
        assert campaign_page_url(campaign).startswith("https://console.example.test/")
    assert events("campaign.budget_threshold") == [
        {
            "campaign_id": str(campaign.campaign_id),
            "campaign_name": "Summer Quest",
            "app_id": str(campaign.app.app_id),
            "app_name": campaign.app.name,
            "threshold": 50,
            "spent": "500.00",
            "total_budget": "1000.00",
            "currency": "USD",
        }
    ]
    alert = BudgetAlert.objects.get(campaign=campaign)
    assert (alert.threshold, alert.emailed_at) == (50, NOW)
    entry = ActivityEntry.objects.get(action="campaign.budget_threshold_reached")
    assert (entry.account_id, entry.actor_label, entry.data["threshold"]) == (
        campaign.account_id,
        "system",
        50,
    )


def test_members_get_no_alert_emails(
    now, admins, bob, acme_app, django_capture_on_commit_callbacks
):
    campaign = live(acme_app)
    charge(campaign, 50)
    sweep(django_capture_on_commit_callbacks)
    recipients = {address for m in mail.outbox for address in m.to}
    assert recipients == {"alice@acme.test", "dana@acme.test"}
    assert "bob@acme.test" not in recipients


def test_the_sweep_run_twice_sends_once(now, admins, acme_app, django_capture_on_commit_callbacks):
    campaign = live(acme_app)
    charge(campaign, 60)
    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_budget_alerts() == 0  # the beat task: nothing new, nothing pending

    assert len(mail.outbox) == 2  # one per admin
    assert len(events("campaign.budget_threshold")) == 1
    assert BudgetAlert.objects.count() == 1


def test_80_then_100_percent_each_alert_once_in_order(
    now, admins, acme_app, django_capture_on_commit_callbacks
):
    campaign = live(acme_app, total_budget="1000", cpa="10")
    seen = []
    for calls in (50, 29, 1, 19, 1):  # 50 %, 79 %, 80 %, 99 %, 100 %
        charge(campaign, calls)
        mail.outbox.clear()
        sweep(django_capture_on_commit_callbacks)
        seen.append(sorted({m.subject for m in mail.outbox}))
    assert seen == [
        ["Campaign “Summer Quest” reached 50 % of its budget ($500.00 of $1,000.00)"],
        [],
        ["Campaign “Summer Quest” reached 80 % of its budget ($800.00 of $1,000.00)"],
        [],  # $990.00: one CPA ($10.00) is still left
        ["Campaign “Summer Quest” has used its budget ($1,000.00 of $1,000.00)"],
    ]
    assert [e["threshold"] for e in events("campaign.budget_threshold")] == [50, 80, 100]


def test_a_campaign_with_less_than_one_cpa_left_has_used_its_budget(
    now, admins, acme_app, django_capture_on_commit_callbacks
):
    campaign = live(acme_app, total_budget="100", cpa="30")
    charge(campaign, 3)  # $90 of $100: 90 %, and the next $30 reward cannot be paid
    with django_capture_on_commit_callbacks(execute=True):
        campaigns_sweep()  # the lifecycle finishes it first; the alert still goes out
    campaign.refresh_from_db()
    assert campaign.status == S.FINISHED
    mail.outbox.clear()

    sweep(django_capture_on_commit_callbacks)

    assert {m.subject for m in mail.outbox} == {
        "Campaign “Summer Quest” has used its budget ($90.00 of $100.00)"
    }
    assert "Less than one CPA is left" in mail.outbox[0].body
    assert [e["threshold"] for e in events("campaign.budget_threshold")] == [50, 80, 100]


def test_crossing_every_threshold_at_once_emails_only_the_highest(
    now, admins, acme_app, django_capture_on_commit_callbacks
):
    campaign = live(acme_app, total_budget="1000", cpa="10")
    charge(campaign, 100)
    sweep(django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2  # one email per admin, about 100 %
    assert all("has used its budget" in m.subject for m in mail.outbox)
    # Every threshold is recorded (none is sent later) and each has its event.
    assert list(BudgetAlert.objects.values_list("threshold", "email_due")) == [
        (50, False),
        (80, False),
        (100, True),
    ]
    assert [e["threshold"] for e in events("campaign.budget_threshold")] == [50, 80, 100]


def test_old_finished_campaigns_do_not_alert(
    now, admins, acme_app, django_capture_on_commit_callbacks
):
    campaign = live(acme_app, total_budget="100", cpa="10")
    charge(campaign, 10)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=S.FINISHED, finished_at=NOW - timedelta(days=3)
    )
    sweep(django_capture_on_commit_callbacks)
    assert mail.outbox == [] and not BudgetAlert.objects.exists()


def test_alerts_go_to_the_campaigns_own_account_only(
    now, admins, acme_app, charlie, django_capture_on_commit_callbacks
):
    globex_app = AppFactory(account=charlie.membership.account)
    live(acme_app, name="Acme Quest")
    globex = live(globex_app, name="Globex Quest")
    charge(globex, 50)
    sweep(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["charlie@globex.test"]]
    assert "Globex Quest" in mail.outbox[0].subject
    assert list(WebhookEvent.objects.values_list("account_id", flat=True)) == [
        charlie.membership.account_id
    ]


# --- the emails: after commit, stamped, re-sent by the sweep -----------------------------------


def test_an_email_whose_task_never_ran_is_sent_by_a_later_sweep(
    now, time_machine, admins, acme_app, django_capture_on_commit_callbacks
):
    campaign = live(acme_app)
    charge(campaign, 50)
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down
        alerts_sweep()
    assert mail.outbox == []
    alert = BudgetAlert.objects.get()
    assert alert.emailed_at is None
    assert alerts_pending_email() == ([], [])  # not before a lease has passed

    time_machine.move_to(NOW + EMAIL_LEASE + timedelta(minutes=1), tick=False)
    assert alerts_pending_email() == ([alert.pk], [])
    sweep_budget_alerts()
    sweep_budget_alerts()
    assert len(mail.outbox) == 2
    alert.refresh_from_db()
    assert alert.emailed_at is not None
    assert len(events("campaign.budget_threshold")) == 1  # the event went with the claim


def test_a_failed_send_gives_the_claim_back_for_the_retry(
    now, admins, acme_app, monkeypatch, django_capture_on_commit_callbacks
):
    from campaigns.results import alerts

    campaign = live(acme_app)
    charge(campaign, 50)
    with django_capture_on_commit_callbacks(execute=False):
        alerts_sweep()
    alert = BudgetAlert.objects.get()

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
        with pytest.raises(OSError):
            alerts.alerts_email(budget_alert_pks=[alert.pk], cap_alert_pks=[])
    alert.refresh_from_db()
    assert (alert.email_claimed_at, alert.emailed_at) == (None, None)
    assert alerts.alerts_email(budget_alert_pks=[alert.pk], cap_alert_pks=[]) == 1
    assert alerts.alerts_email(budget_alert_pks=[alert.pk], cap_alert_pks=[]) == 0
    assert len(mail.outbox) == 2


# --- the account's monthly spend limit -------------------------------------------------------


def test_the_monthly_limit_alerts_per_month_and_a_new_month_alerts_again(
    settings, time_machine, admins, acme, acme_app, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2030, 5, 20, 12, 0, tzinfo=UTC), tick=False)
    acme.monthly_spend_limit = Decimal("1000.00")
    acme.save(update_fields=["monthly_spend_limit"])
    campaign = live(acme_app, total_budget="5000", cpa="10")
    charge(campaign, 80)  # $800 of the $1,000 limit: 80 % (and 16 % of the campaign's budget)
    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.subject == (
        "Acme Games reached 80 % of its monthly spend limit for May 2030 ($800.00 of $1,000.00)"
    )
    for body in (message.body, message.alternatives[0].content):
        assert "May 2030" in body and "$800.00" in body and "$1,000.00" in body
        assert "Raise the spend limit" in body
        assert "/requests/new/spend_limit/" in body  # the request form, one click away
    cap = {"account_name": "Acme Games", "month": "2030-05", "currency": "USD"}
    assert events("account.cap_threshold") == [
        {**cap, "threshold": 50, "spent": "800.00", "limit": "1000.00"},
        {**cap, "threshold": 80, "spent": "800.00", "limit": "1000.00"},
    ]
    assert events("campaign.budget_threshold") == []

    # June: the counter starts again, and so do the alerts.
    time_machine.move_to(datetime(2030, 6, 3, 9, 0, tzinfo=UTC), tick=False)
    mail.outbox.clear()
    charge(campaign, 50)
    sweep(django_capture_on_commit_callbacks)
    assert {m.subject for m in mail.outbox} == {
        "Acme Games reached 50 % of its monthly spend limit for June 2030 ($500.00 of $1,000.00)"
    }
    assert list(CapAlert.objects.values_list("month", "threshold")) == [
        (datetime(2030, 5, 1).date(), 50),
        (datetime(2030, 5, 1).date(), 80),
        (datetime(2030, 6, 1).date(), 50),
    ]


def test_spend_in_the_last_minutes_of_a_month_is_alerted_on_the_first(
    time_machine, admins, acme, acme_app, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2030, 5, 31, 23, 59, 30, tzinfo=UTC), tick=False)
    acme.monthly_spend_limit = Decimal("100.00")
    acme.save(update_fields=["monthly_spend_limit"])
    charge(live(acme_app, total_budget="5000", cpa="10"), 5)
    time_machine.move_to(datetime(2030, 6, 1, 0, 0, 30, tzinfo=UTC), tick=False)
    sweep(django_capture_on_commit_callbacks)
    assert events("account.cap_threshold")[0]["month"] == "2030-05"


def test_event_data_has_ids_and_amounts_only(
    now, admins, acme, acme_app, django_capture_on_commit_callbacks
):
    acme.monthly_spend_limit = Decimal("200.00")
    acme.save(update_fields=["monthly_spend_limit"])
    charge(live(acme_app, total_budget="200", cpa="10"), 20)
    sweep(django_capture_on_commit_callbacks)
    for event in WebhookEvent.objects.all():
        # What the published schema names, and nothing more (SPEC §12: public ids and names).
        assert set(event.data) <= set(SCHEMAS[event.type]["properties"])
        assert all(isinstance(v, int | str) for v in event.data.values())
        assert "@" not in str(event.data)  # no emails


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_on_postgresql_alert_once(postgres):
    acme = MembershipFactory(user__email="alice@acme.test", role="admin").account
    acme.monthly_spend_limit = Decimal("1000.00")
    acme.save(update_fields=["monthly_spend_limit"])
    app = AppFactory(account=acme)
    campaigns = [live(app, name=f"Quest {i}", total_budget="100", cpa="10") for i in range(5)]
    for campaign in campaigns:
        charge(campaign, 8)  # 80 % of each budget; $400 of the $1,000 account limit
    charge(campaigns[0], 2)  # the first one to 100 %: $420 in all
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=10)
            # Each thread's after-commit email task runs in-process (eager), as a worker would.
            sweep_budget_alerts()
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert BudgetAlert.objects.count() == 11  # 50 and 80 for each, and 100 for the first
    assert CapAlert.objects.count() == 0  # $420 is not yet half of $1,000
    budget_events = events("campaign.budget_threshold")
    assert len(budget_events) == 11
    assert len({(e["campaign_id"], e["threshold"]) for e in budget_events}) == 11
    # One email per campaign (its highest threshold), to the one admin, whoever claimed it.
    assert sorted(m.subject.split("”")[0] for m in mail.outbox) == [
        f"Campaign “Quest {i}" for i in range(5)
    ]
    assert not BudgetAlert.objects.filter(email_due=True, emailed_at__isnull=True).exists()
