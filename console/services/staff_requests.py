"""Requests to staff (a higher spend limit, a product for the catalog, ...) and their answers."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..activity import activity_record
from ..hooks import PAYMENT_TERMS_SET, hook_call
from ..models import (
    Account,
    Membership,
    StaffRequest,
)
from ..money import round_money
from .spend_limits import _money, account_spend_limit_set, spend_limit_max

# Requests about money: answered by finance only (SPEC §1: reviewers never see money). The
# finance permission is the one that changes an account's limit and terms.
MONEY_KINDS = (StaffRequest.Kind.SPEND_LIMIT, StaffRequest.Kind.INVOICE_TERMS)
FINANCE_PERMISSION = "console.change_account"
ANSWER_PERMISSION = "console.change_staffrequest"

# --- Requests to staff ------------------------------------------------------------------------

ASIN_PATTERN = r"^[A-Z0-9]{10}$"


def marketplace_choices() -> list[tuple[str, str]]:
    """The 13 marketplaces (SPEC §4) as (code, name). Read from the catalog's constant list,
    a module without imports: the console layer reads it, never the catalog's models."""
    from console.marketplaces import MARKETPLACES

    return [(code, name) for code, name, *_ in MARKETPLACES]


def _staff_request_subject(
    *, kind: str, amount, asin: str, marketplace: str, app_name: str, subject: str
) -> str:
    Kind = StaffRequest.Kind
    if kind == Kind.SPEND_LIMIT:
        return f"Raise the monthly spend limit to {_money(amount)}"
    if kind == Kind.INVOICE_TERMS:
        return f"Pay by invoice (about {_money(amount)} a month)"
    if kind == Kind.OWN_REWARD:
        return f"Own reward: ASIN {asin} in {marketplace}"
    if kind == Kind.MERCH:
        return "Merch t-shirts (US beta)"
    if kind == Kind.FIRE_TV:
        return f"Fire TV app registration: {app_name}"[:200]
    return subject[:200]


def staff_request_errors(
    *,
    account: Account,
    kind: str,
    amount=None,
    asin: str = "",
    marketplace: str = "",
    app_name: str = "",
    store_url: str = "",
    subject: str = "",
    details: str = "",
) -> dict[str, str]:
    """What is wrong with a request, by field (empty when nothing is). The forms show these
    messages; the service raises them."""
    Kind = StaffRequest.Kind
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        return {"kind": "Choose what you are asking for."}
    if kind in (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS):
        limit = account.monthly_spend_limit
        if amount is None:
            errors["amount"] = "Enter an amount in USD, e.g. 25000."
        elif amount <= 0:
            errors["amount"] = "Enter an amount greater than zero."
        elif amount > spend_limit_max():
            # The most finance may set: a request above it could never be approved.
            errors["amount"] = f"Enter at most {_money(spend_limit_max())}."
        elif kind == Kind.SPEND_LIMIT and amount <= limit:
            errors["amount"] = (
                f"Your monthly spend limit is already {_money(limit)}: ask for more than that."
            )
    if kind == Kind.INVOICE_TERMS and account.payment_terms == Account.PaymentTerms.INVOICE:
        errors["__all__"] = "Your account is already invoiced monthly."
    if kind == Kind.OWN_REWARD:
        if not re.fullmatch(ASIN_PATTERN, asin or ""):
            errors["asin"] = (
                "An ASIN is 10 capital letters and digits, as on the product's Amazon page "
                "(e.g. B08N5WRWNW)."
            )
        if marketplace not in dict(marketplace_choices()):
            errors["marketplace"] = "Choose the marketplace the product is sold in."
    if kind == Kind.FIRE_TV:
        if not (app_name or "").strip():
            errors["app_name"] = "Enter the app's name."
        if not (store_url or "").strip():
            errors["store_url"] = "Enter the app's store URL or website."
        else:
            try:
                URLValidator(schemes=["http", "https"])(store_url.strip())
            except ValidationError:
                errors["store_url"] = "Enter the app's store URL, e.g. https://www.amazon.com/dp/…"
    needs_why = kind in (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS, Kind.MERCH, Kind.OTHER)
    if needs_why and not (details or "").strip():
        errors["details"] = "Tell the Moments team why: it helps them answer quickly."
    if kind == Kind.OTHER and not (subject or "").strip():
        errors["subject"] = "Give your request a subject."
    return errors


def _already_open(*, account: Account, kind: str, asin: str, marketplace: str):
    Kind = StaffRequest.Kind
    open_requests = StaffRequest.objects.filter(account=account, status=StaffRequest.Status.OPEN)
    if kind in StaffRequest.ONE_OPEN_PER_ACCOUNT:
        return open_requests.filter(kind=kind).first()
    if kind == Kind.OWN_REWARD:
        return open_requests.filter(kind=kind, asin=asin, marketplace=marketplace).first()
    return None


def _duplicate_error(existing: StaffRequest) -> ValidationError:
    return ValidationError(
        f"You already have an open request for this (#{existing.pk}, "
        f"“{existing.subject}”): wait for its answer or withdraw it first."
    )


def staff_request_create(
    *,
    account: Account,
    actor,
    kind: str,
    details: str = "",
    amount: Decimal | None = None,
    asin: str = "",
    marketplace: str = "",
    app_name: str = "",
    store_url: str = "",
    subject: str = "",
) -> StaffRequest:
    """Any member of the account asks the Moments team for something (SPEC §12, §3, §4).

    Validates the fields the kind needs (ValidationError by field) and refuses a second open
    request for the same thing (a database constraint decides when two arrive at once).
    """
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != account.pk:
        raise PermissionDenied("Only a member of this account can raise its requests.")
    asin = (asin or "").strip().upper()
    marketplace = (marketplace or "").strip().upper()
    if amount is not None:
        amount = round_money(Decimal(str(amount)))
    account = Account.objects.get(pk=account.pk)  # the limit and terms as they are now
    errors = staff_request_errors(
        account=account,
        kind=kind,
        amount=amount,
        asin=asin,
        marketplace=marketplace,
        app_name=app_name,
        store_url=store_url,
        subject=subject,
        details=details,
    )
    if errors:
        raise ValidationError(errors)
    existing = _already_open(account=account, kind=kind, asin=asin, marketplace=marketplace)
    if existing is not None:
        raise _duplicate_error(existing)
    Kind = StaffRequest.Kind
    keep_amount = kind in (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS)
    staff_request = StaffRequest(
        account=account,
        kind=kind,
        requested_by=actor,
        subject=_staff_request_subject(
            kind=kind,
            amount=amount,
            asin=asin,
            marketplace=marketplace,
            app_name=(app_name or "").strip(),
            subject=(subject or "").strip(),
        ),
        details=(details or "").strip(),
        amount=amount if keep_amount else None,
        asin=asin if kind == Kind.OWN_REWARD else "",
        marketplace=marketplace if kind == Kind.OWN_REWARD else "",
        app_name=(app_name or "").strip() if kind == Kind.FIRE_TV else "",
        store_url=(store_url or "").strip() if kind == Kind.FIRE_TV else "",
    )
    try:
        with transaction.atomic():
            staff_request.save()
            activity_record(
                actor=actor,
                account=account,
                action="staff_request.created",
                target=staff_request,
                data={"kind": kind, "subject": staff_request.subject},
            )
    except IntegrityError:
        # Another teammate's identical request committed first: theirs stands.
        existing = _already_open(account=account, kind=kind, asin=asin, marketplace=marketplace)
        if existing is None:
            raise
        raise _duplicate_error(existing) from None
    return staff_request


def staff_request_answer_recipients(staff_request: StaffRequest) -> list[str]:
    """Who is told the answer: the requester and the account's admins, once each."""
    emails = []
    requester = staff_request.requested_by
    if requester is not None and requester.is_active and requester.email:
        emails.append(requester.email)
    emails += (
        Membership.objects.filter(
            account_id=staff_request.account_id,
            role=Membership.Role.ADMIN,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(e.lower() for e in emails))


def staff_request_may_answer(*, actor, kind: str) -> bool:
    """Whether `actor` may answer a request of this kind: staff with the answer permission,
    and for a request about money (a spend limit, invoice terms) the finance permission too.
    The admin shows "Answer…" only where this is true."""
    if not (getattr(actor, "is_staff", False) and actor.has_perm(ANSWER_PERMISSION)):
        return False
    return kind not in MONEY_KINDS or actor.has_perm(FINANCE_PERMISSION)


def staff_request_answer(
    *, actor, staff_request: StaffRequest, decision: str, answer: str
) -> StaffRequest:
    """Staff approve or decline an open request with an answer the developer reads; the
    requester and the account's admins are emailed it after commit.

    Only staff with the change permission of requests may, and only finance staff answer a
    request about money (PermissionDenied). A conditional UPDATE answers an open request
    once: a second answer, or an answer to a withdrawn request, is a ValidationError.

    Approving a spend-limit request sets the limit it asked for through
    `account_spend_limit_set` in the same transaction (issue 20: the developer was told
    "approved" while the limit stayed put): the answer and the change commit together or not
    at all. A limit already at or above the amount asked is left as it is (approving never
    lowers it). Approving an invoice-terms request moves the account to invoice terms the same
    way (billing's payment_terms_set, through the PAYMENT_TERMS_SET hook).
    """
    if not staff_request_may_answer(actor=actor, kind=staff_request.kind):
        if staff_request_may_answer(actor=actor, kind=StaffRequest.Kind.OTHER):
            raise PermissionDenied(
                "Only Moments finance staff can answer a request about a spend limit or "
                "invoice terms."
            )
        raise PermissionDenied("Only Moments staff can answer requests.")
    errors = {}
    if decision not in StaffRequest.ANSWERED:
        errors["decision"] = "Choose approved or declined."
    if not (answer or "").strip():
        errors["answer"] = "Write the answer the developer will read."
    if errors:
        raise ValidationError(errors)
    answer = answer.strip()
    now = timezone.now()
    with transaction.atomic():
        answered = StaffRequest.objects.filter(
            pk=staff_request.pk, status=StaffRequest.Status.OPEN
        ).update(status=decision, answer=answer, answered_by=actor, answered_at=now)
        if answered != 1:
            current = StaffRequest.objects.get(pk=staff_request.pk)
            raise ValidationError(
                f"This request is already {current.get_status_display().lower()}: "
                "it can be answered once."
            )
        staff_request.refresh_from_db()
        limit_change = None
        approved = decision == StaffRequest.Status.APPROVED
        if approved and staff_request.kind == StaffRequest.Kind.SPEND_LIMIT:
            limit_change = _spend_limit_apply(actor=actor, staff_request=staff_request)
        if approved and staff_request.kind == StaffRequest.Kind.INVOICE_TERMS:
            # Billing is a layer above: it registers the hook that sets the terms, and it
            # runs here, in this transaction.
            hook_call(
                PAYMENT_TERMS_SET,
                account=Account.objects.get(pk=staff_request.account_id),
                terms=Account.PaymentTerms.INVOICE,
                actor=actor,
                reason=f"Request #{staff_request.pk} approved: {staff_request.answer}",
            )
        activity_record(
            actor=actor,
            account=staff_request.account_id,
            action="staff_request.answered",
            target=staff_request,
            data={
                "kind": staff_request.kind,
                "decision": decision,
                **(
                    {"old_limit": limit_change.old_limit, "new_limit": limit_change.new_limit}
                    if limit_change
                    else {}
                ),
            },
        )
        recipients = staff_request_answer_recipients(staff_request)
        if recipients:
            context = {
                "request": staff_request,
                "link": f"{settings.SITE_URL}/requests/{staff_request.pk}/",
            }
            subject = (
                f"Your request #{staff_request.pk} was "
                f"{staff_request.get_status_display().lower()}: {staff_request.subject}"
            )[:200]
            transaction.on_commit(
                lambda: send_mail(
                    subject=subject,
                    message=render_to_string("console/email/staff_request_answered.txt", context),
                    html_message=render_to_string(
                        "console/email/staff_request_answered.html", context
                    ),
                    from_email=None,
                    recipient_list=recipients,
                )
            )
    return staff_request


def _spend_limit_apply(*, actor, staff_request: StaffRequest):
    """The change an approved spend-limit request stands for, inside the answer's
    transaction: the limit asked for, with the request as the reason. None when the account's
    limit is already that high (finance raised it by hand first)."""
    account = Account.objects.select_for_update().get(pk=staff_request.account_id)
    if account.monthly_spend_limit >= staff_request.amount:
        return None
    try:
        # Approving the amount the developer asked for is finance's confirmation of the jump.
        return account_spend_limit_set(
            actor=actor,
            account=account,
            limit=staff_request.amount,
            reason=f"Request #{staff_request.pk} approved: {staff_request.answer}"[:500],
            confirmed=True,
        )
    except ValidationError as exc:
        # The answer form has no `limit` field: the refusal (above SPEND_LIMIT_MAX, say) is
        # the answer's own error, and nothing of the answer is saved.
        raise ValidationError(
            [f"The limit asked for cannot be set: {message}" for message in exc.messages]
        ) from exc


def staff_request_withdraw(*, actor, staff_request: StaffRequest) -> StaffRequest:
    """A member of the account withdraws an open request (it is closed, never deleted)."""
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != staff_request.account_id:
        raise PermissionDenied("Only a member of this account can withdraw its requests.")
    with transaction.atomic():
        closed = StaffRequest.objects.filter(
            pk=staff_request.pk, status=StaffRequest.Status.OPEN
        ).update(status=StaffRequest.Status.CLOSED)
        if closed != 1:
            raise ValidationError("Only an open request can be withdrawn: this one was answered.")
        staff_request.status = StaffRequest.Status.CLOSED
        activity_record(
            actor=actor,
            account=staff_request.account_id,
            action="staff_request.withdrawn",
            target=staff_request,
            data={"kind": staff_request.kind},
        )
    return staff_request
