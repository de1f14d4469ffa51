"""The shopper's language (SPEC §8): reward pages speak the marketplace's language, with prices
(`{{ amount|money:currency }}`, console/money.py) and dates in its conventions. The developer's
own messages are shown as written.

`ShopperLanguageMiddleware` activates, on /r/ paths, the language of the marketplace whose
reward is on the page (`/r/<token>/...`, `/r/test/<campaign_id>/...?group=DE`) and remembers it in
the session, so the shopper's other pages (sign in, My rewards) carry on in it. A test preview
speaks the language of the reward group it shows (`preview_marketplace`, the one rule the
preview's view follows too), not that of the campaign's first marketplace.
"""

from __future__ import annotations

import uuid

from babel.dates import format_date
from django.utils import translation

from console.money import babel_locale

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
SESSION_KEY = "shopper_language"
SHOPPER_PATH_PREFIX = "/r/"


def marketplace_language(marketplace_code: str | None) -> str:
    return MARKETPLACE_LANGUAGES.get((marketplace_code or "").upper(), DEFAULT_LANGUAGE)


def preview_marketplace(codes: list[str], requested: str | None) -> str | None:
    """The marketplace whose reward group a test preview shows: the one asked for with
    `?group=` when the campaign has it, else its first (`codes` in the groups' order)."""
    if not codes:
        return None
    wanted = (requested or "").strip().upper()
    return wanted if wanted in codes else codes[0]


def format_day(value, *, language: str | None = None) -> str:
    """A date written out in the shopper's language: 31. Dezember 2026, 2026年12月31日."""
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):
        from django.utils import timezone

        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_date(value, "long", locale=babel_locale(language=language))


def _requested_group(request) -> str | None:
    group = request.GET.get("group")
    if not group and request.method == "POST":
        group = request.POST.get("group")
    return group


def _language_of_view(request, view_kwargs: dict) -> str | None:
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
        codes = list(
            RewardGroup.objects.filter(campaign__campaign_id=campaign_id)
            .order_by("marketplace__position")
            .values_list("marketplace_id", flat=True)
        )
        code = preview_marketplace(codes, _requested_group(request))
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
        language = _language_of_view(request, view_kwargs)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
            if request.session.get(SESSION_KEY) != language:
                request.session[SESSION_KEY] = language
        return None
