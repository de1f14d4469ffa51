"""The shopper's pages (SPEC §8): the reward page, the claim, its confirmation, test mode,
shopper accounts and "My rewards". Thin: reads through selectors, writes through services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns.models import Campaign
from campaigns.services.lifecycle import REVIEW_PERMISSION, effective_status
from console import throttle
from rewards.models import DiscountCategory, Product

from . import selectors, services
from .delivery import delivery_estimate, support_contact
from .device import device_id_of
from .errors import shopper_page
from .forms import (
    AddressForm,
    DeleteAccountForm,
    ResetRequestForm,
    SetPasswordForm,
    SignInForm,
    SignUpForm,
)
from .language import preview_marketplace
from .models import Claim


def _grant_or_404(token: str):
    grant = selectors.grant_by_token(token)
    if grant is None:
        raise Http404  # the same 404 as any page: no hint whether a token exists
    return grant


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _device_id(request) -> str:
    """The long-lived device id: read or issued by DeviceCookieMiddleware on this very request,
    so a new browser's first claim records it too (one place reads the cookie)."""
    return device_id_of(request)


def _pick_from(request, reward_group):
    """The product or catalog credit named by ?product= / ?credit= (or the POST), or 404."""
    data = request.POST if request.method == "POST" else request.GET
    product = credit = None
    try:
        if data.get("product"):
            product = get_object_or_404(
                Product, pk=int(data["product"]), marketplace=reward_group.marketplace
            )
        elif data.get("credit"):
            credit = get_object_or_404(
                DiscountCategory, pk=int(data["credit"]), marketplace=reward_group.marketplace
            )
    except ValueError as exc:
        raise Http404 from exc
    if product is None and credit is None:
        raise Http404
    return product, credit


# Refusals that mean the grant can no longer be claimed by anyone: the claim page is stale (a
# second tab, an expiry while the form was open), so the reward page shows the grant's state.
UNCLAIMABLE = {"already_claimed", "expired", "blocked"}


def _page_context(request, *, campaign, reward_group, grant=None, test_mode=False) -> dict:
    now = timezone.now()
    code = reward_group.marketplace_id
    context = {
        "campaign": campaign,
        "reward_group": reward_group,
        "marketplace": reward_group.marketplace,
        "designated": selectors.designated_rewards(reward_group),
        "grant": grant,
        "test_mode": test_mode,
        "shopper": None if test_mode else selectors.current_shopper(request),
        "now": now,
        "app": campaign.app,
        "support": support_contact(campaign.app),
        "product_delivery": delivery_estimate(kind=Claim.Kind.PRODUCT, marketplace_code=code),
        "credit_delivery": delivery_estimate(kind=Claim.Kind.CREDIT, marketplace_code=code),
        "claimable": True,
    }
    if grant is not None:
        context["expired"] = grant.redeemed_at is None and grant.expires_at <= now
        context["claim"] = selectors.grant_claim(grant) if grant.redeemed_at else None
        context["claimable"] = selectors.grant_claimable(grant, now=now)
    return context


# --- The reward page and the claim ------------------------------------------------------------


@shopper_page
def reward_page(request, token: str):
    grant = _grant_or_404(token)
    context = _page_context(
        request, campaign=grant.campaign, reward_group=grant.reward_group, grant=grant
    )
    return render(request, "rewards/redemption/reward.html", context)


@shopper_page
@require_http_methods(["GET", "POST"])
def reward_claim_view(request, token: str):
    grant = _grant_or_404(token)
    group = grant.reward_group
    shopper = selectors.current_shopper(request)
    if shopper is None:
        return redirect(
            f"{reverse('rewards:shopper_signin')}?{urlencode({'next': request.get_full_path()})}"
        )
    if not selectors.grant_claimable(grant, now=timezone.now()):
        # Claimed (maybe in another tab), expired or blocked: no form to fill in for nothing.
        return redirect("rewards:reward_page", token=token)
    product, credit = _pick_from(request, group)
    form = AddressForm(
        request.POST if request.method == "POST" and product else None,
        marketplace_code=group.marketplace_id,
        country=request.GET.get("country"),
    )
    error = None
    if request.method == "POST" and (credit or form.is_valid()):
        try:
            services.reward_claim(
                grant=grant,
                shopper=shopper,
                product=product,
                catalog_credit=credit,
                address=form.address() if product else None,
                device_id=_device_id(request),
                ip=throttle.client_ip(request) or None,
            )
        except services.ClaimRefused as exc:
            if exc.code in UNCLAIMABLE:
                # Another tab or shopper was first: the reward page shows the claimed state
                # (and, if it was this shopper, what they claimed); nothing to submit again.
                return redirect("rewards:reward_page", token=token)
            error = exc.message
        else:
            return redirect("rewards:reward_done", token=token)
    context = _page_context(request, campaign=grant.campaign, reward_group=group, grant=grant)
    context.update({"product": product, "credit": credit, "form": form, "error": error})
    return render(request, "rewards/redemption/claim.html", context)


@shopper_page
@require_GET
def reward_state(request, token: str):
    """Whether the reward can still be claimed, for the claim page's script: a tab left open
    while another tab claimed turns to the claimed state when the shopper comes back to it."""
    grant = _grant_or_404(token)
    response = JsonResponse({"claimable": selectors.grant_claimable(grant, now=timezone.now())})
    response["Cache-Control"] = "no-store"
    return response


@shopper_page
def reward_done(request, token: str):
    grant = _grant_or_404(token)
    shopper = selectors.current_shopper(request)
    claim = selectors.grant_claim(grant)
    if claim is None or shopper is None or claim.shopper_id != shopper.pk:
        return redirect("rewards:reward_page", token=token)
    context = _page_context(
        request, campaign=grant.campaign, reward_group=grant.reward_group, grant=grant
    )
    context["claim"] = claim
    return render(request, "rewards/redemption/done.html", context)


# --- Test mode: the same pages, nothing written -----------------------------------------------


def _test_campaign(campaign_id, request):
    statuses = [Campaign.Status.APPROVED]
    if request.user.is_authenticated and request.user.has_perm(REVIEW_PERMISSION):
        # The review desk shows reviewers the shopper page of a campaign they are judging.
        statuses.append(Campaign.Status.PENDING_APPROVAL)
    campaign = get_object_or_404(Campaign, campaign_id=campaign_id, status__in=statuses)
    # Read as GetReward reads it: an approved campaign whose go-live has come is live (test
    # mode over) even before the sweep moves it.
    if effective_status(campaign) not in statuses:
        raise Http404
    groups = list(campaign.reward_groups.select_related("marketplace", "discount_category"))
    if not groups:
        raise Http404
    # The same choice as the language middleware's, so the page and its language agree.
    code = preview_marketplace(
        [g.marketplace_id for g in groups],
        request.GET.get("group") or request.POST.get("group"),
    )
    group = next(g for g in groups if g.marketplace_id == code)
    return campaign, groups, group


@xframe_options_sameorigin  # framed by the review desk, on the same site
@shopper_page
def test_reward_page(request, campaign_id):
    campaign, groups, group = _test_campaign(campaign_id, request)
    context = _page_context(request, campaign=campaign, reward_group=group, test_mode=True)
    context["groups"] = groups
    return render(request, "rewards/redemption/reward.html", context)


@shopper_page
@require_http_methods(["GET", "POST"])
def test_reward_claim(request, campaign_id):
    """The claim form of test mode: validated like a claim, then a confirmation; no claim,
    no credit and no email are written."""
    campaign, groups, group = _test_campaign(campaign_id, request)
    product, credit = _pick_from(request, group)
    form = AddressForm(
        request.POST if request.method == "POST" and product else None,
        marketplace_code=group.marketplace_id,
        country=request.GET.get("country"),
    )
    error = None
    context = _page_context(request, campaign=campaign, reward_group=group, test_mode=True)
    if request.method == "POST" and (credit or form.is_valid()):
        try:
            pick = services.claim_pick(
                reward_group=group,
                product=product,
                catalog_credit=credit,
                address=form.address() if product else None,
            )
        except services.ClaimRefused as exc:
            error = exc.message
        else:
            context["claim"] = Claim(
                kind=pick.kind,
                product=pick.product,
                catalog_credit=pick.catalog_credit,
                value=pick.value,
                currency=pick.currency,
            )
            return render(request, "rewards/redemption/done.html", context)
    context.update({"product": product, "credit": credit, "form": form, "error": error})
    return render(request, "rewards/redemption/claim.html", context)


# --- Shopper accounts -------------------------------------------------------------------------


def _sign_in(request, shopper) -> None:
    # A new session key at sign-in: a session id planted before it is worth nothing after.
    request.session.cycle_key()
    request.session[selectors.SESSION_KEY] = shopper.pk
    request.session[selectors.SESSION_HASH_KEY] = selectors.session_hash(shopper)
    request._shopper = shopper


def _too_many(request, template: str, context: dict):
    context["error"] = "Too many attempts. Try again later."
    return render(request, template, context, status=429)


@require_http_methods(["GET", "POST"])
def shopper_signup(request):
    form = SignUpForm(request.POST or None)
    next_url = _next_url(request, reverse("rewards:my_rewards"))
    context = {"form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        # Counted before the account is created: concurrent sign-ups cannot all pass a check
        # that none has counted yet (console.throttle.take).
        refusal = throttle.signup_refusal(ip=throttle.client_ip(request))
        if refusal:
            return _too_many(request, "rewards/redemption/signup.html", context)
        try:
            shopper = services.shopper_sign_up(
                email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except services.ShopperError as exc:
            context["error"] = str(exc)
        else:
            _sign_in(request, shopper)
            return HttpResponseRedirect(next_url)
    return render(request, "rewards/redemption/signup.html", context)


@require_http_methods(["GET", "POST"])
def shopper_signin(request):
    form = SignInForm(request.POST or None)
    next_url = _next_url(request, reverse("rewards:my_rewards"))
    context = {"form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        email = services.normalise_email(form.cleaned_data["email"])
        # Shoppers' failures are counted apart from developers' of the same address.
        who, ip = f"shopper:{email}", throttle.client_ip(request)
        refusal = throttle.login_attempt(email=who, ip=ip)
        if refusal:
            return _too_many(request, "rewards/redemption/signin.html", context)
        shopper = services.shopper_sign_in(email=email, password=form.cleaned_data["password"])
        if shopper is None:
            refusal = throttle.login_failed(email=who, ip=ip)
            if refusal:
                return _too_many(request, "rewards/redemption/signin.html", context)
            context["error"] = "That email and password do not match an account."
        else:
            throttle.login_succeeded(email=who, ip=ip)
            _sign_in(request, shopper)
            return HttpResponseRedirect(next_url)
    return render(request, "rewards/redemption/signin.html", context)


@require_POST
def shopper_signout(request):
    request.session.pop(selectors.SESSION_KEY, None)
    request.session.pop(selectors.SESSION_HASH_KEY, None)
    request.session.cycle_key()
    return HttpResponseRedirect(_next_url(request, reverse("rewards:shopper_signin")))


@require_http_methods(["GET", "POST"])
def shopper_password_reset(request):
    form = ResetRequestForm(request.POST or None)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        email = services.normalise_email(form.cleaned_data["email"])
        refusal = throttle.password_reset_refusal(
            email=f"shopper:{email}", ip=throttle.client_ip(request)
        )
        if refusal:
            return _too_many(request, "rewards/redemption/password_reset.html", context)
        services.shopper_password_reset_send(
            email=email,
            reset_url_for=lambda token: request.build_absolute_uri(
                reverse("rewards:shopper_password_reset_confirm", args=[token])
            ),
        )
        context["sent"] = True
    return render(request, "rewards/redemption/password_reset.html", context)


@require_http_methods(["GET", "POST"])
def shopper_password_reset_confirm(request, token: str):
    shopper = services.shopper_from_reset_token(token)
    form = SetPasswordForm(request.POST or None)
    context = {"form": form, "valid": shopper is not None}
    if shopper is not None and request.method == "POST" and form.is_valid():
        try:
            services.shopper_set_password(shopper=shopper, password=form.cleaned_data["password"])
        except services.ShopperError as exc:
            context["error"] = str(exc)
        else:
            shopper.refresh_from_db()
            _sign_in(request, shopper)
            return redirect("rewards:my_rewards")
    return render(request, "rewards/redemption/password_reset_confirm.html", context)


def my_rewards(request):
    shopper = selectors.current_shopper(request)
    if shopper is None:
        return redirect(f"{reverse('rewards:shopper_signin')}?{urlencode({'next': request.path})}")
    context = {
        "shopper": shopper,
        "claims": selectors.shopper_claims(shopper),
        "balances": selectors.shopper_balances(shopper),
        "history": selectors.shopper_credit_history(shopper),
    }
    return render(request, "rewards/redemption/my_rewards.html", context)


@require_http_methods(["GET", "POST"])
def shopper_delete_view(request):
    """ "Delete my account" on My rewards: the shopper confirms with their password. Wrong
    passwords count against the sign-in limits (a borrowed session cannot guess on)."""
    shopper = selectors.current_shopper(request)
    if shopper is None:
        return redirect(f"{reverse('rewards:shopper_signin')}?{urlencode({'next': request.path})}")
    form = DeleteAccountForm(request.POST or None)
    context = {"shopper": shopper, "form": form}
    template = "rewards/redemption/delete_account.html"
    if request.method == "POST" and form.is_valid():
        who, ip = f"shopper:{shopper.email}", throttle.client_ip(request)
        if throttle.login_attempt(email=who, ip=ip):
            return _too_many(request, template, context)
        try:
            services.shopper_delete(shopper=shopper, password=form.cleaned_data["password"])
        except services.ShopperError as exc:
            throttle.login_failed(email=who, ip=ip)
            context["error"] = str(exc)
        else:
            throttle.login_succeeded(email=who, ip=ip)
            # This session ends here; the others ended with the password (session_hash).
            request.session.flush()
            return render(request, "rewards/redemption/account_deleted.html")
    return render(request, template, context)
