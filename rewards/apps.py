from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_migrate


def _ensure_marketplaces(sender, using="default", **kwargs):
    from console.marketplaces import ensure_marketplaces

    from .catalog.models import ExchangeRate, Marketplace

    # A flush (e.g. between transactional tests) empties the tables and emits post_migrate:
    # the marketplaces come back, as they would after `migrate`.
    if using != "default":
        return
    ensure_marketplaces(Marketplace, ExchangeRate)


def _invalidate_campaigns(campaign_pks) -> None:
    from . import cache

    cache.invalidate_campaigns(campaign_pks)  # looked up per call: tests replace it


def _account_limits_changed(*, account) -> None:
    """An account's monthly spend limit changed: its campaigns' cached GetRewardInfo answers
    (remainingRewardCount) are dropped after commit."""
    from campaigns.models import Campaign

    campaign_pks = list(Campaign.objects.filter(account=account).values_list("pk", flat=True))
    transaction.on_commit(lambda: _invalidate_campaigns(campaign_pks))


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = "Rewards catalog and API"

    def ready(self):
        from console import hooks

        post_migrate.connect(_ensure_marketplaces, sender=self)
        # Lower layers (console, campaigns) reach the API's cache through these hooks.
        hooks.hook_register(hooks.API_CACHE_INVALIDATE, _invalidate_campaigns)
        hooks.hook_register(hooks.ACCOUNT_LIMITS_CHANGED, _account_limits_changed)
