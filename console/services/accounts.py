"""Accounts: sign-up, the tax id, and the refusals by country."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from ..activity import activity_record
from ..models import (
    Account,
    Membership,
)

User = get_user_model()
log = logging.getLogger(__name__)


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Accounts ---------------------------------------------------------------------------------


def country_refusal(country_code: str) -> str | None:
    """The message shown to a developer from a country Moments does not serve, else None."""
    name = settings.REFUSED_COUNTRIES.get((country_code or "").upper())
    if name is None:
        return None
    return (
        f"Sorry, Moments is not available to developers based in {name}. "
        "Developers from South Africa, Albania, Saudi Arabia, Russia, Switzerland and countries "
        "on the US embargo list cannot sign up."
    )


def tax_id_normalize(value: str) -> str:
    """An optional tax/VAT id as printed on invoices: trimmed, upper case, single spaces; raises
    ValidationError when it cannot be one (letters, digits, spaces, '-', '.', '/' only)."""
    value = " ".join((value or "").split()).upper()
    if len(value) > 40:
        raise ValidationError("A tax / VAT id has at most 40 characters.")
    if value and not all(c.isalnum() or c in " -./" for c in value):
        raise ValidationError(
            "A tax / VAT id has only letters, digits, spaces, '-', '.' and '/' (e.g. DE123456789)."
        )
    return value


def account_signup(
    *,
    company: str,
    country: str,
    billing_address: str,
    email: str,
    password: str,
    tax_id: str = "",
) -> Membership:
    """Create an account with its first user, who becomes its admin.

    Refuses the countries of SPEC §2 and an email that already has a user.
    """
    refusal = country_refusal(country)
    if refusal:
        raise ValidationError({"country": refusal})
    try:
        tax_id = tax_id_normalize(tax_id)
    except ValidationError as exc:
        raise ValidationError({"tax_id": exc.messages}) from None
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        if User.objects.filter(username__iexact=email).exists():
            raise ValidationError({"email": "An account with this email already exists."})
        user = User.objects.create_user(username=email, email=email, password=password)
        account = Account.objects.create(
            name=company.strip(),
            country=country,
            billing_address=billing_address.strip(),
            tax_id=tax_id,
        )
        activity_record(actor=user, account=account, action="account.signed_up", target=account)
        return Membership.objects.create(account=account, user=user, role=Membership.Role.ADMIN)
