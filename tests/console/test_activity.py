"""The activity log covers every state change (SPEC §12).

The services are found by reading the code, not listed by hand: every public function of a
service module (`*/services.py`, `*/services/*.py`, `rewards/redemption/*`, `console/webhooks/*`)
that is named with a write verb or writes to the database (directly or through a helper of its
module) must either have a case below, which calls it and checks its audit row (action, actor,
account, object, the client's IP), or be listed in NOT_STATE_CHANGES with the reason. A new
service that nobody classified fails `test_every_state_changing_service_is_covered`; a covered
one that stops recording fails its case.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from console.activity import ActivityIPMiddleware
from console.clock import month_before
from console.models import ActivityEntry, App

from ..factories import AppFactory, CampaignFactory, ProductFactory, UserFactory
from ..rewards.claim_helpers import a_claim, a_grant, a_shopper

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
CLIENT_IP = "203.0.113.9"
PASSWORD = "correct-horse-battery-staple-9"
VISA = "4242 4242 4242 4242"

# --- Finding the services ----------------------------------------------------------------------

# Verbs that name a write, looked for after the entity (`app_register`, `invoices_issue_month`).
# fmt: off
WRITE_VERBS = frozenset({
    "accept", "add", "answer", "approve", "block", "cancel", "change", "charge", "claim",
    "close", "create", "credit", "delete", "disable", "duplicate", "enable", "expire", "grant",
    "issue", "mark", "pick", "publish", "register", "reject", "release", "remove", "reserve",
    "reset", "return", "revoke", "rotate", "save", "seed", "send", "set", "sign", "signup",
    "submit", "suspend", "sweep", "take", "transition", "update",
})
# Calls that write: the ORM's, raw SQL, mail and task queues, Django's admin log.
WRITE_CALLS = frozenset({
    "create", "bulk_create", "update", "bulk_update", "delete", "save", "get_or_create",
    "update_or_create", "execute", "log_actions", "send_mail", "send", "delay", "apply_async",
    "set_password",
})
# fmt: on
NOT_SERVICE_MODULES = frozenset(
    {"__init__", "admin", "apps", "forms", "models", "selectors", "urls", "tests"}
)


def service_modules() -> list[Path]:
    found: set[Path] = set()
    for pattern in (
        "*/services.py",
        "*/services/*.py",
        "*/*/services.py",
        "rewards/redemption/*.py",
        "console/webhooks/*.py",
        "campaigns/results/rollup.py",
        "campaigns/results/alerts.py",
    ):
        found.update(ROOT.glob(pattern))
    return sorted(
        p
        for p in found
        if p.stem not in NOT_SERVICE_MODULES
        and not p.stem.startswith("views")
        and "migrations" not in p.parts
        and p.parts[len(ROOT.parts)] not in {"tests", "bench", ".venv"}
    )


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _audits(tree: ast.Module) -> dict[str, bool]:
    """For each module-level function: does it call activity_record, itself or through the
    module's own functions it calls?"""
    return _writes(tree, calls_only=("activity_record",))


def _writes(tree: ast.Module, calls_only: tuple[str, ...] = ()) -> dict[str, bool]:
    """For each module-level function: does it write, itself or through the module's own
    functions it calls? (`calls_only`: only calls of these names count.)"""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    direct: dict[str, bool] = {}
    calls: dict[str, set[str]] = {}
    for name, node in functions.items():
        direct[name] = False
        calls[name] = set()
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            if calls_only:
                if isinstance(sub.func, ast.Name) and sub.func.id.startswith(calls_only):
                    direct[name] = True
                elif isinstance(sub.func, ast.Name) and sub.func.id in functions:
                    calls[name].add(sub.func.id)
                continue
            if isinstance(sub.func, ast.Attribute) and sub.func.attr in WRITE_CALLS:
                direct[name] = True
            elif isinstance(sub.func, ast.Name):
                if sub.func.id in WRITE_CALLS or sub.func.id.startswith("activity_record"):
                    direct[name] = True
                elif sub.func.id in functions:
                    calls[name].add(sub.func.id)

    def reaches(name: str, seen: set[str]) -> bool:
        if direct[name]:
            return True
        seen.add(name)
        return any(reaches(c, seen) for c in calls[name] if c not in seen)

    return {name: reaches(name, set()) for name in functions}


def state_changing_services() -> set[str]:
    """`module.function` of every public function of a service module that looks like a write."""
    found = set()
    for path in service_modules():
        tree = ast.parse(path.read_text())
        writes = _writes(tree)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            verbs = set(node.name.split("_")[1:])
            if writes[node.name] or verbs & WRITE_VERBS:
                found.add(f"{_module_name(path)}.{node.name}")
    return found


# Found by the search above but not a change a reader of the activity log cares about: each
# with the reason. Anything here that changes an account's state needs a case instead.
NOT_STATE_CHANGES: dict[str, str] = {
    "billing.services.payments.card_charge": (
        "asks the (simulated) card processor; its callers record the outcome"
    ),
    "billing.services.monthend.monthend_build": (
        "writes the ZIP of a pack finance requested (that request is the audited change)"
    ),
    "billing.services.dunning.dunning_new_cards": (
        "brings a dunning retry forward after a new card; the retry itself has its row"
    ),
    "billing.services.dunning.dunning_cases_open": (
        "opens finance's chase record of a failed charge; each retry, pause and resolution it "
        "leads to has its own row"
    ),
    "billing.services.payments.billing_change_refusal": "says who may change the card (a read)",
    "console.services.keys.api_keys_idle_warn": (
        "a reminder email about an unused key; idle_warned_at only keeps it to one per idle spell"
    ),
    "console.services.keys.api_key_usage_stamp": (
        "a key's last-use time and IP, stamped once a minute by the Rewards API: not a change a "
        "reader of the activity log cares about"
    ),
    "campaigns.services.lifecycle.rewards_expire_at": "computes a date",
    "campaigns.services.lifecycle.campaigns_sweep_lag_seconds": "a metric read at scrape time",
    "billing.services.tax.invoice_is_reverse_charge": "reads the buyer's and seller's countries",
    "campaigns.services.review.campaign_review_take": (
        "a reviewer's lease on the review desk (staff's own work queue, no change to the account)"
    ),
    "campaigns.services.review.campaign_review_release": "gives a reviewer's lease back",
    "campaigns.services.rounds.round_open": (
        "the review round's snapshot, inside the submit move that writes campaign.submitted"
    ),
    "campaigns.services.rounds.round_close": (
        "closes the round inside the approve/reject move that writes its own row"
    ),
    "rewards.redemption.services.shopper_reset_token": "signs a reset token (no write)",
    "rewards.redemption.services.shopper_from_reset_token": "reads a reset token",
    "rewards.services.targets.reward_target": "GetReward's target lookup (one SELECT)",
    "billing.services.ledger.campaign_spend_reserve": (
        "GetReward's money path: every charge is a ledger row already, an audit row per "
        "charge would double the hot path's writes"
    ),
    "billing.services.ledger.account_spend_reserve": "GetReward's money path (see above)",
    "billing.services.ledger.ledger_charge": "GetReward's money path: the ledger is the record",
    "billing.services.invoices.invoice_number_next": "draws a number for an audited issue",
    "billing.services.invoice_email.invoice_email_send": (
        "delivery bookkeeping (stamps emailed_at); the invoice is audited when issued"
    ),
    "campaigns.services.lifecycle.after_moves": "after-commit cache drop and emails of moves",
    "campaigns.services.notifications.transitions_notify": (
        "emails of audited moves (stamps notified_at)"
    ),
    "rewards.catalog.services.catalog_seed": (
        "the demo catalog's loader (a management command), not a change made by a person"
    ),
    "rewards.catalog.services.product_image_render": "draws an image in memory",
    "rewards.services.grants.reward_grant": (
        "GetReward: the grant and its ledger row are the record, a hot path"
    ),
    "rewards.redemption.services.shopper_sign_up": (
        "a shopper's own account, not a developer account's: its rows would be shopper data"
    ),
    "rewards.redemption.services.shopper_sign_in": "a shopper signs in (no developer state)",
    "rewards.redemption.services.shopper_password_reset_send": "a shopper's reset email",
    "rewards.redemption.services.shopper_set_password": "a shopper's own password",
    "rewards.redemption.services.claim_pick": "validates a shopper's pick, writes nothing",
    "rewards.redemption.services.reward_claim": (
        "a shopper claims a grant: counted on the campaign page and sent as the grant.claimed "
        "event; per-claim rows would hold shopper data"
    ),
    "rewards.redemption.services.claim_confirmation_send": "the shopper's confirmation email",
    "rewards.redemption.services.grants_expire": (
        "expiry of unclaimed grants at the end of their period: counted in results"
    ),
    "rewards.redemption.fraud.claim_activity": "the helper that writes the claims' audit rows",
    "console.webhooks.events.webhook_events_publish": (
        "the event outbox of a change that is audited by its own service"
    ),
    "console.webhooks.events.webhook_event_publish": "the event outbox (see above)",
    "console.services.staff_requests.staff_request_may_answer": (
        "says who may answer a request (a read)"
    ),
    "console.services.staff.staff_groups_ensure": (
        "sets up the staff groups' permissions (the data migration, create_staff): "
        "configuration, not a change to an account"
    ),
    "rewards.redemption.fraud.claim_decision_send": (
        "the shopper's email of an audited release or block (after commit)"
    ),
    "console.services.staff_requests.staff_request_answer_recipients": (
        "who gets the answer's email (a read)"
    ),
    "console.webhooks.services.webhook_deliveries_create": (
        "fans audited changes' events out to delivery rows (the outbox's other side)"
    ),
    "console.webhooks.services.webhook_deliveries_sweep": "re-enqueues due deliveries",
    "console.webhooks.services.webhook_delivery_send": (
        "one attempt, kept in the delivery log; an endpoint it disables is audited by "
        "webhook_endpoint_disable"
    ),
    "console.webhooks.tasks.sweep_webhook_deliveries": "the beat task of the sweep above",
    "campaigns.results.alerts.alerts_email": "emails of recorded alerts (stamps emailed_at)",
    "campaigns.results.rollup.campaign_days_roll_up": (
        "keeps the results rollup (derived totals of the ledger and grants), no one's change"
    ),
    "campaigns.results.rollup.campaigns_days_roll_up": "the beat sweep of the rollup above",
}


# Services whose audit row is checked by a test of their own feature: "service": ("tests/<app>/
# test_<thing>.py::test_name", the action). The service must record that action and the test
# must read it from ActivityEntry (test_a_service_covered_elsewhere_is_...).
ROLES = "tests/console/test_roles.py::"
REQUESTS = "tests/console/test_staff_requests.py::"
WEBHOOKS = "tests/console/test_webhooks.py::"
ENDPOINT_LIFE = WEBHOOKS + "test_an_admin_adds_tests_edits_disables_enables_and_deletes_an_endpoint"
DUNNING = "tests/billing/test_dunning.py::"
RECONCILE = "tests/billing/test_reconciliation.py::"
DUNNING_PAUSE = DUNNING + "test_live_campaigns_pause_after_the_suspend_days_and_resume_when_paid"
COVERED_ELSEWHERE: dict[str, tuple[str, str]] = {
    "billing.services.dunning.dunning_retry": (
        DUNNING + "test_the_card_is_retried_on_days_1_3_and_7_and_the_admins_are_emailed_each_time",
        "invoice.card_retried",
    ),
    "billing.services.dunning.dunning_sweep": (
        DUNNING + "test_the_card_is_retried_on_days_1_3_and_7_and_the_admins_are_emailed_each_time",
        "invoice.card_retried",
    ),
    "billing.services.dunning.dunning_suspend_due": (DUNNING_PAUSE, "account.dunning_suspended"),
    "billing.services.monthend.monthend_request": (
        "tests/billing/test_monthend.py::test_the_build_runs_once_however_often_the_task_runs",
        "monthend.requested",
    ),
    "billing.services.reconciliation.statement_upload": (
        RECONCILE + "test_confirming_pays_the_matches_once_and_a_second_upload_marks_nothing",
        "bank_statement.uploaded",
    ),
    "billing.services.reconciliation.statement_confirm": (
        RECONCILE + "test_confirming_pays_the_matches_once_and_a_second_upload_marks_nothing",
        "bank_statement.confirmed",
    ),
    "billing.services.dunning.dunning_resolve_paid": (DUNNING_PAUSE, "account.dunning_resolved"),
    "campaigns.services.lifecycle.campaign_pause_for_payment": (
        DUNNING_PAUSE,
        "campaign.paused_for_payment",
    ),
    "campaigns.services.lifecycle.campaign_resume_after_payment": (
        DUNNING_PAUSE,
        "campaign.resumed_after_payment",
    ),
    "campaigns.services.wizard.campaign_duplicate": (
        "tests/campaigns/test_duplicate.py::test_duplicating_writes_an_activity_row",
        "campaign.duplicated",
    ),
    "console.services.team.membership_role_set": (
        ROLES + "test_an_admin_makes_a_member_an_admin_and_back_and_each_change_is_recorded",
        "membership.role_changed",
    ),
    "console.services.team.membership_remove": (
        ROLES + "test_a_removed_member_loses_their_seat_and_their_session",
        "membership.removed",
    ),
    "console.services.staff_requests.staff_request_create": (
        REQUESTS + "test_a_member_raises_each_kind_of_request_and_lands_on_its_page",
        "staff_request.created",
    ),
    "console.services.staff_requests.staff_request_answer": (
        REQUESTS + "test_staff_answer_emails_the_requester_and_the_admins_and_the_page_shows_it",
        "staff_request.answered",
    ),
    "console.webhooks.services.webhook_endpoint_create": (
        ENDPOINT_LIFE,
        "webhook_endpoint.created",
    ),
    "console.webhooks.services.webhook_endpoint_update": (
        ENDPOINT_LIFE,
        "webhook_endpoint.updated",
    ),
    "console.webhooks.services.webhook_endpoint_enable": (
        ENDPOINT_LIFE,
        "webhook_endpoint.enabled",
    ),
    "console.webhooks.services.webhook_endpoint_disable": (
        ENDPOINT_LIFE,
        "webhook_endpoint.disabled",
    ),
    "console.webhooks.services.webhook_endpoint_delete": (
        ENDPOINT_LIFE,
        "webhook_endpoint.deleted",
    ),
    "console.webhooks.services.webhook_endpoint_send_test": (
        ENDPOINT_LIFE,
        "webhook_endpoint.test_sent",
    ),
    "console.webhooks.services.webhook_endpoint_rotate_secret": (
        WEBHOOKS + "test_a_rotated_secret_signs_beside_the_old_one_for_24_hours",
        "webhook_endpoint.secret_rotated",
    ),
    "console.webhooks.services.webhook_delivery_retry": (
        WEBHOOKS + "test_retry_now_sends_a_failed_delivery_again_at_once",
        "webhook_delivery.retried",
    ),
    "console.webhooks.services.webhook_delivery_resend": (
        WEBHOOKS + "test_resend_delivers_a_delivered_event_again_with_the_same_webhook_id",
        "webhook_delivery.resent",
    ),
    "console.services.staff.staff_user_set": (
        "tests/console/test_create_staff.py::"
        "test_create_staff_makes_a_reviewer_who_can_open_the_review_queue",
        "staff.user_set",
    ),
    "campaigns.results.alerts.alerts_sweep": (
        "tests/campaigns/test_alerts.py::"
        "test_crossing_half_the_budget_emails_each_admin_once_and_publishes_one_event",
        "campaign.budget_threshold_reached",
    ),
}


def _test_source(reference: str) -> str | None:
    path, _, name = reference.partition("::")
    file = ROOT / path
    if not file.is_file():
        return None
    for node in ast.parse(file.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(file.read_text(), node)
    return None


# --- The cases ---------------------------------------------------------------------------------


@dataclass
class Expect:
    """The audit row a service call must leave."""

    action: str
    actor: object  # a user, or None for the system (and for shoppers)
    account_id: int | None
    target: tuple[str, object]  # (object_type, pk)
    data: dict = field(default_factory=dict)  # a subset of the row's data
    actor_label: str | None = None
    ip: str | None = CLIENT_IP  # called while serving a request, or by the system (None)


Case = Callable[[pytest.FixtureRequest], tuple[Callable[[], object], Callable[[object], Expect]]]
CASES: dict[str, Case] = {}


def case(name: str):
    def register(fn: Case) -> Case:
        assert name not in CASES, name
        CASES[name] = fn
        return fn

    return register


def fixture(request, name: str):
    return request.getfixturevalue(name)


# console.services


@case("console.services.accounts.account_signup")
def _signup(request):
    from console.services import account_signup

    def call():
        return account_signup(
            company="Initech",
            country="US",
            billing_address="1 Main Street, Austin",
            email="peter@initech.test",
            password=PASSWORD,
        )

    return call, lambda m: Expect(
        "account.signed_up",
        m.user,
        m.account_id,
        ("console.account", m.account_id),
        actor_label="peter@initech.test",
    )


@case("console.services.team.invitation_create")
def _invite(request):
    from console.services import invitation_create

    alice, acme = fixture(request, "alice"), fixture(request, "acme")

    def call():
        return invitation_create(account=acme, actor=alice, email="dana@acme.test")

    return call, lambda issued: Expect(
        "invitation.created",
        alice,
        acme.pk,
        ("console.invitation", issued.invitation.pk),
        data={"email": "dana@acme.test", "role": "member"},
    )


@case("console.services.team.invitation_accept")
def _accept(request):
    from console.services import invitation_accept, invitation_create

    alice, acme = fixture(request, "alice"), fixture(request, "acme")
    issued = invitation_create(account=acme, actor=alice, email="dana@acme.test")

    def call():
        return invitation_accept(token=issued.token, password=PASSWORD)

    return call, lambda m: Expect(
        "invitation.accepted",
        m.user,
        acme.pk,
        ("console.invitation", issued.invitation.pk),
        actor_label="dana@acme.test",
    )


@case("console.services.team.invitation_revoke")
def _revoke_invitation(request):
    from console.services import invitation_create, invitation_revoke

    alice, acme = fixture(request, "alice"), fixture(request, "acme")
    issued = invitation_create(account=acme, actor=alice, email="dana@acme.test")

    def call():
        return invitation_revoke(invitation=issued.invitation, actor=alice)

    return call, lambda _: Expect(
        "invitation.revoked",
        alice,
        acme.pk,
        ("console.invitation", issued.invitation.pk),
        data={"email": "dana@acme.test"},
    )


@case("console.services.keys.app_register")
def _register(request):
    from console.services import app_register

    alice, acme = fixture(request, "alice"), fixture(request, "acme")

    def call():
        return app_register(
            account=acme,
            actor=alice,
            name="Space Miner",
            platform=App.Platform.ANDROID,
            store_url="https://play.google.com/store/apps/details?id=test.miner",
        )

    return call, lambda issued: Expect(
        "app.registered",
        alice,
        acme.pk,
        ("console.app", issued.api_key.app_id),
        data={"platform": "android", "key_prefix": issued.api_key.prefix},
    )


@case("console.services.keys.app_update")
def _app_update(request):
    from console.services import app_update

    alice, app = fixture(request, "alice"), fixture(request, "acme_app")
    old_name = app.name

    def call():
        return app_update(
            app=app, actor=alice, name="Space Miner 2", store_url=app.store_url, allowed_ips=[]
        )

    return call, lambda _: Expect(
        "app.updated",
        alice,
        app.account_id,
        ("console.app", app.pk),
        data={"fields": ["name"], "changes": {"name": [old_name, "Space Miner 2"]}},
    )


@case("console.services.keys.api_key_rotate")
def _rotate(request):
    from console.services import api_key_rotate

    alice, app = fixture(request, "alice"), fixture(request, "acme_app")

    def call():
        return api_key_rotate(app=app, actor=alice)

    return call, lambda issued: Expect(
        "api_key.rotated",
        alice,
        app.account_id,
        ("console.app", app.pk),
        data={"prefix": issued.api_key.prefix},
    )


@case("console.services.keys.api_key_revoke")
def _revoke_key(request):
    from console.services import api_key_revoke, api_key_rotate

    alice, app = fixture(request, "alice"), fixture(request, "acme_app")
    key = api_key_rotate(app=app, actor=alice).api_key

    def call():
        return api_key_revoke(api_key=key, actor=alice)

    return call, lambda _: Expect(
        "api_key.revoked", alice, app.account_id, ("console.app", app.pk), {"prefix": key.prefix}
    )


@case("console.services.spend_limits.account_spend_limit_set")
def _spend_limit(request):
    from console.services import account_spend_limit_set

    finance, acme = fixture(request, "finance_in_group"), fixture(request, "acme")
    old = acme.monthly_spend_limit

    def call():
        return account_spend_limit_set(
            actor=finance, account=acme, limit=Decimal("40000"), reason="Ticket 4711"
        )

    return call, lambda _: Expect(
        "account.spend_limit_set",
        finance,
        acme.pk,
        ("console.account", acme.pk),
        data={"old": str(old), "new": "40000.00", "reason": "Ticket 4711"},
        actor_label="fred@moments.test (staff)",
    )


@case("console.services.staff_requests.staff_request_withdraw")
def _withdraw(request):
    from console.services import staff_request_create, staff_request_withdraw

    alice, acme = fixture(request, "alice"), fixture(request, "acme")
    raised = staff_request_create(
        account=acme,
        actor=alice,
        kind="fire_tv",
        app_name="Couch Quest",
        store_url="https://www.amazon.com/dp/B0COUCHQST",
    )

    def call():
        return staff_request_withdraw(actor=alice, staff_request=raised)

    return call, lambda r: Expect(
        "staff_request.withdrawn", alice, acme.pk, ("console.staffrequest", r.pk)
    )


# billing


@case("billing.services.details.account_tax_id_set")
def _tax_id(request):
    from billing.services.details import account_tax_id_set

    alice, acme = fixture(request, "alice"), fixture(request, "acme")

    def call():
        return account_tax_id_set(account=acme, actor=alice, tax_id="de 123456789")

    return call, lambda _: Expect(
        "account.tax_id_set", alice, acme.pk, ("console.account", acme.pk), {"new": "DE 123456789"}
    )


@case("billing.services.payments.payment_method_add")
def _card(request):
    from billing.services.payments import payment_method_add

    alice, acme = fixture(request, "alice"), fixture(request, "acme")

    def call():
        return payment_method_add(
            account=acme,
            actor=alice,
            card_number=VISA,
            exp_month=12,
            exp_year=timezone.localdate().year + 2,
            cardholder_name="Alice Liddell",
            billing_address="1 Main Street",
        )

    return call, lambda method: Expect(
        "payment_method.added",
        alice,
        acme.pk,
        ("billing.paymentmethod", method.pk),
        data={"brand": "Visa", "last4": "4242"},
    )


@case("billing.services.payments.payment_terms_set")
def _terms(request):
    from billing.services.payments import payment_terms_set

    finance, acme = fixture(request, "finance"), fixture(request, "acme")

    def call():
        return payment_terms_set(
            account=acme, terms="invoice", actor=finance, reason="FIN-77: approved"
        )

    return call, lambda _: Expect(
        "account.payment_terms_set",
        finance,
        acme.pk,
        ("console.account", acme.pk),
        data={
            "old": "Card on file",
            "new": "Invoice (set by finance)",
            "reason": "FIN-77: approved",
        },
    )


def _charged_last_month(request, *, card: bool = True):
    """Acme with a live campaign charged $75 last month (through the ledger service)."""
    from billing.services.ledger import ledger_charge

    app = fixture(request, "acme_app")
    if card:
        fixture(request, "card_on_file")
    campaign = CampaignFactory(app=app, status="live")
    last_month = month_before(timezone.localdate())
    with transaction.atomic():
        for _ in range(3):
            ledger_charge(
                account_id=app.account_id,
                campaign_id=campaign.pk,
                moment_id=None,
                grant_id=None,
                amount=Decimal("25.0000"),
                month=last_month,
                now=timezone.now() - timedelta(days=35),
            )
    return app.account, last_month


def _issued(invoice_of: Callable[[object], object]):
    def expect(result) -> Expect:
        invoice = invoice_of(result)
        return Expect(
            "invoice.issued",
            None,
            invoice.account_id,
            ("billing.invoice", invoice.pk),
            data={"total": "75.00"},
            actor_label="system",
            ip=None,
        )

    return expect


@case("billing.services.invoices.invoice_issue_for_account")
def _issue_one(request):
    from billing.services.invoices import invoice_issue_for_account

    account, month = _charged_last_month(request)

    def call():
        return invoice_issue_for_account(account_id=account.pk, period=month, now=timezone.now())

    return call, _issued(lambda invoice: invoice)


@case("billing.services.invoices.invoices_issue_month")
def _issue_month(request):
    from billing.services.invoices import invoices_issue_month

    _, month = _charged_last_month(request)
    return (lambda: invoices_issue_month(month=month)), _issued(lambda invoices: invoices[0])


@case("billing.services.invoices.invoices_issue_previous_month")
def _issue_previous(request):
    from billing.services.invoices import invoices_issue_previous_month

    _charged_last_month(request)
    return invoices_issue_previous_month, _issued(lambda invoices: invoices[0])


def _an_invoice(request, *, card: bool = True):
    from billing.services.invoices import invoice_issue_for_account

    account, month = _charged_last_month(request, card=card)
    return invoice_issue_for_account(account_id=account.pk, period=month, now=timezone.now())


@case("billing.services.invoices.credit_note_issue")
def _credit(request):
    from billing.services.invoices import credit_note_issue

    finance, invoice = fixture(request, "finance"), _an_invoice(request)

    def call():
        return credit_note_issue(actor=finance, invoice=invoice, reason="Goodwill", amount=10)

    return call, lambda note: Expect(
        "invoice.credited",
        finance,
        invoice.account_id,
        ("billing.invoice", invoice.pk),
        data={"credit_note": note.number, "amount": "10.00", "reason": "Goodwill"},
    )


@case("billing.services.invoices.invoice_mark_paid")
def _paid(request):
    from billing.services.invoices import invoice_mark_paid

    finance, invoice = fixture(request, "finance"), _an_invoice(request, card=False)
    today = timezone.localdate()

    def call():
        return invoice_mark_paid(actor=finance, invoice=invoice, paid_on=today, reference="TR-9")

    return call, lambda _: Expect(
        "invoice.paid",
        finance,
        invoice.account_id,
        ("billing.invoice", invoice.pk),
        data={
            "paid_on": today.isoformat(),
            "reference": "TR-9",
            "amount": str(invoice.total),
            "balance_due": "0.00",
        },
    )


@case("billing.services.invoice_email.invoice_email_resend")
def _emailed_again(request):
    from billing.services.invoice_email import invoice_email_resend

    finance, invoice = fixture(request, "finance"), _an_invoice(request)

    def call():
        return invoice_email_resend(actor=finance, invoice=invoice)

    return call, lambda _: Expect(
        "invoice.emailed",
        finance,
        invoice.account_id,
        ("billing.invoice", invoice.pk),
        data={"recipients": 1},
    )


@case("billing.services.invoices.invoice_payment_record")
def _payment(request):
    from billing.services.invoices import invoice_payment_record

    finance, invoice = fixture(request, "finance"), _an_invoice(request, card=False)
    today = timezone.localdate()
    part = (invoice.total / 2).quantize(Decimal("0.01"))

    def call():
        return invoice_payment_record(
            actor=finance, invoice=invoice, amount=part, paid_on=today, reference="TR-10"
        )

    return call, lambda _: Expect(
        "invoice.payment_recorded",
        finance,
        invoice.account_id,
        ("billing.invoice", invoice.pk),
        data={
            "paid_on": today.isoformat(),
            "reference": "TR-10",
            "amount": str(part),
            "balance_due": str(invoice.total - part),
        },
    )


# campaigns: the wizard


def _draft(request, **fields):
    from tests.campaigns.conftest import make_complete_draft

    app = fixture(request, "acme_app")
    return make_complete_draft(
        app,
        product=ProductFactory(marketplace_id="US"),
        created_by=fixture(request, "alice"),
        **fields,
    )


def _step(step: int, data: dict | None = None):
    def expect_for(request, campaign):
        return lambda _: Expect(
            "campaign.updated",
            fixture(request, "alice"),
            campaign.account_id,
            ("campaigns.campaign", campaign.pk),
            data={"step": step, **(data or {})},
        )

    return expect_for


@case("campaigns.services.wizard.campaign_draft_create")
def _draft_create(request):
    from campaigns.services.wizard import campaign_draft_create

    alice, app = fixture(request, "alice"), fixture(request, "acme_app")

    def call():
        return campaign_draft_create(account=app.account, actor=alice, app=app)

    return call, lambda c: Expect(
        "campaign.created", alice, app.account_id, ("campaigns.campaign", c.pk)
    )


@case("campaigns.services.wizard.campaign_app_set")
def _app_set(request):
    from campaigns.services.wizard import campaign_app_set

    campaign, alice = _draft(request), fixture(request, "alice")
    other = AppFactory(account=campaign.account, name="Tiny Tanks")

    def call():
        return campaign_app_set(campaign=campaign, actor=alice, app=other)

    return call, _step(1, {"app": "Tiny Tanks"})(request, campaign)


@case("campaigns.services.wizard.campaign_duration_set")
def _duration(request):
    from campaigns.services.wizard import campaign_duration_set

    campaign, alice = _draft(request), fixture(request, "alice")
    start = timezone.localdate() + timedelta(days=10)

    def call():
        return campaign_duration_set(
            campaign=campaign,
            actor=alice,
            name="Winter Quest",
            start_date=start,
            end_date=start + timedelta(days=30),
        )

    return call, _step(2, {"start_date": start.isoformat()})(request, campaign)


@case("campaigns.services.wizard.campaign_budget_set")
def _budget(request):
    from campaigns.services.wizard import campaign_budget_set

    campaign, alice = _draft(request), fixture(request, "alice")

    def call():
        return campaign_budget_set(
            campaign=campaign, actor=alice, total_budget=Decimal("500"), cpa=Decimal("27.50")
        )

    return call, _step(3, {"total_budget": "500", "cpa": "27.50"})(request, campaign)


@case("campaigns.services.wizard.campaign_marketplaces_set")
def _marketplaces(request):
    from campaigns.services.wizard import campaign_marketplaces_set
    from rewards.models import Marketplace

    campaign, alice = _draft(request), fixture(request, "alice")

    def call():
        return campaign_marketplaces_set(
            campaign=campaign, actor=alice, marketplaces=Marketplace.objects.filter(code="US")
        )

    return call, _step(4, {"marketplaces": ["US"]})(request, campaign)


@case("campaigns.services.wizard.campaign_rewards_set")
def _rewards(request):
    from campaigns.services.wizard import RewardChoice, campaign_rewards_set

    campaign, alice = _draft(request), fixture(request, "alice")
    product = ProductFactory(marketplace_id="US")

    def call():
        return campaign_rewards_set(
            campaign=campaign,
            actor=alice,
            rewards={"US": RewardChoice([product], None, None)},
            moments=[("LEVEL_20_COMPLETE", "Completes level 20")],
        )

    return call, _step(5, {"moments": ["LEVEL_20_COMPLETE"]})(request, campaign)


@case("campaigns.services.wizard.campaign_messages_set")
def _messages(request):
    from campaigns.services.wizard import campaign_messages_set

    campaign, alice = _draft(request), fixture(request, "alice")

    def call():
        return campaign_messages_set(
            campaign=campaign,
            actor=alice,
            announcement_message="Win earbuds",
            announcement_criteria="Level 8 players",
            redemption_message="Well done!",
            terms="While supplies last.",
        )

    return call, _step(6, {"banner_replaced": False})(request, campaign)


@case("campaigns.services.wizard.campaign_draft_delete")
def _delete(request):
    from campaigns.services.wizard import campaign_draft_delete

    campaign, alice = _draft(request, name="Doomed Draft"), fixture(request, "alice")
    pk = campaign.pk

    def call():
        return campaign_draft_delete(campaign=campaign, actor=alice)

    return call, lambda _: Expect(
        "campaign.deleted", alice, campaign.account_id, ("campaigns.campaign", pk)
    )


@case("campaigns.services.wizard.campaign_submit")
def _submit(request):
    from campaigns.services.wizard import campaign_submit

    fixture(request, "card_on_file")
    campaign, alice = _draft(request), fixture(request, "alice")

    def call():
        return campaign_submit(campaign=campaign, actor=alice)

    return call, lambda _: Expect(
        "campaign.submitted",
        alice,
        campaign.account_id,
        ("campaigns.campaign", campaign.pk),
        data={"from_status": "draft", "to_status": "pending_approval"},
    )


# campaigns: the lifecycle


def _pending(request):
    from tests.campaigns.lifecycle_helpers import pending_campaign

    return pending_campaign(
        app=fixture(request, "acme_app"), submitted_at=timezone.now() - timedelta(days=1)
    )


def _move(action: str, actor_fixture: str, campaign, request, data: dict | None = None):
    return lambda _: Expect(
        action,
        fixture(request, actor_fixture),
        campaign.account_id,
        ("campaigns.campaign", campaign.pk),
        data=data or {},
    )


@case("campaigns.services.lifecycle.campaign_transition")
def _transition(request):
    from campaigns.services.lifecycle import campaign_transition

    campaign, reviewer = _pending(request), fixture(request, "reviewer")

    def call():
        return campaign_transition(campaign=campaign, to_status="rejected", actor=reviewer)

    return call, _move("campaign.rejected", "reviewer", campaign, request)


@case("campaigns.services.lifecycle.campaign_approve")
def _approve(request):
    from campaigns.services.lifecycle import campaign_approve

    campaign, reviewer = _pending(request), fixture(request, "reviewer_in_group")

    def call():
        return campaign_approve(campaign=campaign, actor=reviewer)

    return call, _move("campaign.approved", "reviewer_in_group", campaign, request)


@case("campaigns.services.review.campaign_review_approve")
def _review_approve(request):
    from campaigns.services.review import campaign_review_approve

    campaign, reviewer = _pending(request), fixture(request, "reviewer_in_group")

    def call():
        return campaign_review_approve(campaign=campaign, actor=reviewer, version=campaign.version)

    return call, _move("campaign.approved", "reviewer_in_group", campaign, request)


@case("campaigns.services.review.campaign_review_reject")
def _review_reject(request):
    from campaigns.services.review import campaign_review_reject

    campaign, reviewer = _pending(request), fixture(request, "reviewer_in_group")

    def call():
        return campaign_review_reject(
            campaign=campaign, actor=reviewer, version=campaign.version, reason="Blurred."
        )

    return call, _move(
        "campaign.rejected",
        "reviewer_in_group",
        campaign,
        request,
        data={"reason": "Blurred."},
    )


@case("campaigns.services.lifecycle.campaign_reject")
def _reject(request):
    from campaigns.services.lifecycle import campaign_reject

    campaign, reviewer = _pending(request), fixture(request, "reviewer_in_group")

    def call():
        return campaign_reject(campaign=campaign, actor=reviewer, reason="The banner is blurred.")

    return call, _move(
        "campaign.rejected",
        "reviewer_in_group",
        campaign,
        request,
        {"reason": "The banner is blurred."},
    )


def _live(request):
    return CampaignFactory(
        app=fixture(request, "acme_app"),
        status="live",
        submitted_at=timezone.now() - timedelta(days=10),
        start_date=timezone.localdate() - timedelta(days=1),
        end_date=timezone.localdate() + timedelta(days=30),
    )


@case("campaigns.services.lifecycle.campaign_suspend")
def _suspend(request):
    from campaigns.services.lifecycle import campaign_suspend

    campaign, reviewer = _live(request), fixture(request, "reviewer_in_group")

    def call():
        return campaign_suspend(campaign=campaign, actor=reviewer, reason="A complaint.")

    return call, _move(
        "campaign.suspended", "reviewer_in_group", campaign, request, {"reason": "A complaint."}
    )


@case("campaigns.services.lifecycle.campaign_take_down")
def _take_down(request):
    from campaigns.services.lifecycle import campaign_take_down

    campaign, alice = _live(request), fixture(request, "alice")

    def call():
        return campaign_take_down(campaign=campaign, actor=alice)

    return call, _move(
        "campaign.taken_down", "alice", campaign, request, {"to_status": "suspended"}
    )


@case("campaigns.services.lifecycle.campaigns_sweep")
def _sweep(request):
    from campaigns.services.lifecycle import campaigns_sweep

    campaign = CampaignFactory(
        app=fixture(request, "acme_app"),
        name="Due Today",
        status="approved",
        submitted_at=timezone.now() - timedelta(days=8),
        goes_live_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(days=30),
    )

    return campaigns_sweep, lambda _: Expect(
        "campaign.went_live",
        None,
        campaign.account_id,
        ("campaigns.campaign", campaign.pk),
        data={"from_status": "approved", "to_status": "live"},
        actor_label="system",
        ip=None,
    )


# rewards


@case("rewards.catalog.services.exchange_rate_set")
def _rate(request):
    from rewards.catalog.services import exchange_rate_set

    finance = fixture(request, "finance")

    def call():
        return exchange_rate_set(currency="eur", usd_per_unit=Decimal("1.0850"), actor=finance)

    return call, lambda rate: Expect(
        "exchange_rate.set", finance, None, ("rewards.exchangerate", rate.pk), {"new": "1.0850"}
    )


def _support_staff():
    from tests.campaigns.lifecycle_helpers import staff_group

    staff = UserFactory(email="sam@moments.test", is_staff=True)
    staff.groups.add(staff_group("Support"))
    return staff


def _flagged_claim():
    grant = a_grant()
    return a_claim(grant=grant, shopper=a_shopper(), product=ProductFactory(), status="flagged")


@case("rewards.redemption.fraud.claim_release")
def _release(request):
    from rewards.redemption.fraud import claim_release

    claim, staff = _flagged_claim(), _support_staff()

    def call():
        return claim_release(claim=claim, actor=staff)

    return call, lambda _: Expect(
        "claim.released",
        staff,
        claim.grant.campaign.account_id,
        ("rewards.claim", claim.pk),
        {"grant_id": claim.grant_id},
    )


@case("rewards.redemption.fraud.claim_block")
def _block(request):
    from rewards.redemption.fraud import claim_block

    claim, staff = _flagged_claim(), _support_staff()

    def call():
        return claim_block(claim=claim, actor=staff)

    return call, lambda _: Expect(
        "claim.blocked", staff, claim.grant.campaign.account_id, ("rewards.claim", claim.pk)
    )


@case("rewards.redemption.returns.claim_return")
def _return(request):
    from rewards.redemption.returns import claim_return

    shopper = a_shopper("dana@shopper.test")
    claim = a_claim(grant=a_grant(), shopper=shopper, product=ProductFactory())

    def call():
        return claim_return(claim=claim, shopper=shopper)

    # The shopper is no console user: the row says "shopper", never who.
    return call, lambda _: Expect(
        "claim.returned",
        None,
        claim.grant.campaign.account_id,
        ("rewards.claim", claim.pk),
        data={"value": "20.00", "currency": "USD"},
        actor_label="shopper",
    )


@case("rewards.redemption.services.shopper_delete")
def _shopper_delete(request):
    from rewards.redemption.services import shopper_delete

    shopper = a_shopper("dana@shopper.test")
    claim = a_claim(grant=a_grant(), shopper=shopper, product=ProductFactory())

    def call():
        return shopper_delete(shopper=shopper, password="a-shopper-password-9")

    # One row in the account whose campaign the claim came from, naming the shopper by number.
    return call, lambda _: Expect(
        "shopper.deleted",
        None,
        claim.grant.campaign.account_id,
        ("rewards.shopper", shopper.pk),
        data={"claims": 1},
        actor_label="shopper",
    )


# --- The tests ---------------------------------------------------------------------------------


def test_every_state_changing_service_is_covered_or_listed_as_not_a_state_change():
    found = state_changing_services()
    unclassified = found - set(CASES) - set(COVERED_ELSEWHERE) - set(NOT_STATE_CHANGES)
    assert not unclassified, (
        "These services change state but neither have a case in tests/console/test_activity.py "
        "(call them, check their activity_record row) nor are listed in NOT_STATE_CHANGES with "
        f"a reason: {sorted(unclassified)}"
    )
    both = (set(CASES) | set(COVERED_ELSEWHERE)) & set(NOT_STATE_CHANGES)
    assert not both, f"Both audited and listed as not a state change: {sorted(both)}"
    gone = (set(CASES) | set(COVERED_ELSEWHERE) | set(NOT_STATE_CHANGES)) - found
    assert not gone, f"Classified but no longer found (renamed? removed?): {sorted(gone)}"


def test_a_service_covered_elsewhere_records_its_action_and_the_test_reads_it():
    for name, (reference, action) in COVERED_ELSEWHERE.items():
        module, function = name.rsplit(".", 1)
        path = ROOT / f"{module.replace('.', '/')}.py"
        tree = ast.parse(path.read_text())
        assert _audits(tree)[function], f"{name} never calls activity_record"
        assert f'"{action}"' in path.read_text(), f"{module} never records {action}"
        source = _test_source(reference)
        assert source is not None, f"{reference} does not exist"
        assert "ActivityEntry" in source and action in source, (
            f"{reference} does not read the {action} row"
        )


def test_the_search_finds_a_new_service_that_writes():
    # What makes the test above fail when someone adds a service and forgets its row.
    tree = ast.parse(
        "def widget_frobnicate(*, widget):\n    Widget.objects.filter(pk=1).update(x=2)\n"
        "def widget_price(widget):\n    return widget.price\n"
        "def thing_enable(*, thing):\n    _helper(thing)\n"
        "def _helper(thing):\n    thing.save()\n"
    )
    assert _writes(tree) == {
        "widget_frobnicate": True,
        "widget_price": False,
        "thing_enable": True,
        "_helper": True,
    }
    assert state_changing_services() >= {"console.services.keys.app_register"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_service_writes_its_audit_row(name, request):
    call, expect = CASES[name](request)
    module, function = name.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), function))
    last = ActivityEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # Called while serving a request (the middleware knows the client's IP) unless the
    # service is the system's (a sweep, the monthly run).
    if name in SYSTEM:
        result = call()
    else:
        middleware = ActivityIPMiddleware(lambda _request: call())
        result = middleware(RequestFactory().post("/", REMOTE_ADDR=CLIENT_IP))
    expected = expect(result)

    rows = list(ActivityEntry.objects.filter(pk__gt=last).order_by("pk"))
    assert [r.action for r in rows] == [expected.action], name
    row = rows[0]
    assert row.actor_id == getattr(expected.actor, "pk", None)
    assert row.account_id == expected.account_id
    assert (row.object_type, row.object_id) == (expected.target[0], str(expected.target[1]))
    assert row.object_repr
    assert row.ip == expected.ip
    if expected.actor_label is not None:
        assert row.actor_label == expected.actor_label
    elif expected.actor is not None:
        assert row.actor_label.startswith(expected.actor.email)
    for key, value in expected.data.items():
        assert row.data.get(key) == value, (key, row.data)


# Services the system runs (beat sweeps, the monthly run): no request, no IP.
SYSTEM = frozenset(
    {
        "campaigns.services.lifecycle.campaigns_sweep",
        "billing.services.invoices.invoice_issue_for_account",
        "billing.services.invoices.invoices_issue_month",
        "billing.services.invoices.invoices_issue_previous_month",
    }
)


def test_no_row_holds_a_secret_or_a_card_number(request):
    call, _ = CASES["console.services.keys.app_register"](request)
    issued = call()
    _card_call, _ = CASES["billing.services.payments.payment_method_add"](request)
    _card_call()
    text = str(list(ActivityEntry.objects.values_list("data", "object_repr")))
    assert issued.raw not in text and issued.raw.split(".", 1)[1] not in text
    assert "4242424242424242" not in text.replace(" ", "")


def test_a_returned_reward_names_no_shopper(request):
    call, _ = CASES["rewards.redemption.returns.claim_return"](request)
    call()
    row = ActivityEntry.objects.get(action="claim.returned")
    assert "dana" not in f"{row.actor_label} {row.object_repr} {row.data}"


def test_a_deleted_shopper_is_named_by_number_only(request):
    call, _ = CASES["rewards.redemption.services.shopper_delete"](request)
    call()
    row = ActivityEntry.objects.get(action="shopper.deleted")
    text = f"{row.actor_label} {row.object_repr} {row.object_id} {row.data}"
    assert "dana" not in text and "Seattle" not in text and "Main Street" not in text


def test_a_rolled_back_change_leaves_no_row(alice, acme):
    from console.services import app_register

    with pytest.raises(RuntimeError), transaction.atomic():
        app_register(
            account=acme,
            actor=alice,
            name="Never Was",
            platform=App.Platform.WEB,
            store_url="https://never.example.test",
        )
        raise RuntimeError("the request failed after the service")
    assert not App.objects.filter(name="Never Was").exists()
    assert not ActivityEntry.objects.exists()


def test_a_refused_change_leaves_no_row(alice, acme):
    from django.core.exceptions import ValidationError

    from campaigns.services.wizard import campaign_duration_set

    taken = CampaignFactory(app=AppFactory(account=acme), name="Taken")
    draft = CampaignFactory(app=taken.app, name="Draft")
    start = timezone.localdate() + timedelta(days=10)
    with pytest.raises(ValidationError):
        campaign_duration_set(
            campaign=draft,
            actor=alice,
            name="Taken",
            start_date=start,
            end_date=start + timedelta(5),
        )
    assert not ActivityEntry.objects.exists()


def test_a_sweep_moving_many_campaigns_writes_their_rows_in_one_insert(
    acme_app, django_assert_max_num_queries
):
    from campaigns.services.lifecycle import campaigns_sweep

    due = [
        CampaignFactory(
            app=acme_app,
            status="approved",
            submitted_at=timezone.now() - timedelta(days=8),
            goes_live_at=timezone.now() - timedelta(minutes=5),
            ends_at=timezone.now() + timedelta(days=30),
        )
        for _ in range(12)
    ]
    with django_assert_max_num_queries(20):
        moves = campaigns_sweep()
    assert len(moves) == 12
    rows = ActivityEntry.objects.filter(action="campaign.went_live")
    assert sorted(int(r.object_id) for r in rows) == sorted(c.pk for c in due)
    assert {r.object_repr for r in rows} == {c.name for c in due}
    assert {r.actor_label for r in rows} == {"system"}


def test_the_ip_is_the_clients_behind_a_trusted_proxy(alice_client, acme_app, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = alice_client.post(
        f"/apps/{acme_app.app_id}/keys/rotate/",
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="198.51.100.23, 10.1.2.3",
    )
    assert response.status_code in (200, 302)
    assert ActivityEntry.objects.get(action="api_key.rotated").ip == "198.51.100.23"


def test_a_forwarded_for_header_from_an_untrusted_peer_is_not_believed(
    alice_client, acme_app, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    alice_client.post(
        f"/apps/{acme_app.app_id}/keys/rotate/",
        REMOTE_ADDR="192.0.2.50",
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert ActivityEntry.objects.get(action="api_key.rotated").ip == "192.0.2.50"


def test_a_task_outside_any_request_records_no_ip(acme_app, alice):
    from console.services import api_key_rotate

    api_key_rotate(app=acme_app, actor=alice)
    assert ActivityEntry.objects.get().ip is None


def test_data_keeps_money_and_dates_as_text(alice, acme):
    from console.activity import activity_record

    entry = activity_record(
        actor=alice,
        account=acme,
        action="test.recorded",
        data={"amount": Decimal("1.50"), "on": date(2026, 1, 2), "at": datetime(2026, 1, 2, 3)},
    )
    entry.refresh_from_db()
    assert entry.data == {"amount": "1.50", "on": "2026-01-02", "at": "2026-01-02T03:00:00"}


@pytest.fixture
def card_on_file(acme, alice):
    from billing.services.payments import payment_method_add

    return payment_method_add(
        account=acme,
        actor=alice,
        card_number=VISA,
        exp_month=12,
        exp_year=timezone.localdate().year + 2,
        cardholder_name="Alice Liddell",
        billing_address="1 Main Street",
    )


def test_a_move_made_in_the_past_is_dated_like_its_history(request):
    # The demo account submits and approves campaigns "days ago": its log says so too.
    from campaigns.models import CampaignTransition
    from campaigns.services.lifecycle import campaign_approve

    campaign, reviewer = _pending(request), fixture(request, "reviewer_in_group")
    then = timezone.now() - timedelta(days=3)
    campaign_approve(campaign=campaign, actor=reviewer, now=then)
    entry = ActivityEntry.objects.get(action="campaign.approved")
    assert entry.created_at == then == CampaignTransition.objects.get().created_at
