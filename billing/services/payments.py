"""Payment methods (SPEC §2, §9): a card on file or invoice terms set by finance.

Only a card's brand, last four digits, expiry, cardholder name and billing address are kept;
the number passes through `payment_method_add` to be checked and is never stored or logged.
No card is charged here: there is no processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from console.activity import HistoryLine, activity_record
from console.metrics import payment_failed
from console.models import Account, Membership

from ..models import PaymentMethod, card_expired

# (brand, number prefixes as ranges of their leading digits, allowed lengths, CVC length)
CARD_BRANDS: list[tuple[str, list[tuple[int, int]], tuple[int, ...], int]] = [
    ("American Express", [(34, 34), (37, 37)], (15,), 4),
    ("Visa", [(4, 4)], (13, 16, 19), 3),
    ("Mastercard", [(51, 55), (2221, 2720)], (16,), 3),
    ("Discover", [(6011, 6011), (644, 649), (65, 65), (622126, 622925)], (16, 17, 18, 19), 3),
    ("JCB", [(3528, 3589)], (16, 17, 18, 19), 3),
    ("Diners Club", [(300, 305), (36, 36), (38, 39)], (14, 15, 16, 17, 18, 19), 3),
    ("UnionPay", [(62, 62)], (16, 17, 18, 19), 3),
]
ACCEPTED = "Visa, Mastercard, American Express, Discover, JCB, Diners Club or UnionPay"


def card_digits(number: str) -> str:
    """The digits of a card number as typed (spaces and dashes are allowed between groups)."""
    return "".join(ch for ch in (number or "") if ch not in " -")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every card number carries: catches a mistyped digit or a swap."""
    if not digits.isdigit():
        return False
    total = 0
    for position, ch in enumerate(reversed(digits)):
        n = int(ch)
        if position % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_brand(digits: str) -> tuple[str, tuple[int, ...], int] | None:
    """(brand, allowed lengths, CVC length) from the number's leading digits, or None."""
    for brand, ranges, lengths, cvc_length in CARD_BRANDS:
        for low, high in ranges:
            width = len(str(low))
            if len(digits) >= width and low <= int(digits[:width]) <= high:
                return brand, lengths, cvc_length
    return None


def card_number_check(number: str) -> tuple[str, str]:
    """(brand, last four) of a valid card number; ValidationError saying what is wrong."""
    digits = card_digits(number)
    if not digits.isdigit():
        raise ValidationError("A card number has digits only (spaces between groups are fine).")
    if not 12 <= len(digits) <= 19:
        raise ValidationError(
            f"A card number has 12 to 19 digits; this one has {len(digits)}.", code="length"
        )
    found = card_brand(digits)
    if found is None:
        raise ValidationError(f"We accept {ACCEPTED}; this card number is none of them.")
    brand, lengths, _ = found
    if len(digits) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise ValidationError(f"A {brand} card number has {expected} digits.", code="length")
    if not luhn_valid(digits):
        raise ValidationError(
            "This card number is not valid: please check for a mistyped digit.", code="luhn"
        )
    return brand, digits[-4:]


def card_expiry_error(exp_month: int, exp_year: int, today: date | None = None) -> str | None:
    """Why this expiry is not acceptable, or None. A card is good until its month's end."""
    today = today or timezone.localdate()
    if not 1 <= exp_month <= 12:
        return "Choose a month from 1 to 12."
    if card_expired(exp_month, exp_year, today):
        return (
            f"This card expired at the end of {exp_month:02d}/{exp_year}. "
            "Use a card that has not expired."
        )
    if exp_year > today.year + 20:
        return "That expiry year is too far ahead: check the date on the card."
    return None


def billing_change_refusal(*, account: Account, actor) -> str | None:
    """Why `actor` may not set this account's payment method, or None when they may.

    Only an admin of the account may set the first one (and so become the billing owner);
    after that, only the billing owner may change it (SPEC §2).
    """
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != account.pk:
        return "You are not a member of this account."
    if account.billing_owner_id is None:
        if not membership.is_admin:
            return "Only an admin of your account can set the payment method."
        return None
    if account.billing_owner_id != actor.pk:
        owner = account.billing_owner
        who = owner.email if owner else "the billing owner"
        return f"Only the billing owner ({who}) can change the payment method."
    return None


def payment_method_add(
    *,
    account: Account,
    actor,
    card_number: str,
    exp_month: int,
    exp_year: int,
    cardholder_name: str,
    billing_address: str,
) -> PaymentMethod:
    """Put a card on file for `account`, replacing the active one.

    The first admin to do so becomes the account's billing owner; after that only the owner
    may. The number is checked (Luhn, brand, length) and reduced to brand and last four
    before anything is written. Raises PermissionDenied or ValidationError (by field).
    """
    errors: dict[str, str] = {}
    try:
        brand, last4 = card_number_check(card_number)
    except ValidationError as exc:
        errors["card_number"] = exc.messages[0]
    expiry_error = card_expiry_error(exp_month, exp_year)
    if expiry_error:
        errors["exp_month"] = expiry_error
    if not billing_address.strip():
        errors["billing_address"] = "Enter the card's billing address."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        # Lock the account row first (the fixed order: account before its children), so two
        # admins adding a first card at once are serialised and only one becomes owner.
        account = Account.objects.select_for_update().get(pk=account.pk)
        refusal = billing_change_refusal(account=account, actor=actor)
        if refusal:
            raise PermissionDenied(refusal)
        if account.billing_owner_id is None:
            claimed = Account.objects.filter(pk=account.pk, billing_owner__isnull=True).update(
                billing_owner=actor
            )
            if not claimed:  # another admin became the owner since the row was read
                raise PermissionDenied("Another admin has just set the payment method.")
            account.billing_owner = actor
        # Deactivate before inserting: the conditional unique constraint allows one active.
        PaymentMethod.objects.filter(account=account, is_active=True).update(is_active=False)
        method = PaymentMethod.objects.create(
            account=account,
            brand=brand,
            last4=last4,
            exp_month=exp_month,
            exp_year=exp_year,
            cardholder_name=cardholder_name.strip(),
            billing_address=billing_address.strip(),
            created_by=actor,
        )
        activity_record(
            actor=actor,
            account=account,
            action="payment_method.added",
            target=method,
            data={"brand": brand, "last4": last4, "expires": f"{exp_month:02d}/{exp_year}"},
            # The account's admin history is where finance reads billing changes.
            history=[HistoryLine(account, f"Card on file set to {method}.")],
        )
    return method


PAYMENT_TERMS_REASON_REQUIRED = (
    "Say why the payment terms change (a ticket, an approval): it is kept in the account's history."
)


def payment_terms_set(*, account: Account, terms: str, actor, reason: str) -> Account:
    """Finance moves an account to invoice terms (invoiced monthly, no card needed) or back
    to its card on file, with the reason why. Staff only; recorded in the account's activity
    and admin history with the reason. Raises PermissionDenied for anyone but staff,
    ValidationError for unknown terms or a missing reason."""
    if not getattr(actor, "is_staff", False):
        raise PermissionDenied("Only Moments staff (finance) can change payment terms.")
    if terms not in Account.PaymentTerms.values:
        raise ValidationError({"payment_terms": f"Unknown payment terms: {terms!r}."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": PAYMENT_TERMS_REASON_REQUIRED})
    with transaction.atomic():
        changed = (
            Account.objects.filter(pk=account.pk)
            .exclude(payment_terms=terms)
            .update(payment_terms=terms)
        )
        old = account.payment_terms
        account.payment_terms = terms
        if changed:
            label = Account.PaymentTerms(terms).label
            activity_record(
                actor=actor,
                account=account,
                action="account.payment_terms_set",
                target=account,
                data={"old": Account.PaymentTerms(old).label, "new": label, "reason": reason},
                history=f"Payment terms set to {label}: {reason}",
            )
    return account


# Cards the simulated processor declines, by their last four digits: the payment processors'
# well-known test numbers for a decline (4000 0000 0000 0002, 4000 0000 0000 9995), so the demo
# and the tests can put a card on file that will fail.
DECLINING_TEST_CARDS = frozenset({"0002", "9995"})


@dataclass(frozen=True)
class CardCharge:
    """What the card on file answered to a charge: paid (and by which card) or why not."""

    paid: bool
    message: str
    paid_by: str = ""


def card_charge(*, account: Account, amount, today: date | None = None) -> CardCharge:
    """Charge `amount` to the account's card on file (simulated: there is no processor). It
    fails when there is no card, when the card has expired, or when it is one of the
    declining test cards. The invoice run charges on issue; dunning retries through this."""
    today = today or timezone.localdate()
    card = PaymentMethod.objects.filter(account_id=account.pk, is_active=True).first()
    if card is None:
        return _charge_failed("no_card", "There is no card on file.")
    if card_expired(card.exp_month, card.exp_year, today):
        return _charge_failed("expired", f"The card on file ({card}) has expired.")
    if card.last4 in DECLINING_TEST_CARDS:
        return _charge_failed("declined", f"The card {card.brand} •••• {card.last4} was declined.")
    return CardCharge(True, "Paid.", paid_by=f"{card.brand} •••• {card.last4}")


def _charge_failed(reason: str, text: str) -> CardCharge:
    # moments_payments_failed_total, once the caller's transaction commits (an invoice run that
    # rolls back and retries an account counts its failed charge once).
    transaction.on_commit(lambda: payment_failed(reason))
    return CardCharge(False, text)
