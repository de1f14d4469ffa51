"""Writes of the campaign wizard (SPEC §5): create a draft, save each step to the database, delete
a draft, and submit a complete campaign for review.

Every write locks the campaign row and re-checks that it is still editable (draft or rejected)
in the same transaction, so a step saved in one tab while another tab submits cannot change a
campaign that is already under review.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from console.activity import activity_record, activity_record_session
from console.hooks import PAYMENT_METHOD_ON_FILE, hook_call
from console.money import format_money
from rewards.catalog.models import DiscountCategory, Marketplace, Product
from rewards.catalog.pricing import usd_rates
from rewards.catalog.selectors import PricedItem

from ..banner import banner_validate
from ..models import Campaign, Moment, RewardGroup
from ..selectors import group_picks, reward_groups_with_picks
from .lifecycle import (
    campaign_check_editable,
    campaign_transition,
    go_live_day,
    reward_expiry_date,
)

S = Campaign.Status
LAST_STEP = 7
MAX_PRODUCTS = 5
DUPLICATE_NAME = "You already have a campaign named “{name}”. Pick another name."


@dataclass(frozen=True)
class Problem:
    """Something that keeps a draft from being submitted, and the step that fixes it."""

    step: int
    message: str


@dataclass(frozen=True)
class RewardChoice:
    """What the developer picked for one marketplace in step 5."""

    products: list[Product]
    discount_category: DiscountCategory | None
    quantity_limit: int | None


def placeholder_name() -> str:
    """A draft's name until step 2: unique, because names are unique within an account."""
    return f"Untitled campaign {uuid.uuid4().hex[:8]}"


def default_terms(campaign: Campaign) -> str:
    """The terms a campaign starts with: its end date, the rewards' expiry (30 days after it),
    "while supplies last" and "equal or similar value item"."""
    if campaign.end_date is None:
        return ""
    end = campaign.end_date
    expiry = reward_expiry_date(end)
    return (
        f"Offer ends {end:%B} {end.day}, {end.year}, or while supplies last. "
        f"Rewards must be claimed by {expiry:%B} {expiry.day}, {expiry.year}, when unclaimed "
        "rewards expire. If a chosen reward is unavailable, an equal or similar value item may "
        "be provided instead. One reward per eligible customer; rewards cannot be exchanged "
        "for cash."
    )


def _terms_for_new_dates(campaign: Campaign, old_terms_default: str) -> str:
    """The campaign's terms after its dates changed: the pre-filled terms follow the new end
    date (they state it, and the expiry); terms the developer wrote themselves are kept."""
    if campaign.terms and campaign.terms == old_terms_default:
        return default_terms(campaign)
    return campaign.terms


def _locked(campaign: Campaign) -> Campaign:
    """The campaign's row, locked for this transaction; refused unless still editable."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign_check_editable(locked)
    return locked


STEP_NAMES = {
    1: "app",
    2: "name and duration",
    3: "budget and CPA",
    4: "marketplaces",
    5: "rewards and moments",
    6: "messages and banner",
}


# Steps saved by the same person within this time of each other are one session of editing:
# one row in the activity log, not one per step (issue 19).
EDIT_SESSION = timedelta(minutes=30)


def _step_saved(campaign: Campaign, actor, step: int, **data) -> None:
    """The audit row of a saved wizard step (in the step's transaction, the campaign's row
    locked): which step, and its values a reader needs. Consecutive steps of one person's
    session update one row, which lists the steps saved. Bumps the campaign's version: a review
    page of an earlier version is stale (campaigns.services.review)."""
    Campaign.objects.filter(pk=campaign.pk).update(version=F("version") + 1)
    activity_record_session(
        actor=actor,
        account=campaign.account_id,
        action="campaign.updated",
        target=campaign,
        data={"step": step, "step_name": STEP_NAMES[step], **data},
        gather="step",
        within=EDIT_SESSION,
    )


def _advance(campaign: Campaign, step: int) -> None:
    # wizard_step is the step to resume at: the furthest step reached, never moved back.
    campaign.wizard_step = max(campaign.wizard_step, min(step + 1, LAST_STEP))


def campaign_draft_create(*, account, actor, app) -> Campaign:
    """Step 1 of a new campaign: a draft of `app` (an app of `account`), saved at once so it can
    be resumed from the campaign list."""
    if app.account_id != account.pk:
        raise ValidationError({"app": "Choose one of your apps."})
    with transaction.atomic():
        campaign = Campaign.objects.create(
            account=account,
            app=app,
            name=placeholder_name(),
            created_by=actor,
            wizard_step=2,
        )
        activity_record(actor=actor, account=account, action="campaign.created", target=campaign)
    return campaign


def campaign_app_set(*, campaign: Campaign, actor, app) -> Campaign:
    """Step 1 of an existing draft: change its app."""
    if app.account_id != campaign.account_id:
        raise ValidationError({"app": "Choose one of your apps."})
    with transaction.atomic():
        locked = _locked(campaign)
        locked.app = app
        _advance(locked, 1)
        locked.save(update_fields=["app", "wizard_step", "updated_at"])
        _step_saved(locked, actor, 1, app=app.name)
    return locked


def campaign_duration_set(
    *, campaign: Campaign, actor, name: str, start_date: date, end_date: date
) -> Campaign:
    """Step 2: name and duration. The form has checked the rules; the database's unique
    constraint settles a race between two tabs choosing the same name."""
    try:
        with transaction.atomic():
            locked = _locked(campaign)
            old_terms_default = default_terms(locked)
            locked.name, locked.start_date, locked.end_date = name, start_date, end_date
            locked.terms = _terms_for_new_dates(locked, old_terms_default)
            _advance(locked, 2)
            locked.save(
                update_fields=[
                    "name",
                    "start_date",
                    "end_date",
                    "terms",
                    "wizard_step",
                    "updated_at",
                ]
            )
            _step_saved(locked, actor, 2, start_date=start_date, end_date=end_date)
    except IntegrityError as exc:
        raise ValidationError({"name": DUPLICATE_NAME.format(name=name)}) from exc
    return locked


def campaign_budget_set(
    *, campaign: Campaign, actor, total_budget: Decimal, cpa: Decimal
) -> Campaign:
    """Step 3: total budget and cost per action (the database refuses < $50 or CPA > budget)."""
    with transaction.atomic():
        locked = _locked(campaign)
        locked.total_budget, locked.cpa = total_budget, cpa
        _advance(locked, 3)
        locked.save(update_fields=["total_budget", "cpa", "wizard_step", "updated_at"])
        _step_saved(locked, actor, 3, total_budget=total_budget, cpa=cpa)
    return locked


def campaign_marketplaces_set(
    *, campaign: Campaign, actor, marketplaces: Iterable[Marketplace]
) -> Campaign:
    """Step 4: one reward group per chosen marketplace. Groups of marketplaces no longer chosen
    are deleted with their picks; the others keep theirs."""
    codes = {m.code for m in marketplaces}
    if not codes:
        raise ValidationError({"marketplaces": "Choose at least one marketplace."})
    with transaction.atomic():
        locked = _locked(campaign)
        RewardGroup.objects.filter(campaign=locked).exclude(marketplace_id__in=codes).delete()
        existing = set(
            RewardGroup.objects.filter(campaign=locked).values_list("marketplace_id", flat=True)
        )
        RewardGroup.objects.bulk_create(
            [RewardGroup(campaign=locked, marketplace_id=code) for code in sorted(codes - existing)]
        )
        _advance(locked, 4)
        locked.save(update_fields=["wizard_step", "updated_at"])
        _step_saved(locked, actor, 4, marketplaces=sorted(codes))
    return locked


def campaign_rewards_set(
    *,
    campaign: Campaign,
    actor,
    rewards: dict[str, RewardChoice],
    moments: list[tuple[str, str]],
) -> Campaign:
    """Step 5: the picks of each marketplace's reward group and the campaign's moments
    (moment id, action). Moments are matched by id, so an unchanged moment keeps its row."""
    with transaction.atomic():
        locked = _locked(campaign)
        groups = {g.marketplace_id: g for g in RewardGroup.objects.filter(campaign=locked)}
        for code, choice in rewards.items():
            group = groups.get(code)
            if group is None:
                raise ValidationError(f"{code} is not one of this campaign's marketplaces.")
            group.discount_category = choice.discount_category
            group.quantity_limit = choice.quantity_limit
            group.save(update_fields=["discount_category", "quantity_limit"])
            group.products.set(choice.products)
        wanted = dict(moments)
        Moment.objects.filter(campaign=locked).exclude(moment_id__in=wanted).delete()
        current = {m.moment_id: m for m in Moment.objects.filter(campaign=locked)}
        for moment_id, action in moments:
            moment = current.get(moment_id)
            if moment is None:
                Moment.objects.create(campaign=locked, moment_id=moment_id, action=action)
            elif moment.action != action:
                moment.action = action
                moment.save(update_fields=["action"])
        _advance(locked, 5)
        locked.save(update_fields=["wizard_step", "updated_at"])
        _step_saved(locked, actor, 5, marketplaces=sorted(rewards), moments=list(wanted))
    return locked


def campaign_messages_set(
    *,
    campaign: Campaign,
    actor,
    announcement_message: str,
    announcement_criteria: str,
    redemption_message: str,
    terms: str,
    banner: UploadedFile | None = None,
) -> Campaign:
    """Step 6: the messages, the terms and (when one is uploaded) a new banner, validated again
    here so no caller can store an unchecked file. The replaced banner file is removed once
    the new one is committed."""
    if banner is not None:
        checked = banner_validate(banner)
    old_file = None
    with transaction.atomic():
        locked = _locked(campaign)
        locked.announcement_message = announcement_message
        locked.announcement_criteria = announcement_criteria
        locked.redemption_message = redemption_message
        locked.terms = terms
        fields = [
            "announcement_message",
            "announcement_criteria",
            "redemption_message",
            "terms",
            "wizard_step",
            "updated_at",
        ]
        if banner is not None:
            old_file = locked.banner.name or None
            # Our own name, never the uploaded one; the extension follows the decoded format.
            name = f"{locked.campaign_id.hex}-{uuid.uuid4().hex[:8]}.{checked.extension}"
            locked.banner.save(name, banner, save=False)
            fields.append("banner")
        _advance(locked, 6)
        locked.save(update_fields=fields)
        _step_saved(locked, actor, 6, banner_replaced=banner is not None)
        if old_file:
            storage = locked.banner.storage
            transaction.on_commit(lambda: storage.delete(old_file))
    return locked


def campaign_draft_delete(*, campaign: Campaign, actor) -> None:
    """Delete a draft (never a submitted or rejected campaign: those have a history)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != S.DRAFT:
            raise ValidationError(
                f"Only a draft can be deleted; “{locked.name}” is {S(locked.status).label}."
            )
        banner = locked.banner.name or None
        storage = locked.banner.storage
        # Before the delete: the row names the campaign after it is gone (its pk kept).
        activity_record(
            actor=actor, account=locked.account_id, action="campaign.deleted", target=locked
        )
        locked.delete()
        if banner:
            transaction.on_commit(lambda: storage.delete(banner))


# --- Duplicating a campaign ---------------------------------------------------------------------

NAME_MAX_LENGTH = Campaign._meta.get_field("name").max_length
COPY_NAME_ATTEMPTS = 20


def copy_name_candidates(name: str):
    """The names a copy tries: "<name> (copy)", then "<name> (copy 2)", "(copy 3)"…, each
    cut to fit the name column."""
    number = 1
    while True:
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        yield name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix
        number += 1


def _copy_name(campaign: Campaign) -> str:
    """The first free copy name in the account (names are unique whatever their case)."""
    taken = {
        n.lower()
        for n in Campaign.objects.filter(
            account_id=campaign.account_id, name__icontains="(copy"
        ).values_list("name", flat=True)
    }
    return next(c for c in copy_name_candidates(campaign.name) if c.lower() not in taken)


def _copy_dates(campaign: Campaign, today: date) -> tuple[date | None, date | None]:
    """The original's dates, moved (keeping the duration) so the copy does not start in the
    past; none when the original has none yet."""
    start, end = campaign.start_date, campaign.end_date
    if start is None or end is None:
        return None, None
    if start < today:
        shift = today - start
        start, end = start + shift, end + shift
    return start, end


def _banner_copy(campaign: Campaign) -> bytes | None:
    """The original's banner bytes (already checked when it was uploaded), or None when it has
    none or its file is gone from storage."""
    if not campaign.banner:
        return None
    try:
        with campaign.banner.storage.open(campaign.banner.name, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def campaign_duplicate(*, campaign: Campaign, actor, today: date | None = None) -> Campaign:
    """A new draft in the campaign's account with everything of `campaign` (any status): app,
    budget, CPA, marketplaces with their picks and quantity limits, moments, messages, terms
    and banner. Submitted campaigns cannot be edited (SPEC §6: a change means a new campaign),
    so this is how a developer changes one.

    The copy is named "<name> (copy)" (or "(copy 2)"… when taken), its dates keep their length
    but start today at the earliest, nothing of the original's history (spend, grants, review)
    is carried over, and the banner file is copied under the new campaign's own name, so
    replacing or deleting either campaign's banner never touches the other's.
    """
    today = today or timezone.localdate()
    source = Campaign.objects.select_related("app").get(pk=campaign.pk)
    groups = reward_groups_with_picks(source)
    moments = list(source.moments.order_by("pk"))
    start, end = _copy_dates(source, today)
    # A draft still at steps 1-2 carries a placeholder name: the copy gets its own placeholder.
    named = source.wizard_step > 2 or source.status != S.DRAFT
    banner = _banner_copy(source)
    storage = source.banner.storage
    for attempt in range(1, COPY_NAME_ATTEMPTS + 1):
        name = _copy_name(source) if named else placeholder_name()
        saved_banner: str | None = None
        try:
            with transaction.atomic():
                copy = Campaign.objects.create(
                    account_id=source.account_id,
                    app=source.app,
                    name=name,
                    created_by=actor,
                    wizard_step=source.wizard_step,
                    start_date=start,
                    end_date=end,
                    total_budget=source.total_budget,
                    cpa=source.cpa,
                    announcement_message=source.announcement_message,
                    announcement_criteria=source.announcement_criteria,
                    redemption_message=source.redemption_message,
                    terms=source.terms,
                )
                if (copy.start_date, copy.end_date) != (source.start_date, source.end_date):
                    copy.terms = _terms_for_new_dates(copy, default_terms(source))
                    copy.save(update_fields=["terms"])
                if banner is not None:
                    extension = source.banner.name.rsplit(".", 1)[-1].lower()
                    file_name = f"{copy.campaign_id.hex}-{uuid.uuid4().hex[:8]}.{extension}"
                    copy.banner.save(file_name, ContentFile(banner), save=False)
                    saved_banner = copy.banner.name
                    copy.save(update_fields=["banner"])
                _copy_rewards(groups, moments, copy)
                activity_record(
                    actor=actor,
                    account=copy.account_id,
                    action="campaign.duplicated",
                    target=copy,
                    data={
                        "source_campaign_id": str(source.campaign_id),
                        "source_name": source.name,
                        "source_status": source.status,
                        "banner_copied": banner is not None,
                    },
                )
            return copy
        except IntegrityError:
            # Another copy took the same name between our read and our insert: try the next.
            if saved_banner:
                storage.delete(saved_banner)
            if attempt == COPY_NAME_ATTEMPTS:
                raise
        except BaseException:
            if saved_banner:
                storage.delete(saved_banner)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _copy_rewards(groups: list[RewardGroup], moments: list[Moment], copy: Campaign) -> None:
    """The reward groups (picks and quantity limits, nothing granted yet) and the moments of
    the original, created for `copy` in a few bulk statements."""
    new_groups = RewardGroup.objects.bulk_create(
        [
            RewardGroup(
                campaign=copy,
                marketplace_id=group.marketplace_id,
                discount_category_id=group.discount_category_id,
                quantity_limit=group.quantity_limit,
            )
            for group in groups
        ]
    )
    Pick = RewardGroup.products.through
    Pick.objects.bulk_create(
        [
            Pick(rewardgroup_id=new.pk, product_id=product.pk)
            for group, new in zip(groups, new_groups, strict=True)
            for product in group.products.all()
        ]
    )
    Moment.objects.bulk_create(
        [Moment(campaign=copy, moment_id=m.moment_id, action=m.action) for m in moments]
    )


# --- Checking a whole campaign -----------------------------------------------------------------


def go_live_if_submitted(campaign: Campaign | None = None) -> date:
    """The day `campaign` goes live if it is submitted now and approved: the later of the
    review period's end and its start date, by the lifecycle's own rule (`go_live_day`), so
    the wizard cannot promise a day the beat sweep will not keep. Without a campaign or a
    start date yet (step 2), the review period's end: the earliest day any campaign can."""
    start_date = campaign.start_date if campaign is not None else None
    return go_live_day(submitted_at=timezone.now(), start_date=start_date)


def cpa_covers(cpa: Decimal | None, pick: PricedItem) -> bool:
    """Whether the CPA covers the reward's reference price in USD (SPEC §4); with no CPA set
    yet there is nothing to compare, so nothing is flagged."""
    return cpa is None or pick.price.usd <= cpa


def cpa_shortfalls(cpa: Decimal | None, picks: Iterable[PricedItem]) -> list[str]:
    """A message for each picked reward whose reference price (USD) the CPA does not cover."""
    return [
        f"The CPA ({format_money(cpa)}) does not cover {pick.label}: its reference price is "
        f"{format_money(pick.price.usd)}{_in_local_currency(pick)}. Raise the CPA to at least "
        f"{format_money(pick.price.usd)} in step 3 or pick another reward."
        for pick in picks
        if not cpa_covers(cpa, pick)
    ]


def _in_local_currency(pick: PricedItem) -> str:
    """The local price in parentheses, " (€23.80)", when the reward is not priced in USD."""
    if pick.price.currency == "USD":
        return ""
    return f" ({format_money(pick.price.local, pick.price.currency)})"


def withdrawn_picks(picks: Iterable[PricedItem]) -> list[str]:
    """A message for each picked reward staff have withdrawn from the catalog since it was
    picked: shoppers are never offered it, so it must be unchecked. (An out-of-stock product
    may stay: shoppers who choose it get an equal or similar item.)"""
    return [
        f"{pick.label} was withdrawn from the {pick.item.marketplace.name} catalog and is no "
        "longer offered to shoppers: uncheck it in step 5."
        for pick in picks
        if not pick.item.is_active
    ]


def campaign_problems(campaign: Campaign, *, today: date | None = None) -> list[Problem]:
    """Everything that keeps the campaign from being submitted, with the step that fixes it;
    an empty list means complete. The same rules as the steps' forms, checked again together
    because a later change (a lower CPA in step 3) can break an earlier pick."""
    today = today or timezone.localdate()
    problems: list[Problem] = []
    if campaign.wizard_step <= 2 or not campaign.start_date or not campaign.end_date:
        problems.append(Problem(2, "Give the campaign a name, a start date and an end date."))
    else:
        if campaign.start_date < today:
            problems.append(Problem(2, "The start date is in the past; choose today or later."))
        if campaign.end_date <= campaign.start_date:
            problems.append(Problem(2, "The end date must be after the start date."))
    if campaign.total_budget is None or campaign.cpa is None:
        problems.append(Problem(3, "Set the total budget and the cost per action."))
    groups = reward_groups_with_picks(campaign)
    if not groups:
        problems.append(Problem(4, "Choose at least one marketplace."))
    rates = usd_rates() if groups else {}
    for group in groups:
        picks = group_picks(group, rates)
        if not picks:
            problems.append(Problem(5, f"Pick at least one reward for {group.marketplace.name}."))
        problems += [Problem(5, message) for message in cpa_shortfalls(campaign.cpa, picks)]
        problems += [Problem(5, message) for message in withdrawn_picks(picks)]
    if not campaign.moments.exists():
        problems.append(Problem(5, "Add at least one moment."))
    if not (campaign.announcement_message and campaign.redemption_message and campaign.terms):
        problems.append(
            Problem(6, "Write the announcement message, the redemption message and the terms.")
        )
    if not campaign.banner:
        problems.append(Problem(6, "Upload the 3000 × 600 banner."))
    return problems


def campaign_submit(*, campaign: Campaign, actor, now: datetime | None = None) -> Campaign:
    """Submit a complete draft (or a rejected campaign, edited) for review: it moves to
    pending approval and `submitted_at` starts the seven-day review period. Needs a payment
    method on file. The row stays locked from the check to the move, so no step can be saved
    in between. `now` (default: the current time) is for the demo account, whose history
    starts in the past."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(campaign)
        problems = campaign_problems(locked, today=timezone.localdate(now))
        if problems:
            raise ValidationError([p.message for p in problems])
        if not hook_call(PAYMENT_METHOD_ON_FILE, locked.account):  # billing is a layer above
            raise ValidationError(
                "Add a payment method before submitting: a campaign needs a card on file "
                "(or invoice terms) to be charged.",
                code="no_payment_method",
            )
        # The move also opens the round of review, with a snapshot of what was submitted.
        return campaign_transition(
            campaign=locked, to_status=S.PENDING_APPROVAL, actor=actor, now=now
        )
