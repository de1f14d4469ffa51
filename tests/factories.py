"""factory-boy factories for the models the tests build."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from console.models import Account, App, Membership

PASSWORD = "correct-horse-battery-staple-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    username = factory.LazyAttribute(lambda o: o.email)
    password = factory.django.Password(PASSWORD)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    country = "US"
    billing_address = "1 Main Street\nSeattle, WA 98101"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = "admin"


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"App {n}")
    platform = "android"
    store_url = "https://play.example.test/store/apps/details?id=com.example"


# --- Catalog and campaigns --------------------------------------------------------------------
# Statuses are set directly here only to build test fixtures; product code moves them through
# campaigns.services.lifecycle.


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rewards.Product"

    marketplace_id = "US"
    asin = factory.Sequence(lambda n: f"B0TEST{n:04d}")
    title = factory.Sequence(lambda n: f"Wireless Earbuds {n}")
    category = "Headphones"
    price = Decimal("20.00")


class DiscountCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rewards.DiscountCategory"

    marketplace_id = "US"
    name = factory.Sequence(lambda n: f"Educational Toys {n}")
    credit_amount = Decimal("10.00")


class CampaignFactory(factory.django.DjangoModelFactory):
    """A complete campaign (all wizard steps filled). Pass status/submitted_at for others."""

    class Meta:
        model = "campaigns.Campaign"

    app = factory.SubFactory(AppFactory)
    account = factory.SelfAttribute("app.account")
    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = "draft"
    wizard_step = 7
    start_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=8))
    end_date = factory.LazyAttribute(lambda o: o.start_date + timedelta(days=30))
    total_budget = Decimal("1000.0000")
    cpa = Decimal("25.0000")
    announcement_message = "Finish level 10 and win a pair of earbuds!"
    announcement_criteria = "Players who reached level 8"
    redemption_message = "Congratulations! Claim your earbuds."
    terms = "While supplies last."
    # What campaign_approve stores, for a campaign built already past approval.
    goes_live_at = factory.LazyAttribute(lambda o: _schedule(o)[0])
    ends_at = factory.LazyAttribute(lambda o: _schedule(o)[1])


def _schedule(o):
    from campaigns.services.lifecycle import campaign_schedule

    if o.status in ("draft", "pending_approval", "rejected"):
        return None, None
    return campaign_schedule(
        submitted_at=getattr(o, "submitted_at", None),
        start_date=o.start_date,
        end_date=o.end_date,
    )


class RewardGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaigns.RewardGroup"

    campaign = factory.SubFactory(CampaignFactory)
    marketplace_id = "US"
    quantity_limit = None


class MomentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaigns.Moment"

    campaign = factory.SubFactory(CampaignFactory)
    moment_id = factory.Sequence(lambda n: f"LEVEL_{n}_COMPLETE")
    action = "Completed a level"
