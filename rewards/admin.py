"""Django admin for the catalog (staff manage marketplaces' allowances, exchange rates, products
and discount categories) and read-only views of reward grants and idempotency records."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.utils.html import format_html

from campaigns.models import Campaign
from console.admin_base import ReadOnlyAdmin
from console.admin_lists import BigTableAdminMixin, ChoicesFilter, IndexedSearchMixin
from console.money import format_money

from .api.validation import DEVICE_TYPES
from .catalog.pricing import ReferencePrice, reference_price
from .catalog.services import exchange_rate_set
from .models import (
    DiscountCategory,
    ExchangeRate,
    IdempotencyRecord,
    Marketplace,
    Product,
    RewardGrant,
)


@admin.register(Marketplace)
class MarketplaceAdmin(admin.ModelAdmin):
    """The 13 marketplaces are fixed (their codes are the API's reward group ids); staff tune
    the allowances that turn a selling price into a reference price."""

    list_display = [
        "code",
        "name",
        "currency",
        "tax_allowance_percent",
        "shipping_allowance",
        "margin_percent",
        "product_count",
        "discount_count",
    ]
    list_editable = ["tax_allowance_percent", "shipping_allowance", "margin_percent"]
    fields = [
        "code",
        "name",
        "currency",
        "position",
        "tax_allowance_percent",
        "shipping_allowance",
        "margin_percent",
    ]
    readonly_fields = ["code", "currency"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                product_total=Count("products", distinct=True),
                discount_total=Count("discount_categories", distinct=True),
            )
        )

    @admin.display(description="products", ordering="product_total")
    def product_count(self, obj):
        return obj.product_total

    @admin.display(description="discount categories", ordering="discount_total")
    def discount_count(self, obj):
        return obj.discount_total

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "usd_per_unit", "updated_at"]
    fields = ["currency", "usd_per_unit", "updated_at"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # The currency is the key prices are looked up by: fixed once the rate exists.
        return ["currency", "updated_at"] if obj else ["updated_at"]

    def save_model(self, request, obj, form, change):
        saved = exchange_rate_set(
            currency=obj.currency, usd_per_unit=obj.usd_per_unit, actor=request.user
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def has_delete_permission(self, request, obj=None):
        # Without a rate, the reference prices of a whole marketplace cannot be computed.
        return False


class _ReferencePriceColumns:
    """Reference price columns for a changelist. The queryset carries each row's exchange
    rate (one subquery in the list's single query), so a page of 100 rows costs no more
    queries than a page of 1."""

    def with_rates(self, queryset):
        rate = ExchangeRate.objects.filter(currency=OuterRef("marketplace__currency"))
        return queryset.select_related("marketplace").annotate(
            usd_per_unit=Subquery(rate.values("usd_per_unit")[:1])
        )

    def _price(self, obj) -> ReferencePrice | None:
        rate = getattr(obj, "usd_per_unit", None)
        if rate is None:
            return None
        return reference_price(obj, rates={obj.marketplace.currency: rate})

    @admin.display(description="reference price")
    def reference_local(self, obj):
        price = self._price(obj)
        return format_money(price.local, price.currency) if price else "—"

    @admin.display(description="reference (USD)")
    def reference_usd(self, obj):
        price = self._price(obj)
        return format_money(price.usd) if price else "no exchange rate"


@admin.register(Product)
class ProductAdmin(_ReferencePriceColumns, admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "title",
        "asin",
        "marketplace",
        "category",
        "price",
        "reference_local",
        "reference_usd",
        "in_stock",
        "is_active",
    ]
    list_display_links = ["thumbnail", "title"]
    list_filter = ["marketplace", "category", "in_stock", "is_active"]
    search_fields = ["title", "asin"]
    list_select_related = ["marketplace"]
    list_per_page = 50
    readonly_fields = ["thumbnail_large", "reference_local", "reference_usd"]
    fields = [
        "marketplace",
        "asin",
        "title",
        "category",
        "price",
        "reference_local",
        "reference_usd",
        "in_stock",
        "is_active",
        "image",
        "thumbnail_large",
    ]

    def get_queryset(self, request):
        return self.with_rates(super().get_queryset(request))

    @admin.display(description="image")
    def thumbnail(self, obj):
        if not obj.image:
            return "—"
        return format_html(
            '<img src="{}" width="48" height="48" alt="" loading="lazy" style="border-radius:4px">',
            obj.image.url,
        )

    @admin.display(description="preview")
    def thumbnail_large(self, obj):
        if not obj.image:
            return "—"
        return format_html('<img src="{}" width="200" height="200" alt="">', obj.image.url)


@admin.register(DiscountCategory)
class DiscountCategoryAdmin(_ReferencePriceColumns, admin.ModelAdmin):
    list_display = [
        "name",
        "marketplace",
        "credit_amount",
        "reference_local",
        "reference_usd",
        "is_active",
    ]
    list_filter = ["marketplace", "is_active"]
    search_fields = ["name"]
    list_select_related = ["marketplace"]
    readonly_fields = ["reference_local", "reference_usd"]
    fields = [
        "marketplace",
        "name",
        "credit_amount",
        "reference_local",
        "reference_usd",
        "is_active",
    ]

    def get_queryset(self, request):
        return self.with_rates(super().get_queryset(request))


class DeviceTypeFilter(ChoicesFilter):
    """The API's device types (a fixed list, not a DISTINCT over every grant)."""

    title = "device type"
    parameter_name = "device_type"

    def choices_list(self):
        return [(device, device) for device in DEVICE_TYPES]


@admin.register(RewardGrant)
class RewardGrantAdmin(BigTableAdminMixin, IndexedSearchMixin, ReadOnlyAdmin):
    list_display = [
        "pk",
        "campaign",
        "reward_group",
        "moment",
        "device_type",
        "created_at",
        "expires_at",
        "redeemed_at",
    ]
    # A big table: indexed filters, search and ordering (console.admin_lists).
    list_filter = [DeviceTypeFilter, ("created_at", admin.DateFieldListFilter), "redeemed_at"]
    indexed_search = [
        ("campaign_id", ("prefix", Campaign, "name")),
        ("campaign_id", ("uuid", Campaign, "campaign_id")),
        ("id", ("pk", None, None)),
    ]
    list_select_related = ["campaign", "reward_group__campaign", "moment"]
    ordering = ["-created_at", "-id"]
    # The token is the shopper's reward URL: staff never need to read it.
    exclude = ["token"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "api_key", "response_status", "created_at", "completed_at"]
    list_filter = ["response_status"]
    search_fields = ["key", "api_key__prefix"]
    list_select_related = ["api_key__app"]


# The fraud review of claims (flagged claims, release or block) lives with the redemption code.
from .redemption import admin as _redemption_admin  # noqa: E402, F401
