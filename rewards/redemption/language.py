"""The shopper's language (SPEC §8): reward pages speak the marketplace's language, with prices
and dates in its conventions. The developer's own messages are shown as written.

`ShopperLanguageMiddleware` activates, on /r/ paths, the language of the marketplace whose
reward is on the page (`/r/<token>/...`, `/r/test/<campaign_id>/...`) and remembers it in the
session, so the shopper's other pages (sign in, My rewards) carry on in it.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from django.utils import translation

DEFAULT_LANGUAGE = "en"
# Marketplace code → Django language code (LANGUAGES in settings lists each).
MARKETPLACE_LANGUAGES = {
    "DE": "de",
    "FR": "fr",
    "IT": "it",
    "ES": "es",
    "MX": "es",
    "BR": "pt-br",
    "JP": "ja",
}
# The country whose conventions a currency's prices follow, to pick the babel locale: Spanish
# with MXN is es_MX ("$1,234.50"), with EUR es_ES ("1234,50 €").
CURRENCY_REGIONS = {
    "USD": "US",
    "GBP": "GB",
    "CAD": "CA",
    "AUD": "AU",
    "INR": "IN",
    "BRL": "BR",
    "JPY": "JP",
    "MXN": "MX",
}
LANGUAGE_REGIONS = {"en": "US", "de": "DE", "fr": "FR", "it": "IT", "es": "ES", "ja": "JP"}
SESSION_KEY = "shopper_language"
SHOPPER_PATH_PREFIX = "/r/"


def marketplace_language(marketplace_code: str | None) -> str:
    return MARKETPLACE_LANGUAGES.get((marketplace_code or "").upper(), DEFAULT_LANGUAGE)


def babel_locale(*, currency: str | None = None, language: str | None = None) -> Locale:
    """The locale for the active (or given) language, in the currency's country where that
    locale exists (en_GB for GBP, es_MX for MXN), else the language's own country."""
    language = (language or translation.get_language() or DEFAULT_LANGUAGE).lower()
    base = language.split("-")[0]
    candidates = []
    if "-" in language:
        candidates.append(f"{base}_{language.split('-')[1].upper()}")
    region = CURRENCY_REGIONS.get((currency or "").upper())
    if region and not candidates:
        candidates.append(f"{base}_{region}")
    candidates += [f"{base}_{LANGUAGE_REGIONS.get(base, 'US')}", base, "en_US"]
    for identifier in candidates:
        try:
            return Locale.parse(identifier)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en_US")


def format_price(amount, currency: str, *, language: str | None = None) -> str:
    """A price in the shopper's conventions: 1.234,50 € (de), ￥1,235 (ja), $1,234.50 (en)."""
    if amount is None:
        return ""
    # Rounded half up to the currency's digits (¥1,234.50 → ￥1,235) as money is everywhere
    # here; babel alone would round half to even.
    digits = get_currency_precision(currency)
    amount = Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return format_currency(
        amount, currency, locale=babel_locale(currency=currency, language=language)
    )


def format_day(value, *, language: str | None = None) -> str:
    """A date written out in the shopper's language: 31. Dezember 2026, 2026年12月31日."""
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):
        from django.utils import timezone

        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_date(value, "long", locale=babel_locale(language=language))


def _language_of_view(view_kwargs: dict) -> str | None:
    from rewards.models import RewardGrant

    token = view_kwargs.get("token")
    if token:
        code = (
            RewardGrant.objects.filter(token=str(token))
            .values_list("reward_group__marketplace_id", flat=True)
            .first()
        )
        return marketplace_language(code) if code else None
    campaign_id = view_kwargs.get("campaign_id")
    if campaign_id:
        from campaigns.models import RewardGroup

        try:
            uuid.UUID(str(campaign_id))
        except ValueError:
            return None
        code = (
            RewardGroup.objects.filter(campaign__campaign_id=campaign_id)
            .order_by("marketplace__position")
            .values_list("marketplace_id", flat=True)
            .first()
        )
        return marketplace_language(code) if code else None
    return None


class ShopperLanguageMiddleware:
    """Shopper pages (/r/) in the marketplace's language; the console stays in English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(SHOPPER_PATH_PREFIX):
            return self.get_response(request)
        language = request.session.get(SESSION_KEY) or DEFAULT_LANGUAGE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path.startswith(SHOPPER_PATH_PREFIX):
            return None
        language = _language_of_view(view_kwargs)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
            if request.session.get(SESSION_KEY) != language:
                request.session[SESSION_KEY] = language
        return None
