"""Rounds of review (issue 20): each submission opens a round with a snapshot of what the
reviewer judges; the decision that takes the campaign out of pending approval closes it. Called
by the lifecycle's one move function, in the move's transaction, so every path (the desk, a
list action, the demo account) keeps the rounds and the status in step."""

from __future__ import annotations

from datetime import datetime

from ..models import Campaign, CampaignSubmission

S = Campaign.Status
OUTCOMES = {
    S.APPROVED: CampaignSubmission.Outcome.APPROVED,
    S.REJECTED: CampaignSubmission.Outcome.REJECTED,
}


def round_open(*, campaign: Campaign, now: datetime) -> CampaignSubmission:
    """A new round for a campaign just submitted: the snapshot of what the reviewer judges
    (never money) and the version submitted, numbered after the campaign's earlier rounds.
    The caller holds the campaign's row (its conditional UPDATE), so numbers do not collide;
    the unique constraint is the last guard."""
    # Imported here: the selectors package reads the lifecycle module, which calls this one.
    from ..selectors.review import review_snapshot

    last = (
        CampaignSubmission.objects.filter(campaign_id=campaign.pk)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    version = Campaign.objects.values_list("version", flat=True).get(pk=campaign.pk)
    return CampaignSubmission.objects.create(
        campaign_id=campaign.pk,
        number=(last or 0) + 1,
        version=version,
        submitted_at=now,
        snapshot=review_snapshot(campaign),
    )


def round_close(
    *, campaign: Campaign, to_status: str, actor, actor_label: str, reason: str, now: datetime
) -> CampaignSubmission:
    """Record the decision on the campaign's open round. A campaign submitted before rounds
    were recorded gets its round now, from the row as it is decided."""
    open_round = (
        CampaignSubmission.objects.filter(
            campaign_id=campaign.pk, outcome=CampaignSubmission.Outcome.PENDING
        )
        .order_by("-number")
        .first()
    )
    if open_round is None:
        open_round = round_open(campaign=campaign, now=campaign.submitted_at or now)
    open_round.outcome = OUTCOMES[to_status]
    open_round.decided_by = actor if getattr(actor, "pk", None) else None
    open_round.decided_by_label = actor_label
    open_round.decided_at = now
    open_round.reason = reason
    open_round.save(
        update_fields=["outcome", "decided_by", "decided_by_label", "decided_at", "reason"]
    )
    return open_round
