"""Money, one home: parse, round and format amounts (SPEC §9; STYLE "Concurrency and money").

Every page, PDF, email, admin column and CSV goes through this module (templates through its
filter, `{{ amount|money:currency }}` in `console/templatetags/money.py`). A test
(tests/console/test_money.py) scans the templates and the apps for money formatted by hand.

Rules
-----
Values
    Money is `Decimal`, never float: `parse_money`, `round_money` and `format_money` refuse
    floats. Amounts typed by people ("$1,000.50", " 27.5 ") are read by `parse_money`; a
    decimal comma ("27,50") is refused rather than read as 2,750.
Rounding
    Once, `ROUND_HALF_UP`, through `round_money`: `CENTS` (2 places) for invoice amounts and
    limits, `MILLS` (4 places) for CPAs, spend, budgets and ledger amounts. A caller that must
    round another way (the seed's tax arithmetic, a demo price) says why and passes `rounding`.
Display (`format_money`, the `money` filter)
    In the active language's conventions and the currency's own symbol, through babel:
    `$1,234.50` in English, `13,99 €` in German, `￥1,235` in Japanese, `-$12.00` for a credit.
    The console speaks English (en_US), so a foreign price there reads `€23.80`, `¥1,480`,
    `CA$30.00`; shopper pages use the marketplace's language (rewards/redemption/language.py).

    - Default (CPAs, spend, budgets, prices): at least the currency's minor digits, and up to
      4 decimals where the amount has them, rounded half up to 4 places:
      `$0.125` (0.1250), `$17.00` (17.0000), `$1.2345`, `$1,000.00`. A CPA of $0.125 never
      reads $0.13 or $0.12. A currency without a minor unit (JPY) shows whole units, rounded
      half up: `¥1,480` (1480.00), `￥1,235` (1234.50).
    - Invoice amounts (`places=2`, the filter's `"USD:2"`): exactly 2 decimals, rounded half up,
      as they are billed: `$234.50`, `$0.01` (0.005).
    - Whole units (`places=0`, `"USD:0"`): limits stated in prose, "at most $5,000 a month".
CSV (`csv_amount`)
    A plain decimal with a fixed number of places and no symbol or grouping; the currency goes
    in a column of its own. 4 places for CPAs, spend and budgets (`34.0000`: the stored
    precision, so a day of one $0.125 action reads 0.1250, never 0.13), 2 for invoice amounts
    (`-12.00` for a credit note).
"""

from __future__ import annotations

import copy
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, get_currency_precision, parse_pattern
from django.utils import translation

CENTS = Decimal("0.01")
MILLS = Decimal("0.0001")
# The most decimals an amount is shown with (hundredths of a cent: CPAs and spend).
MAX_PLACES = 4
DEFAULT_CURRENCY = "USD"

__all__ = [
    "CENTS",
    "MILLS",
    "MoneyError",
    "babel_locale",
    "csv_amount",
    "format_money",
    "parse_money",
    "plain_amount",
    "round_money",
]


class MoneyError(ValueError):
    """Text that is not an amount of money."""


# --- Parsing and rounding -------------------------------------------------------------------

# "1,000", "12,500.00": commas only in groups of three, before an optional dot.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_money(value) -> Decimal:
    """An amount as people type it or code holds it: `Decimal`, `int`, or text such as
    "$1,000.50", "1000.5", " 27.50 ", "-12". Raises MoneyError for anything else (a decimal
    comma such as "27,50" included) and TypeError for a float."""
    if isinstance(value, float):
        raise TypeError("money refuses floats; pass a Decimal or a string")
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    else:
        text = str(value).strip()
        sign = "-" if text.startswith("-") else ""
        text = text.removeprefix("-").strip().removeprefix("$").strip()
        if _GROUPED.match(text):
            text = text.replace(",", "")
        try:
            amount = Decimal(sign + text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not an amount of money") from None
        if "," in text or " " in text:
            raise MoneyError(f"{value!r} is not an amount of money")
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount of money")
    return amount


def round_money(value, places: Decimal = CENTS, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round a Decimal (or int/str) to `places` (`CENTS` or `MILLS`), half up unless a caller
    documents why not (the tax allowance of reference prices follows the seed's arithmetic).
    Floats are refused: they cannot represent money exactly."""
    if isinstance(value, float):
        raise TypeError("money refuses floats; pass a Decimal or a string")
    return Decimal(value).quantize(places, rounding=rounding)


# --- Locale ---------------------------------------------------------------------------------

DEFAULT_LANGUAGE = "en"
# The country whose conventions a currency's amounts follow, to pick the babel locale: Spanish
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


@lru_cache(maxsize=256)
def _locale(language: str, currency: str) -> Locale:
    base = language.split("-")[0]
    candidates = []
    if "-" in language:
        candidates.append(f"{base}_{language.split('-')[1].upper()}")
    region = CURRENCY_REGIONS.get(currency)
    if region and not candidates:
        candidates.append(f"{base}_{region}")
    candidates += [f"{base}_{LANGUAGE_REGIONS.get(base, 'US')}", base, "en_US"]
    for identifier in candidates:
        try:
            return Locale.parse(identifier)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en_US")


def babel_locale(*, currency: str | None = None, language: str | None = None) -> Locale:
    """The locale for the active (or given) language, in the currency's country where that
    locale exists (en_GB for GBP, es_MX for MXN), else the language's own country. The console's
    "en-us" is en_US whatever the currency."""
    language = (language or translation.get_language() or DEFAULT_LANGUAGE).lower()
    return _locale(language, (currency or "").upper())


@lru_cache(maxsize=256)
def _pattern(locale: Locale, low: int, high: int) -> NumberPattern:
    pattern = copy.copy(parse_pattern(locale.currency_formats["standard"]))
    pattern.frac_prec = (low, high)
    return pattern


# --- Display --------------------------------------------------------------------------------


def _digits(currency: str) -> int:
    return get_currency_precision(currency)


def format_money(
    amount,
    currency: str | None = DEFAULT_CURRENCY,
    *,
    places: int | None = None,
    language: str | None = None,
) -> str:
    """An amount as people read it (the rules are in the module's docstring): `places=None`
    shows at least the currency's minor digits and up to 4 where the amount has them; 2 is an
    invoice amount (exactly cents), 0 whole units. "" for None."""
    if amount is None or amount == "":
        return ""
    currency = (currency or DEFAULT_CURRENCY).upper()
    value = parse_money(amount)
    if places is None:
        low = _digits(currency)
        high = MAX_PLACES if low else 0
    else:
        low = high = places
    # Rounded here, half up, once; babel alone would round half to even.
    value = round_money(value, Decimal(1).scaleb(-high))
    locale = babel_locale(currency=currency, language=language)
    return _pattern(locale, low, high).apply(
        value, locale, currency=currency, currency_digits=False
    )


def plain_amount(amount) -> str:
    """The digits `format_money` shows, without symbol or grouping, for a form's initial value
    or a data attribute: "0.125" (0.1250), "25.00" (25.0000), "1000.50"; "" for None. Typed
    back, `parse_money` reads the same amount."""
    if amount is None or amount == "":
        return ""
    value = round_money(parse_money(amount), MILLS)
    text = f"{value:f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def csv_amount(amount, places: Decimal = MILLS) -> Decimal | str:
    """A CSV cell: a plain decimal with exactly `places` (MILLS for CPA, spend and budgets,
    CENTS for invoice amounts), no symbol, no grouping; "" for None. Kept a Decimal so the CSV
    writer treats it as a number (a negative credit is not neutralised as a formula)."""
    if amount is None or amount == "":
        return ""
    return round_money(parse_money(amount), places)
