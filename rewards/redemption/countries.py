"""Where a free product can be shipped (SPEC §8, the FAQ's "What countries are eligible for
reward delivery?"): a marketplace delivers to its own country; Rest of World (WW) to the
countries of the AmazonGlobal program. The one place this list lives.

The FAQ links AmazonGlobal's list rather than printing it: AMAZONGLOBAL is that list as ISO
3166-1 alpha-2 codes; edit it here when Amazon changes it.
"""

from __future__ import annotations

from console.money import babel_locale

# A marketplace's own country; UK is the marketplace code, GB the ISO country.
MARKETPLACE_COUNTRY = {
    "US": "US",
    "UK": "GB",
    "DE": "DE",
    "FR": "FR",
    "CA": "CA",
    "BR": "BR",
    "AU": "AU",
    "IT": "IT",
    "IN": "IN",
    "ES": "ES",
    "JP": "JP",
    "MX": "MX",
}

_AMAZONGLOBAL_CODES = """
    AD AE AG AI AL AM AO AR AT AU AW AZ BA BB BD BE BG BH BJ BM BN BO BR BS BT BW BZ CA CH CI
    CK CL CN CO CR CV CY CZ DE DK DM DO DZ EC EE EG ES FI FJ FM FR GA GB GD GE GF GH GI GM GP
    GR GT GU GY HK HN HR HU ID IE IL IN IS IT JM JO JP KE KG KH KN KR KW KY KZ LA LB LC LI LK
    LS LT LU LV MA MC MD ME MG MH MK MN MO MQ MS MT MU MV MW MX MY MZ NA NC NE NG NI NL NO NP
    NZ OM PA PE PF PG PH PK PL PR PT PW PY QA RE RO RS RW SB SC SE SG SI SK SM SN SR SV SZ TC
    TD TG TH TJ TL TM TN TO TR TT TW TZ UG US UY UZ VA VC VE VG VI VN VU WS ZA ZM
    """
AMAZONGLOBAL = frozenset(_AMAZONGLOBAL_CODES.split())


def delivery_countries(marketplace_code: str) -> frozenset[str]:
    """The ISO country codes a reward group of this marketplace ships products to."""
    if marketplace_code == "WW":
        return AMAZONGLOBAL
    own = MARKETPLACE_COUNTRY.get(marketplace_code)
    return frozenset({own}) if own else frozenset()


def country_name(code: str, *, language: str | None = None) -> str:
    """A country's name in the shopper's language (babel's CLDR names): Vereinigte Staaten,
    アメリカ合衆国. The code itself when CLDR has no name for it."""
    code = (code or "").upper()
    return babel_locale(language=language).territories.get(code, code)


def country_choices(codes, *, language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) for a drop-down, sorted by the name as the shopper reads it."""
    names = babel_locale(language=language).territories
    return sorted(((c, names.get(c, c)) for c in codes), key=lambda pair: pair[1].casefold())
