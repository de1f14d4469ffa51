"""The demo developer account (`python manage.py load_demo_account`): one place that builds a
realistic account on top of the console, the catalog, campaigns, billing and GetReward.

Everything goes through the real services (sign-up, card on file, app registration, the wizard,
submit, approve, GetReward), so the books agree with themselves exactly as in production:
ledger rows, spend counters, inventory counters and grants. Later issues extend it (invoices,
claims): add a step to `demo_account_load`.

A reset never deletes: the ledger is append-only (PostgreSQL's trigger refuses DELETE on it and
its rows PROTECT the account, the campaigns and the grants), so the previous demo account is
*retired* instead: its user can no longer sign in and gives up the demo email, its keys are
revoked, its campaigns are suspended, rejected or deleted (drafts) through the lifecycle
services, and a fresh demo account is created under the same email.
"""

from __future__ import annotations

import io
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from billing.models import LedgerEntry
from billing.services.invoices import invoice_issue_for_account
from billing.services.payments import payment_method_add
from campaigns.models import Campaign, RewardGroup
from campaigns.services.lifecycle import (
    IllegalTransition,
    campaign_approve,
    campaign_reject,
    campaign_suspend,
    campaign_transition,
    earliest_go_live,
)
from campaigns.services.wizard import (
    RewardChoice,
    campaign_budget_set,
    campaign_draft_create,
    campaign_draft_delete,
    campaign_duration_set,
    campaign_marketplaces_set,
    campaign_messages_set,
    campaign_rewards_set,
    campaign_submit,
)
from console.clock import day_start, month_after, month_before, month_start
from console.models import Account, ApiKey, App, Membership
from console.money import round_money
from console.services import account_signup, api_key_revoke, app_register
from console.services.staff import staff_groups_ensure
from rewards.catalog.demo import demo_specs
from rewards.catalog.selectors import priced_picks
from rewards.catalog.services import catalog_seed
from rewards.models import Claim, DiscountCategory, Marketplace, Product, RewardGrant, Shopper
from rewards.redemption.countries import MARKETPLACE_COUNTRY
from rewards.redemption.returns import ReturnRefused, claim_return
from rewards.redemption.services import (
    ClaimRefused,
    ShippingAddress,
    grants_expire,
    reward_claim,
    shopper_sign_up,
)
from rewards.services.grants import reward_grant

User = get_user_model()
S = Campaign.Status

DEMO_EMAIL = "demo@moments.test"
DEMO_COMPANY = "Moments Demo Games"
REVIEWER_EMAIL = "demo-reviewer@moments.test"
MARKETPLACES = ("US", "UK")
MOMENTS = (
    ("LEVEL_10_COMPLETE", "Finished level 10"),
    ("FIRST_PURCHASE", "Made a first in-app purchase"),
)
CHARGES = 320  # the live campaign's GetRewards, spread over the last CHARGE_DAYS days
CHARGE_DAYS = 60
LIVE_STARTED_DAYS_AGO = 65
SEED = 20260901  # the same history every time: a fixed random sequence
DEMO_CARD = "4242 4242 4242 4242"  # a Visa test number: Luhn-valid, never charged here
RETIRED_REASON = "The demo account was reset (load_demo_account)."


@dataclass(frozen=True)
class DemoAccount:
    """What `load_demo_account` prints: how to sign in and how to call the API."""

    email: str
    password: str
    app_id: str
    api_key: str
    live_campaign_id: str
    approved_campaign_id: str
    pending_campaign_id: str
    draft_campaign_pk: int
    charges: int
    retired: int  # earlier demo accounts retired by this run
    invoices: tuple[str, ...] = ()  # numbers of the demo's invoices (last month's is the last)
    claims: int = 0  # grants claimed by the demo shoppers
    returned: int = 0  # of those, products the shoppers returned for a credit
    expired: int = 0  # grants of the finished campaign left to expire
    flagged: int = 0  # claims flagged by the fraud check, for staff to practise on


def demo_account_load(*, now: datetime | None = None) -> DemoAccount:
    """Create the demo account, retiring any earlier one (see the module docstring), in one
    transaction: a failure half-way leaves the previous demo account as it was."""
    now = now or timezone.now()
    _catalog_ensure()
    with transaction.atomic():
        reviewer = _reviewer()
        retired = demo_account_retire(actor=reviewer, now=now)
        password = secrets.token_urlsafe(12)
        membership = account_signup(
            company=DEMO_COMPANY,
            country="US",
            billing_address="410 Terry Avenue North\nSeattle, WA 98109",
            email=DEMO_EMAIL,
            password=password,
        )
        user, account = membership.user, membership.account
        payment_method_add(
            account=account,
            actor=user,
            card_number=DEMO_CARD,
            exp_month=12,
            exp_year=timezone.localdate(now).year + 3,
            cardholder_name="Demo Developer",
            billing_address=account.billing_address,
        )
        issued = app_register(
            account=account,
            actor=user,
            name="Space Miner (demo)",
            platform="android",
            store_url="https://play.google.com/store/apps/details?id=test.moments.demo",
        )
        app = issued.api_key.app
        live, charges = _live_campaign(app=app, user=user, reviewer=reviewer, now=now)
        finished = _finished_campaign(app=app, user=user, reviewer=reviewer, now=now)
        claims = _claims(campaign=live, now=now) + _claims(campaign=finished, now=now, share=3)
        expired = grants_expire(now=now)
        returned = _returns(campaign=live, now=now)
        flagged = _flagged_claim(campaign=live, now=now)
        invoices = _invoices(account=account, now=now)
        approved = _campaign(
            app=app, user=user, name="Weekend tournament", start_in_days=10, now=now
        )
        approved = campaign_submit(campaign=approved, actor=user, now=now)
        campaign_approve(campaign=approved, actor=reviewer, now=now)
        pending = _campaign(app=app, user=user, name="Holiday streak", start_in_days=21, now=now)
        campaign_submit(campaign=pending, actor=user, now=now)
        draft = campaign_draft_create(account=account, actor=user, app=app)
        campaign_duration_set(
            campaign=draft,
            actor=user,
            name="Spring puzzle week (draft)",
            start_date=timezone.localdate(now) + timedelta(days=40),
            end_date=timezone.localdate(now) + timedelta(days=47),
        )
    return DemoAccount(
        email=DEMO_EMAIL,
        password=password,
        app_id=str(app.app_id),
        api_key=issued.raw,
        live_campaign_id=str(live.campaign_id),
        approved_campaign_id=str(approved.campaign_id),
        pending_campaign_id=str(pending.campaign_id),
        draft_campaign_pk=draft.pk,
        charges=charges,
        retired=retired,
        claims=claims,
        returned=returned,
        flagged=flagged,
        expired=expired,
        invoices=invoices,
    )


def _invoices(*, account: Account, now: datetime) -> tuple[str, ...]:
    """The invoices the monthly run would have issued by now: one per month that is over, each
    on the 1st of the next month at 02:00 (as the beat task), last month's included."""
    first = (
        LedgerEntry.objects.filter(account_id=account.pk)
        .order_by("month")
        .values_list("month", flat=True)
        .first()
    )
    numbers: list[str] = []
    if first is None:
        return ()
    period, last = first, month_before(timezone.localdate(now))
    while period <= last:
        issued_at = day_start(month_after(period)) + timedelta(hours=2)
        invoice = invoice_issue_for_account(
            account_id=account.pk, period=month_start(period), now=min(issued_at, now)
        )
        if invoice is not None:
            numbers.append(invoice.number)
        period = month_after(period)
    return tuple(numbers)


def demo_account_retire(*, actor, now: datetime | None = None) -> int:
    """Retire the demo account(s) holding the demo email; the number retired.

    Nothing is deleted but drafts (they have no history): the user gives up the email and can
    no longer sign in, keys are revoked, campaigns taken down or rejected, the account renamed.
    """
    now = now or timezone.now()
    retired = 0
    for user in User.objects.filter(username__iexact=DEMO_EMAIL):
        retired_email = f"demo+retired-{user.pk}@moments.test"
        membership = Membership.objects.filter(user=user).select_related("account").first()
        if membership is not None:
            _account_retire(account=membership.account, actor=actor, now=now)
        user.username = user.email = retired_email
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["username", "email", "is_active", "password"])
        retired += 1
    return retired


def _account_retire(*, account: Account, actor, now: datetime) -> None:
    for api_key in ApiKey.objects.filter(app__account=account, revoked_at__isnull=True):
        api_key_revoke(api_key=api_key, actor=actor)
    for campaign in Campaign.objects.filter(account=account).order_by("pk"):
        try:
            if campaign.status == S.DRAFT:
                campaign_draft_delete(campaign=campaign, actor=actor)
            elif campaign.status == S.PENDING_APPROVAL:
                campaign_reject(campaign=campaign, actor=actor, reason=RETIRED_REASON, now=now)
            elif campaign.status in (S.APPROVED, S.LIVE):
                campaign_suspend(campaign=campaign, actor=actor, reason=RETIRED_REASON, now=now)
        except IllegalTransition:
            pass  # already finished: nothing to stop
    stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
    Account.objects.filter(pk=account.pk).update(name=f"{account.name} (retired demo, {stamp})")


def _reviewer():
    """The staff user who approves the demo's campaigns: a reviewer who cannot sign in (use
    `createsuperuser` for an admin login)."""
    reviewer, created = User.objects.get_or_create(
        username=REVIEWER_EMAIL, defaults={"email": REVIEWER_EMAIL, "is_staff": True}
    )
    if created:
        reviewer.set_unusable_password()
        reviewer.save(update_fields=["password"])
    group = Group.objects.filter(name="Reviewers").first()
    if group is None:  # a flushed database (transactional tests): recreate the staff groups
        group = staff_groups_ensure()["Reviewers"]
    reviewer.groups.add(group)
    return User.objects.get(pk=reviewer.pk)  # fresh: permissions are cached per instance


def _catalog_ensure() -> None:
    """The demo catalog, when the demo's marketplaces have nothing in stock yet."""
    if all(
        Product.objects.filter(marketplace_id=code, in_stock=True, is_active=True).exists()
        for code in MARKETPLACES
    ):
        return
    products, discounts = demo_specs(list(Marketplace.objects.all()))
    catalog_seed(products=products, discounts=discounts)


def _banner(title: str) -> SimpleUploadedFile:
    """A 3000 × 600 PNG banner (a two-colour band with a stripe): small, and valid."""
    image = Image.new("RGB", (3000, 600), (35, 47, 62))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 420, 3000, 600), fill=(255, 153, 0))
    draw.rectangle((120, 120, 1400, 300), fill=(250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return SimpleUploadedFile(f"{title}.png", buffer.getvalue(), content_type="image/png")


def _rewards() -> tuple[dict[str, RewardChoice], Decimal]:
    """Per marketplace the two cheapest in-stock products and the smallest catalog credit,
    and the CPA that covers them all (the highest reference price, up to a whole dollar)."""
    choices: dict[str, RewardChoice] = {}
    items: list = []
    for code in MARKETPLACES:
        products = list(
            Product.objects.filter(marketplace_id=code, in_stock=True, is_active=True)
            .select_related("marketplace")
            .order_by("price", "pk")[:2]
        )
        credit = (
            DiscountCategory.objects.filter(marketplace_id=code, is_active=True)
            .select_related("marketplace")
            .order_by("credit_amount", "pk")
            .first()
        )
        choices[code] = RewardChoice(
            products=products, discount_category=credit, quantity_limit=1000
        )
        items += products + ([credit] if credit else [])
    highest = max(pick.price.usd for pick in priced_picks(items))
    # Whole dollars, up: the demo's CPA covers every pick.
    return choices, round_money(highest, Decimal(1), rounding=ROUND_CEILING)


def _campaign(
    *, app: App, user, name: str, start_in_days: int, now: datetime, days: int = 95
) -> Campaign:
    """A complete campaign built through the seven wizard steps, starting `start_in_days`
    from `now` (negative: in the past) and running `days` days; still a draft."""
    today = timezone.localdate(now)
    rewards, cpa = _rewards()
    campaign = campaign_draft_create(account=app.account, actor=user, app=app)
    campaign_duration_set(
        campaign=campaign,
        actor=user,
        name=name,
        start_date=today + timedelta(days=start_in_days),
        end_date=today + timedelta(days=start_in_days + days),
    )
    campaign_budget_set(campaign=campaign, actor=user, total_budget=Decimal("15000"), cpa=cpa)
    campaign_marketplaces_set(
        campaign=campaign, actor=user, marketplaces=Marketplace.objects.filter(code__in=rewards)
    )
    campaign_rewards_set(campaign=campaign, actor=user, rewards=rewards, moments=list(MOMENTS))
    campaign_messages_set(
        campaign=campaign,
        actor=user,
        announcement_message=f"{name}: finish level 10 or make a first purchase and win!",
        announcement_criteria="Players who reached level 8 in the last 30 days",
        redemption_message="Congratulations! Pick your reward.",
        terms="One reward per player while supplies last. Rewards expire 30 days after the end.",
        banner=_banner(name),
    )
    campaign.refresh_from_db()
    return campaign


def _live_campaign(*, app: App, user, reviewer, now: datetime) -> tuple[Campaign, int]:
    """A campaign that went live LIVE_STARTED_DAYS_AGO days ago (submitted and approved before
    that, as a developer would have), with CHARGES GetRewards at past times across both
    moments and both marketplaces. Returns it and the number of charges."""
    today = timezone.localdate(now)
    start = today - timedelta(days=LIVE_STARTED_DAYS_AGO)
    start_at = day_start(start)
    submitted_at = start_at - timedelta(days=10, hours=-9)  # 09:00, ten days before the start
    campaign = _campaign(
        app=app,
        user=user,
        name="Level 10 launch",
        start_in_days=-LIVE_STARTED_DAYS_AGO,
        now=now,
        days=LIVE_STARTED_DAYS_AGO + 30,
    )
    campaign = campaign_submit(campaign=campaign, actor=user, now=submitted_at)
    campaign_approve(campaign=campaign, actor=reviewer, now=submitted_at + timedelta(days=2))
    # What the beat sweep did on the day: the review period was over and the start date came.
    goes_live = max(earliest_go_live(submitted_at), start_at)
    campaign_transition(
        campaign=campaign,
        to_status=S.LIVE,
        reason="The review period is over and the start date has come.",
        now=goes_live,
    )
    groups = list(RewardGroup.objects.filter(campaign=campaign).values_list("marketplace_id"))
    rng = random.Random(SEED)  # noqa: S311 - a demo history, not a secret
    first = now - timedelta(days=CHARGE_DAYS)
    moments_at = sorted(
        first + timedelta(seconds=rng.uniform(0, CHARGE_DAYS * 86400 - 60)) for _ in range(CHARGES)
    )
    charges = 0
    for at in moments_at:
        result = reward_grant(
            app=app,
            campaign_id=campaign.campaign_id,
            reward_group_id=rng.choice(groups)[0],
            moment_id=rng.choice(MOMENTS)[0],
            device_type=rng.choice(("iOS", "Android")),
            now=at,
        )
        if result is not None and not result.test_mode:
            charges += 1
    campaign.refresh_from_db()
    return campaign, charges


# --- Redemption: demo shoppers claim some grants; a finished campaign's others expired ---------

DEMO_SHOPPERS = 6
SHOPPER_DOMAIN = "shoppers.moments.test"
FINISHED_CHARGES = 12
FINISHED_ENDED_DAYS_AGO = 90  # past its 30 days of reward expiry


def _demo_shoppers() -> list[Shopper]:
    """The demo's shoppers, created once and reused by later resets (a shopper is not part of
    the developer account, and the shopper ledger is append-only)."""
    shoppers = []
    for n in range(1, DEMO_SHOPPERS + 1):
        email = f"shopper{n}@{SHOPPER_DOMAIN}"
        shopper = Shopper.objects.filter(email=email).first()
        if shopper is None:
            shopper = shopper_sign_up(email=email, password=secrets.token_urlsafe(16))
        shoppers.append(shopper)
    return shoppers


def _claims(*, campaign: Campaign, now: datetime, share: int = 2) -> int:
    """Claim one grant in `share` (oldest first) through reward_claim, a day after it was
    handed out: products shipped to demo addresses, catalog credits to balances."""
    shoppers = _demo_shoppers()
    rng = random.Random(SEED + campaign.pk)  # noqa: S311 - a demo history, not a secret
    grants = RewardGrant.objects.filter(campaign=campaign).select_related(
        "reward_group__marketplace", "reward_group__discount_category"
    )
    claimed = 0
    for index, grant in enumerate(grants.order_by("created_at", "pk")):
        if index % share:
            continue
        at = min(grant.created_at + timedelta(days=1), now)
        group = grant.reward_group
        shopper = shoppers[index % len(shoppers)]
        products = list(group.products.order_by("pk"))
        credit = group.discount_category
        try:
            if credit is not None and (not products or rng.random() < 0.4):
                reward_claim(
                    grant=grant,
                    shopper=shopper,
                    catalog_credit=credit,
                    device_id="",
                    ip=None,
                    now=at,
                )
            elif products:
                number = shoppers.index(shopper) + 1
                address = ShippingAddress(
                    name=f"Demo Shopper {number}",
                    line1=f"{number} Demo Street",
                    line2="",
                    city="Springfield",
                    postcode=f"{10000 + number}",
                    country=MARKETPLACE_COUNTRY.get(group.marketplace_id, "US"),
                )
                reward_claim(
                    grant=grant,
                    shopper=shopper,
                    product=rng.choice(products),
                    address=address,
                    device_id="",
                    ip=None,
                    now=at,
                )
            else:
                continue
        except ClaimRefused:
            continue  # e.g. expired already: the demo shows it as expired instead
        claimed += 1
    return claimed


def _flagged_claim(*, campaign: Campaign, now: datetime) -> int:
    """One claim flagged by the fraud check, for the fraud queue (staff practise on it): one
    more household shopper than FRAUD_MAX_LINKED_ACCOUNTS claims a catalog credit from one
    shared tablet, through reward_claim, an hour apart; the last is refused and flagged. The
    tablet is new on every run, so a reset's household does not link to the last one's."""
    grants = list(
        RewardGrant.objects.filter(campaign=campaign, redeemed_at__isnull=True, blocked=False)
        .exclude(reward_group__discount_category=None)
        .select_related("reward_group__discount_category")
        .order_by("-created_at", "-pk")[: settings.FRAUD_MAX_LINKED_ACCOUNTS + 1]
    )
    if len(grants) <= settings.FRAUD_MAX_LINKED_ACCOUNTS:
        return 0
    device = f"demo-shared-tablet-{secrets.token_hex(6)}"
    flagged = 0
    for n, grant in enumerate(grants, start=1):
        email = f"household{n}@{SHOPPER_DOMAIN}"
        shopper = Shopper.objects.filter(email=email).first() or shopper_sign_up(
            email=email, password=secrets.token_urlsafe(16)
        )
        at = min(max(grant.created_at, now - timedelta(hours=len(grants) - n + 1)), now)
        try:
            reward_claim(
                grant=grant,
                shopper=shopper,
                catalog_credit=grant.reward_group.discount_category,
                device_id=device,
                ip="203.0.113.50",
                now=at,
            )
        except ClaimRefused as refusal:
            flagged += refusal.code == "flagged"
    return flagged


DEMO_RETURNS = 3


def _returns(*, campaign: Campaign, now: datetime) -> int:
    """The shoppers return DEMO_RETURNS of the live campaign's shipped products (the campaign
    is still running, so returns are open) two days after claiming, through claim_return."""
    claims = (
        Claim.objects.filter(
            grant__campaign=campaign, kind=Claim.Kind.PRODUCT, status=Claim.Status.CLAIMED
        )
        .select_related("grant__campaign", "shopper")
        .order_by("created_at", "pk")[:DEMO_RETURNS]
    )
    returned = 0
    for claim in claims:
        try:
            claim_return(
                claim=claim,
                shopper=claim.shopper,
                now=min(claim.created_at + timedelta(days=2), now),
            )
        except ReturnRefused:
            continue
        returned += 1
    return returned


def _finished_campaign(*, app: App, user, reviewer, now: datetime) -> Campaign:
    """A short campaign that ended FINISHED_ENDED_DAYS_AGO days ago: its unclaimed rewards
    have expired (30 days after its end)."""
    days = 20
    start_in = -(FINISHED_ENDED_DAYS_AGO + days)
    start = timezone.localdate(now) + timedelta(days=start_in)
    start_at = day_start(start)
    submitted_at = start_at - timedelta(days=10, hours=-9)
    campaign = _campaign(
        app=app, user=user, name="Autumn sprint", start_in_days=start_in, now=now, days=days
    )
    campaign = campaign_submit(campaign=campaign, actor=user, now=submitted_at)
    campaign_approve(campaign=campaign, actor=reviewer, now=submitted_at + timedelta(days=2))
    campaign_transition(
        campaign=campaign,
        to_status=S.LIVE,
        reason="The review period is over and the start date has come.",
        now=max(earliest_go_live(submitted_at), start_at),
    )
    campaign.refresh_from_db()
    groups = list(RewardGroup.objects.filter(campaign=campaign).values_list("marketplace_id"))
    rng = random.Random(SEED + 1)  # noqa: S311
    for n in range(FINISHED_CHARGES):
        reward_grant(
            app=app,
            campaign_id=campaign.campaign_id,
            reward_group_id=groups[n % len(groups)][0],
            moment_id=rng.choice(MOMENTS)[0],
            device_type=rng.choice(("iOS", "Android")),
            now=start_at + timedelta(days=1 + n, hours=rng.uniform(0, 12)),
        )
    campaign_transition(
        campaign=campaign,
        to_status=S.FINISHED,
        reason="The end date has passed.",
        now=campaign.ends_at,
    )
    campaign.refresh_from_db()
    return campaign
