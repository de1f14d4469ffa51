"""The campaign part of webhook payloads (SPEC §12, console/webhooks/schemas.py): who an event
is about, by the ids and names the console and the API show (the campaign's UUID, the app's
id), never the database's integer ids. Used by every publisher of a campaign event: status
moves, budget alerts and claims."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Campaign, CampaignTransition


def campaign_event_refs(campaign_pks: Iterable[int]) -> dict[int, dict]:
    """Each campaign's `campaign_id`, `campaign_name`, `app_id` and `app_name`, by pk, in one
    query."""
    rows = Campaign.objects.filter(pk__in=set(campaign_pks)).values_list(
        "pk", "campaign_id", "name", "app__app_id", "app__name"
    )
    return {
        pk: {
            "campaign_id": str(campaign_id),
            "campaign_name": name,
            "app_id": str(app_id),
            "app_name": app_name,
        }
        for pk, campaign_id, name, app_id, app_name in rows
    }


def status_changed_events(
    rows: list[CampaignTransition], *, accounts: dict[int, int]
) -> list[tuple[int, str, dict]]:
    """The `campaign.status_changed` events of recorded moves, as (account_id, type, data);
    `accounts` maps each campaign's pk to its account's."""
    refs = campaign_event_refs(row.campaign_id for row in rows)
    return [
        (
            accounts[row.campaign_id],
            "campaign.status_changed",
            {
                **refs[row.campaign_id],
                "from_status": row.from_status,
                "to_status": row.to_status,
                "reason": row.reason,
                "changed_at": row.created_at.isoformat(),
            },
        )
        for row in rows
    ]
