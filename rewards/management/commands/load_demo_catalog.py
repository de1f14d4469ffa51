"""`python manage.py load_demo_catalog`: the demo catalog (rewards/catalog/demo.py) in every
marketplace; running it again changes nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from rewards.catalog.demo import DEMO_LOCAL_PER_USD, demo_specs
from rewards.catalog.models import Marketplace
from rewards.catalog.services import catalog_seed


class Command(BaseCommand):
    help = (
        "Load the demo catalog (products with generated images, catalog credits) "
        "into every marketplace."
    )

    def handle(self, *args, **options):
        marketplaces = list(Marketplace.objects.all())
        skipped = [mp.code for mp in marketplaces if mp.currency not in DEMO_LOCAL_PER_USD]
        products, discounts = demo_specs(marketplaces)
        result = catalog_seed(products=products, discounts=discounts)
        self.stdout.write(
            f"Demo catalog: {len(marketplaces) - len(skipped)} marketplaces, "
            f"{result.products_total} products ({result.products_added} added), "
            f"{result.discounts_total} discount categories ({result.discounts_added} added), "
            f"{result.images_total} images ({result.images_drawn} drawn)."
        )
        if skipped:
            self.stderr.write(f"Skipped {', '.join(skipped)}: no demo prices for their currency.")
