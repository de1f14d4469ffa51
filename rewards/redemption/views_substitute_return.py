"""The shopper's pages for an out-of-stock pick (see the substitute, confirm it) and for a
return from My rewards. Thin: reads through selectors, writes through services."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rewards.models import Product

from . import selectors
from .delivery import delivery_estimate, support_contact
from .errors import shopper_page
from .forms import AddressForm
from .models import Claim
from .returns import ReturnRefused, claim_return
from .substitution import substitute_for_out_of_stock


@shopper_page
@require_GET
def reward_substitute(request, token: str):
    """An out-of-stock pick: the product that will be shipped instead, with the address form;
    confirming posts the original pick to the claim, which ships this substitute."""
    grant = selectors.grant_by_token(token)
    if grant is None:
        raise Http404
    shopper = selectors.current_shopper(request)
    if shopper is None:
        return redirect(f"{reverse('rewards:shopper_signin')}?next={request.get_full_path()}")
    group = grant.reward_group
    try:
        picked = get_object_or_404(
            Product, pk=int(request.GET.get("product", "")), marketplace=group.marketplace
        )
    except ValueError as exc:
        raise Http404 from exc
    claim_url = reverse("rewards:reward_claim", args=[token])
    if picked.in_stock and picked.is_active:
        return redirect(f"{claim_url}?product={picked.pk}")
    substitute = substitute_for_out_of_stock(product=picked, grant=grant)
    context = {
        "campaign": grant.campaign,
        "grant": grant,
        "reward_group": group,
        "marketplace": group.marketplace,
        "shopper": shopper,
        "picked": picked,
        "substitute": substitute,
        "claim_url": claim_url,
        "app": grant.campaign.app,
        "support": support_contact(grant.campaign.app),
        "product_delivery": delivery_estimate(
            kind=Claim.Kind.PRODUCT, marketplace_code=group.marketplace_id
        ),
        "form": AddressForm(
            marketplace_code=group.marketplace_id, country=request.GET.get("country")
        ),
    }
    return render(request, "rewards/redemption/substitute.html", context)


@require_POST
def claim_return_view(request, claim_id: int):
    """Return a claimed product from My rewards: a credit of its value, or the reason not."""
    shopper = selectors.current_shopper(request)
    if shopper is None:
        return redirect(f"{reverse('rewards:shopper_signin')}?next={reverse('rewards:my_rewards')}")
    # Another shopper's claim is a 404, as if it did not exist.
    claim = get_object_or_404(
        Claim.objects.select_related("grant__campaign"), pk=claim_id, shopper=shopper
    )
    try:
        claim_return(claim=claim, shopper=shopper)
    except ReturnRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Returned: its value is now credited to your balance."))
    return redirect("rewards:my_rewards")
