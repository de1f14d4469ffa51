from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_marketplaces(sender, using="default", **kwargs):
    from console.marketplaces import ensure_marketplaces

    from .catalog.models import ExchangeRate, Marketplace

    # A flush (e.g. between transactional tests) empties the tables and emits post_migrate:
    # the marketplaces come back, as they would after `migrate`.
    if using != "default":
        return
    ensure_marketplaces(Marketplace, ExchangeRate)


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = "Rewards catalog and API"

    def ready(self):
        post_migrate.connect(_ensure_marketplaces, sender=self)
