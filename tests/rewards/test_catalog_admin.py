"""Staff manage the catalog in Django admin: allowances, exchange rates, products (with their
reference prices, no N+1) and discount categories; grants and idempotency records are read-only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rewards.models import ExchangeRate, IdempotencyRecord, Marketplace, Product, RewardGrant
from tests.factories import (
    CampaignFactory,
    DiscountCategoryFactory,
    MomentFactory,
    ProductFactory,
    RewardGroupFactory,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:rewards_marketplace_changelist",
    "admin:rewards_exchangerate_changelist",
    "admin:rewards_product_changelist",
    "admin:rewards_discountcategory_changelist",
    "admin:rewards_rewardgrant_changelist",
    "admin:rewards_idempotencyrecord_changelist",
]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", CHANGELISTS)
def test_staff_can_open_every_catalog_changelist(admin_client, name):
    ProductFactory()
    DiscountCategoryFactory()
    assert admin_client.get(reverse(name)).status_code == 200


def test_the_product_list_shows_reference_prices_in_local_currency_and_usd(admin_client):
    ProductFactory(marketplace_id="US", price=Decimal("25.00"), title="Sonora Earbuds")
    ProductFactory(marketplace_id="DE", price=Decimal("20.00"), title="Kopfhörer")
    page = admin_client.get(reverse("admin:rewards_product_changelist")).content.decode()
    assert page.count("$27.50") >= 2  # the reference price, in USD twice
    assert "€23.80" in page and "$25.70" in page


def test_the_discount_list_shows_the_credit_s_reference_price(admin_client):
    DiscountCategoryFactory(marketplace_id="US", name="Headphones", credit_amount=Decimal("20"))
    page = admin_client.get(reverse("admin:rewards_discountcategory_changelist")).content.decode()
    assert page.count("$22.00") >= 2  # 20 × 1.1002 = 22.004, in USD twice


def test_the_catalog_lists_make_as_many_queries_for_the_whole_demo_catalog_as_for_two_items(
    admin_client,
):
    ProductFactory(marketplace_id="US")
    ProductFactory(marketplace_id="JP", price=Decimal("3000"))
    DiscountCategoryFactory(marketplace_id="US")
    DiscountCategoryFactory(marketplace_id="IN", credit_amount=Decimal("800"))
    urls = [reverse(name) for name in CHANGELISTS[:4]]
    few = [_queries(admin_client, url) for url in urls]

    call_command("load_demo_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Product.objects.count() > 100
    many = [_queries(admin_client, url) for url in urls]
    assert many == few


def test_a_product_without_an_exchange_rate_is_listed_with_a_note_instead_of_an_error(
    admin_client,
):
    ProductFactory(marketplace_id="JP", price=Decimal("3000"))
    ExchangeRate.objects.filter(currency="JPY").delete()
    page = admin_client.get(reverse("admin:rewards_product_changelist")).content.decode()
    assert "no exchange rate" in page


def test_the_product_list_filters_by_marketplace_and_stock_and_searches_titles_and_asins(
    admin_client,
):
    ProductFactory(marketplace_id="US", title="Lumi Cube Night Light", asin="B0LUMI0001")
    ProductFactory(marketplace_id="FR", title="Galaxy Puzzle", in_stock=False, asin="B0GAL00001")
    url = reverse("admin:rewards_product_changelist")
    assert (
        "Galaxy Puzzle"
        not in admin_client.get(url, {"marketplace__code__exact": "US"}).content.decode()
    )
    out_of_stock = admin_client.get(url, {"in_stock__exact": "0"}).content.decode()
    assert "Galaxy Puzzle" in out_of_stock and "Lumi Cube" not in out_of_stock
    assert "Lumi Cube" in admin_client.get(url, {"q": "B0LUMI"}).content.decode()


def test_staff_edit_a_marketplace_s_allowances_but_not_its_code(admin_client):
    url = reverse("admin:rewards_marketplace_change", args=["UK"])
    page = admin_client.get(url).content.decode()
    assert 'name="code"' not in page
    response = admin_client.post(
        url,
        {
            "name": "United Kingdom",
            "position": 1,
            "tax_allowance_percent": "20.00",
            "shipping_allowance": "2.50",
            "margin_percent": "5.00",
            "code": "XX",
        },
    )
    assert response.status_code == 302
    uk = Marketplace.objects.get(code="UK")
    assert uk.shipping_allowance == Decimal("2.50") and uk.margin_percent == Decimal("5.00")
    assert not Marketplace.objects.filter(code="XX").exists()
    assert admin_client.get(reverse("admin:rewards_marketplace_add")).status_code == 403


def test_staff_change_an_exchange_rate_and_its_date_is_recorded(admin_client):
    old = timezone.now() - timedelta(days=30)
    ExchangeRate.objects.filter(currency="GBP").update(updated_at=old)
    url = reverse("admin:rewards_exchangerate_change", args=["GBP"])
    response = admin_client.post(url, {"usd_per_unit": "1.30"})
    assert response.status_code == 302
    rate = ExchangeRate.objects.get(currency="GBP")
    assert rate.usd_per_unit == Decimal("1.30")
    assert rate.updated_at > old


def test_a_product_change_page_shows_its_image_and_reference_price(admin_client):
    call_command("load_demo_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    product = Product.objects.filter(marketplace="US").first()
    page = admin_client.get(reverse("admin:rewards_product_change", args=[product.pk]))
    assert page.status_code == 200
    assert product.image.url in page.content.decode()
    assert "USD" in page.content.decode()


def _grant() -> RewardGrant:
    campaign = CampaignFactory(status="live")
    return RewardGrant.objects.create(
        campaign=campaign,
        reward_group=RewardGroupFactory(campaign=campaign),
        moment=MomentFactory(campaign=campaign),
        token="secret-reward-token-abc",
        expires_at=timezone.now() + timedelta(days=60),
    )


def test_reward_grants_can_be_viewed_but_never_added_changed_or_deleted(admin_client):
    grant = _grant()
    change = admin_client.get(reverse("admin:rewards_rewardgrant_change", args=[grant.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert "secret-reward-token-abc" not in change.content.decode()
    assert admin_client.get(reverse("admin:rewards_rewardgrant_add")).status_code == 403
    delete = reverse("admin:rewards_rewardgrant_delete", args=[grant.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    admin_client.post(
        reverse("admin:rewards_rewardgrant_change", args=[grant.pk]), {"device_type": "ios"}
    )
    grant.refresh_from_db()
    assert grant.device_type == ""
    assert RewardGrant.objects.filter(pk=grant.pk).exists()


def test_idempotency_records_are_read_only(admin_client, acme_app, alice):
    from console.services import api_key_rotate

    key = api_key_rotate(app=acme_app, actor=alice).api_key
    record = IdempotencyRecord.objects.create(api_key=key, key="k-1", request_fingerprint="f")
    assert admin_client.get(reverse("admin:rewards_idempotencyrecord_add")).status_code == 403
    change = admin_client.get(reverse("admin:rewards_idempotencyrecord_change", args=[record.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    delete = reverse("admin:rewards_idempotencyrecord_delete", args=[record.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert IdempotencyRecord.objects.filter(pk=record.pk).exists()
