"""The seven-step campaign wizard (SPEC §5).

A plain view per step rather than django-formtools: formtools keeps the steps' data in the
session and writes once in `done()`, while here every step is saved to the database as the
developer goes (the draft survives logging out and resumes from the list), each step has its own
URL per campaign, and step 5 is a form per chosen marketplace plus a formset of moments.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from billing.selectors import payment_method_on_file
from console.decorators import account_required
from console.money import format_money, plain_amount, round_money
from console.selectors import get_for_account
from rewards.catalog.pricing import suggested_cpa, usd_rates
from rewards.catalog.selectors import (
    MarketplaceCatalog,
    PricedItem,
    catalog_price_range,
    marketplace_list,
    priced_picks,
    wizard_catalog,
)

from ..forms import (
    AppForm,
    BudgetForm,
    DurationForm,
    MarketplaceForm,
    MessagesForm,
    MomentFormSet,
    RewardGroupForm,
    default_terms,
)
from ..models import Campaign, RewardGroup
from ..selectors import budget_actions, campaign_summary, group_picks, reward_groups_with_picks
from ..services.lifecycle import EDITABLE_STATUSES, IllegalTransition, go_live_day
from ..services.wizard import (
    RewardChoice,
    campaign_app_set,
    campaign_budget_set,
    campaign_draft_create,
    campaign_duration_set,
    campaign_marketplaces_set,
    campaign_messages_set,
    campaign_problems,
    campaign_rewards_set,
    campaign_submit,
    cpa_covers,
    cpa_shortfalls,
    go_live_if_submitted,
    withdrawn_picks,
)

STEPS = [
    (1, "App"),
    (2, "Name & duration"),
    (3, "Budget & CPA"),
    (4, "Marketplaces"),
    (5, "Rewards & moments"),
    (6, "Messages & banner"),
    (7, "Review & submit"),
]


def step_url(campaign: Campaign, step: int) -> str:
    return reverse("campaigns:wizard_step", args=[campaign.campaign_id, step])


def _render(request, template: str, campaign: Campaign | None, step: int, **context):
    reached = campaign.wizard_step if campaign else 1
    context.update(
        campaign=campaign,
        step=step,
        step_title=dict(STEPS)[step],
        steps=[
            {
                "number": number,
                "title": title,
                "url": step_url(campaign, number) if campaign and number <= reached else None,
                "done": number < reached and number != step,
            }
            for number, title in STEPS
        ],
        back_url=(
            step_url(campaign, step - 1) if campaign and step > 1 else reverse("campaigns:list")
        ),
        nav_section="campaigns",
    )
    return render(request, f"campaigns/wizard/{template}", context)


def _not_editable(request, campaign: Campaign):
    messages.error(
        request,
        f"“{campaign.name}” was submitted and can no longer be edited (it is "
        f"{campaign.get_status_display()}). To change it, create a new campaign.",
    )
    return redirect("campaigns:detail", campaign_id=campaign.campaign_id)


def _post(request):
    # Bound on every POST, even an empty one (no checkbox ticked), so it shows its errors.
    return request.POST if request.method == "POST" else None


def _files(request):
    return request.FILES if request.method == "POST" else None


def _next(campaign: Campaign, step: int):
    return redirect(step_url(campaign, step + 1))


@never_cache
@account_required
@require_http_methods(["GET", "POST"])
def wizard_new(request):
    """Step 1 of a new campaign: choosing the app creates the draft."""
    form = AppForm(_post(request), account=request.account)
    if request.method == "POST" and form.is_valid():
        campaign = campaign_draft_create(
            account=request.account, actor=request.user, app=form.cleaned_data["app"]
        )
        messages.success(request, "Draft saved. You can leave and resume it from Campaigns.")
        return _next(campaign, 1)
    return _render(
        request, "step_app.html", None, 1, form=form, has_apps=form.fields["app"].queryset.exists()
    )


@account_required
def wizard_resume(request, campaign_id):
    """Back to the step where the draft was left."""
    campaign = get_for_account(Campaign.objects.all(), request, campaign_id=campaign_id)
    if campaign.status not in EDITABLE_STATUSES:
        return _not_editable(request, campaign)
    return redirect(step_url(campaign, campaign.wizard_step))


@never_cache
@account_required
@require_http_methods(["GET", "POST"])
def wizard_step(request, campaign_id, step: int):
    campaign = get_for_account(
        Campaign.objects.select_related("app", "account"), request, campaign_id=campaign_id
    )
    handler = HANDLERS.get(step)
    if handler is None:
        raise Http404("No such step.")
    if campaign.status not in EDITABLE_STATUSES:
        return _not_editable(request, campaign)
    if step > campaign.wizard_step:
        messages.info(request, f"Finish step {campaign.wizard_step} first.")
        return redirect(step_url(campaign, campaign.wizard_step))
    try:
        return handler(request, campaign)
    except IllegalTransition:
        # Submitted from another tab while this step was open.
        campaign.refresh_from_db()
        return _not_editable(request, campaign)


def _step_app(request, campaign: Campaign):
    form = AppForm(_post(request), account=request.account, initial={"app": campaign.app})
    if request.method == "POST" and form.is_valid():
        campaign_app_set(campaign=campaign, actor=request.user, app=form.cleaned_data["app"])
        return _next(campaign, 1)
    return _render(request, "step_app.html", campaign, 1, form=form, has_apps=True)


def _step_duration(request, campaign: Campaign):
    # Until step 2 is saved the draft carries a placeholder name: don't offer it as the name.
    initial = {"start_date": campaign.start_date, "end_date": campaign.end_date}
    if campaign.wizard_step > 2 or campaign.status != Campaign.Status.DRAFT:
        initial["name"] = campaign.name
    form = DurationForm(_post(request), campaign=campaign, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            campaign_duration_set(campaign=campaign, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _next(campaign, 2)
    return _render(
        request,
        "step_duration.html",
        campaign,
        2,
        form=form,
        earliest_go_live=go_live_if_submitted(),
        review_days=settings.REVIEW_PERIOD_DAYS,
    )


def _saved_picks(campaign: Campaign) -> tuple[list[PricedItem], list[RewardGroup]]:
    """The rewards picked in step 5 so far, priced, and the campaign's reward groups (one
    per marketplace chosen in step 4)."""
    groups = reward_groups_with_picks(campaign)
    rates = usd_rates() if groups else {}
    return [pick for group in groups for pick in group_picks(group, rates)], groups


def _step_budget(request, campaign: Campaign):
    # Stored with 4 places; shown as entered (a budget in cents, a CPA with the places it
    # has), so going back and pressing Next without retyping is not refused for "too many
    # decimal places", and a CPA of $0.125 stays 0.125 rather than becoming 0.13.
    initial = {
        "total_budget": (
            None if campaign.total_budget is None else round_money(campaign.total_budget)
        ),
        "cpa": plain_amount(campaign.cpa) or None,
    }
    form = BudgetForm(_post(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        campaign = campaign_budget_set(campaign=campaign, actor=request.user, **form.cleaned_data)
        # The step-5 picks are kept whatever the CPA; those it no longer covers are said here,
        # flagged in step 5 and block the submission until the CPA or the pick changes.
        picks, _ = _saved_picks(campaign)
        shortfalls = cpa_shortfalls(campaign.cpa, picks)
        if shortfalls:
            messages.warning(
                request,
                "Your rewards and moments are kept. The new CPA does not cover every reward "
                "picked in step 5: " + " ".join(shortfalls),
            )
        return _next(campaign, 3)
    picks, groups = _saved_picks(campaign)
    # Before step 4 the campaign has no marketplace: show what a CPA covers in all of them.
    marketplaces = [g.marketplace for g in groups] or marketplace_list()
    return _render(
        request,
        "step_budget.html",
        campaign,
        3,
        form=form,
        actions=budget_actions(campaign.total_budget, campaign.cpa),
        campaign_cap=settings.CAMPAIGN_MONTHLY_CAP,
        account_cap=campaign.account.monthly_spend_limit,
        price_range=catalog_price_range(marketplaces),
        all_marketplaces=not groups,
        chosen_marketplaces=[g.marketplace for g in groups],
        picks_cpa=suggested_cpa([p.price for p in picks]),
        shortfalls=cpa_shortfalls(campaign.cpa, picks),
    )


def _step_marketplaces(request, campaign: Campaign):
    chosen = list(campaign.reward_groups.values_list("marketplace_id", flat=True))
    form = MarketplaceForm(_post(request), initial={"marketplaces": chosen})
    if request.method == "POST" and form.is_valid():
        kept = {m.code for m in form.cleaned_data["marketplaces"]}
        # A marketplace unchecked takes its step-5 picks with it: say so, never silently.
        dropped = [
            group.marketplace.name
            for group in reward_groups_with_picks(campaign)
            if group.marketplace_id not in kept
            and (group.discount_category_id or group.products.all())
        ]
        campaign_marketplaces_set(
            campaign=campaign, actor=request.user, marketplaces=form.cleaned_data["marketplaces"]
        )
        if dropped:
            messages.info(
                request,
                f"The rewards picked for {', '.join(dropped)} were removed with "
                f"{'that marketplace' if len(dropped) == 1 else 'those marketplaces'}.",
            )
        return _next(campaign, 4)
    return _render(request, "step_marketplaces.html", campaign, 4, form=form)


@dataclass
class PickRow:
    priced: PricedItem
    checked: bool
    input_id: str
    # Why a saved pick needs the developer's eye: the CPA no longer covers it, or the catalog
    # no longer offers it. Shown, never acted on silently.
    flags: list[str]


@dataclass
class GroupBlock:
    form: RewardGroupForm
    catalog: MarketplaceCatalog
    products: list[PickRow]
    discounts: list[PickRow]


def _flags(priced: PricedItem, cpa) -> list[str]:
    flags: list[str] = []
    if not cpa_covers(cpa, priced):
        flags.append(f"Not covered by your CPA ({format_money(cpa)})")
    if not priced.item.is_active:
        flags.append("Withdrawn from the catalog: uncheck it")
    elif getattr(priced.item, "in_stock", True) is False:
        flags.append("Out of stock: shoppers who choose it get an equal or similar item")
    return flags


def _group_block(form: RewardGroupForm) -> GroupBlock:
    picked = {str(v) for v in (form["products"].value() or [])}
    discount = str(form["discount_category"].value() or "")
    code = form.marketplace.code
    return GroupBlock(
        form=form,
        catalog=form.catalog,
        products=[
            PickRow(p, str(p.pk) in picked, f"id_{code}-products-{p.pk}", _flags(p, form.cpa))
            for p in form.catalog.products
        ],
        discounts=[
            PickRow(d, str(d.pk) == discount, f"id_{code}-discount-{d.pk}", _flags(d, form.cpa))
            for d in form.catalog.discount_categories
        ],
    )


def _with_saved_picks(catalog: MarketplaceCatalog, group: RewardGroup, rates) -> None:
    """Add to the catalog the group's saved picks it no longer offers (out of stock or
    withdrawn), so they stay on the page, checked and flagged, instead of vanishing from the
    group the next time the step is saved."""
    offered_products = {p.pk for p in catalog.products}
    missing = [p for p in group.products.all() if p.pk not in offered_products]
    catalog.products.extend(priced_picks(missing, rates))
    discount = group.discount_category
    if discount is not None and catalog.discount_category(discount.pk) is None:
        catalog.discount_categories.extend(priced_picks([discount], rates))


def _step_rewards(request, campaign: Campaign):
    groups = reward_groups_with_picks(campaign)
    catalogs = wizard_catalog([g.marketplace for g in groups])
    rates = usd_rates() if groups else {}
    for group in groups:
        _with_saved_picks(catalogs[group.marketplace_id], group, rates)
    data = _post(request)
    forms_ = [
        RewardGroupForm(
            data,
            catalog=catalogs[group.marketplace_id],
            cpa=campaign.cpa,
            initial={
                "products": [p.pk for p in group.products.all()],
                "discount_category": group.discount_category_id,
                "quantity_limit": group.quantity_limit,
            },
        )
        for group in groups
    ]
    moments = MomentFormSet(
        data,
        prefix="moments",
        initial=[{"moment_id": m.moment_id, "action": m.action} for m in campaign.moments.all()],
    )
    if request.method == "POST":
        valid = all([form.is_valid() for form in forms_]) and moments.is_valid()
        if valid:
            campaign_rewards_set(
                campaign=campaign,
                actor=request.user,
                rewards={
                    form.marketplace.code: RewardChoice(
                        products=form.cleaned_data["product_items"],
                        discount_category=form.cleaned_data["discount_item"],
                        quantity_limit=form.cleaned_data["quantity_limit"],
                    )
                    for form in forms_
                },
                moments=moments.moments(),
            )
            return _next(campaign, 5)
    summary = campaign_summary(campaign)
    saved = [pick for group in summary.groups for pick in group.picks]
    return _render(
        request,
        "step_rewards.html",
        campaign,
        5,
        blocks=[_group_block(form) for form in forms_],
        moments=moments,
        summary=summary,
        # What needs changing among the saved picks, said before the developer presses Next.
        saved_problems=(
            cpa_shortfalls(campaign.cpa, saved) + withdrawn_picks(saved)
            if request.method == "GET"
            else []
        ),
    )


def _step_messages(request, campaign: Campaign):
    initial = {
        "announcement_message": campaign.announcement_message,
        "announcement_criteria": campaign.announcement_criteria,
        "redemption_message": campaign.redemption_message,
        "terms": campaign.terms or default_terms(campaign),
    }
    form = MessagesForm(_post(request), _files(request), campaign=campaign, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            campaign_messages_set(campaign=campaign, actor=request.user, **data)
        except ValidationError as exc:
            form.add_error("banner", exc)
        else:
            if data["banner"] is not None:
                messages.success(request, "Banner accepted: 3000 × 600 pixels.")
            return _next(campaign, 6)
    return _render(request, "step_messages.html", campaign, 6, form=form)


def _step_review(request, campaign: Campaign):
    if request.method == "POST":
        try:
            submitted = campaign_submit(campaign=campaign, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            go_live = go_live_day(
                submitted_at=submitted.submitted_at, start_date=submitted.start_date
            )
            messages.success(
                request,
                f"“{submitted.name}” is submitted for review. Once approved, it goes live on "
                f"{go_live:%B %-d, %Y}.",
            )
            return redirect("campaigns:detail", campaign_id=campaign.campaign_id)
    review_url = step_url(campaign, 7)
    return _render(
        request,
        "step_review.html",
        campaign,
        7,
        summary=campaign_summary(campaign),
        problems=campaign_problems(campaign),
        has_payment_method=payment_method_on_file(campaign.account),
        review_url=review_url,
        go_live=go_live_if_submitted(campaign),
    )


HANDLERS = {
    1: _step_app,
    2: _step_duration,
    3: _step_budget,
    4: _step_marketplaces,
    5: _step_rewards,
    6: _step_messages,
    7: _step_review,
}
