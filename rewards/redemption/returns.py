"""Returns (SPEC §8): within the campaign period a shopper returns a claimed product and gets a
credit of its value on their ledger; after the period the return is refused with the reason.
A claim is returned once: a conditional UPDATE from `claimed` decides, and the ledger's unique
(claim, reason) constraint is the last guard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from campaigns.services.lifecycle import campaign_end_moment
from rewards.models import Claim, CreditEntry

from .fraud import claim_activity


class ReturnRefused(Exception):
    """The return cannot be made; the message says why, in the shopper's language."""


def return_deadline(campaign) -> datetime | None:
    """The moment returns close: the end of the campaign's end date (its stored `ends_at`, the
    same moment the campaign finishes), None for a campaign without an end."""
    if campaign.ends_at is not None:
        return campaign.ends_at
    return campaign_end_moment(campaign.end_date)


@transaction.atomic
def claim_return(*, claim: Claim, shopper, now: datetime | None = None) -> CreditEntry:
    """Return a claimed product: the claim becomes `returned` and the shopper's ledger gets a
    credit of its value (reason `return`). Raises ReturnRefused with the reason otherwise."""
    now = now or timezone.now()
    if claim.shopper_id != shopper.pk:
        raise ReturnRefused(_("This reward is not yours to return."))
    if claim.kind != Claim.Kind.PRODUCT:
        raise ReturnRefused(_("Only a product can be returned; a catalog credit stays yours."))
    deadline = return_deadline(claim.grant.campaign)
    if deadline is not None and now >= deadline:
        last_day = timezone.localtime(deadline - timedelta(microseconds=1)).date()
        raise ReturnRefused(
            _("Returns closed when the campaign ended on %(date)s.")
            % {"date": date_format(last_day, "DATE_FORMAT")}
        )
    returned = Claim.objects.filter(
        pk=claim.pk, shopper_id=shopper.pk, status=Claim.Status.CLAIMED
    ).update(status=Claim.Status.RETURNED, returned_at=now)
    if returned != 1:
        raise ReturnRefused(_("This reward has already been returned."))
    credit = CreditEntry.objects.create(
        shopper_id=shopper.pk,
        claim_id=claim.pk,
        amount=claim.value,
        currency=claim.currency,
        reason=CreditEntry.Reason.RETURN,
        created_at=now,
    )
    # The shopper appears as "shopper" only (activity.actor_label): no personal data.
    claim_activity(
        claim=claim,
        actor=shopper,
        action="claim.returned",
        data={"value": claim.value, "currency": claim.currency},
    )
    return credit
