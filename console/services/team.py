"""Teams: invitations, members' roles and removal (an account always keeps an admin)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..activity import activity_record
from ..models import (
    Account,
    Invitation,
    Membership,
)
from .accounts import _sha256

User = get_user_model()
log = logging.getLogger(__name__)

INVITATION_DAYS = 7


# --- Team -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # the raw token, only ever in the email's link


def invitation_create(
    *, account: Account, actor, email: str, role: str = Membership.Role.MEMBER
) -> IssuedInvitation:
    """Invite a teammate by email: replaces any open invitation to the same address and sends
    the link (after commit, so a rolled-back invitation is never mailed)."""
    membership = getattr(actor, "membership", None)
    if membership is None or membership.account_id != account.pk or not membership.is_admin:
        raise PermissionError("Only an admin of this account can invite teammates.")
    email = User.objects.normalize_email(email).lower()
    existing = User.objects.filter(username__iexact=email).first()
    if existing is not None and not _may_rejoin(existing):
        in_team = Membership.objects.filter(user=existing, account=account).exists()
        raise ValidationError(
            {
                "email": f"{email} is already on your team."
                if in_team
                else "This person already has a Moments Console account; "
                "a user can belong to one company only."
            }
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            account=account, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            token_hash=_sha256(token),
            invited_by=actor,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        activity_record(
            actor=actor,
            account=account,
            action="invitation.created",
            target=invitation,
            data={"email": email, "role": role},
        )
        link = f"{settings.SITE_URL}/invitations/{token}/"
        context = {"account": account, "inviter": actor, "link": link, "days": INVITATION_DAYS}
        transaction.on_commit(
            lambda: send_mail(
                subject=f"{actor.email} invited you to {account.name} on Moments Console",
                message=render_to_string("console/email/invitation.txt", context),
                html_message=render_to_string("console/email/invitation.html", context),
                from_email=None,
                recipient_list=[email],
            )
        )
    return IssuedInvitation(invitation=invitation, token=token)


def _may_rejoin(user) -> bool:
    """A user may be invited when they belong to no company: a teammate removed from an account
    keeps their user (the activity log names them), deactivated and without a seat. Staff never
    join a developer account."""
    return not user.is_staff and not Membership.objects.filter(user=user).exists()


def invitation_returning_user(*, invitation: Invitation):
    """The existing user an invitation is for (a removed teammate invited again), or None when
    accepting creates a new user."""
    return User.objects.filter(username__iexact=invitation.email).first()


def invitation_find(*, token: str) -> Invitation | None:
    """The open invitation for a raw link token, or None."""
    invitation = (
        Invitation.objects.select_related("account").filter(token_hash=_sha256(token)).first()
    )
    if invitation is None or not invitation.is_open:
        return None
    return invitation


def invitation_accept(*, token: str, password: str) -> Membership:
    """Accept an invitation: creates the invitee's user and seat, and closes the invitation.

    A removed teammate invited again (their user is kept, deactivated) signs in instead: the
    password is their existing one, and their user is reactivated with the new seat.
    The conditional update makes a double-submitted form accept it once.
    """
    invitation = invitation_find(token=token)
    if invitation is None:
        raise ValidationError("This invitation link is invalid, used or expired.")
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=timezone.now())
        if claimed != 1:
            raise ValidationError("This invitation has already been used.")
        # Locked: a removal or another invitation of the same user waits for this seat.
        user = User.objects.select_for_update().filter(username__iexact=invitation.email).first()
        if user is not None:
            if not _may_rejoin(user):
                raise ValidationError("This email already has a Moments Console account.")
            # Raising rolls the claim back: a mistyped password leaves the link usable.
            if not user.check_password(password):
                raise ValidationError(
                    "That is not the password of your Moments Console account. "
                    "Enter the password you signed in with before."
                )
            User.objects.filter(pk=user.pk).update(is_active=True)
            user.is_active = True
        else:
            try:
                with transaction.atomic():
                    user = User.objects.create_user(
                        username=invitation.email, email=invitation.email, password=password
                    )
            except IntegrityError as exc:
                raise ValidationError(
                    "This email already has a Moments Console account."
                ) from exc
        activity_record(
            actor=user,
            account=invitation.account,
            action="invitation.accepted",
            target=invitation,
            data={"email": invitation.email, "role": invitation.role},
        )
        return Membership.objects.create(
            account=invitation.account, user=user, role=invitation.role
        )


def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """Withdraw an open invitation; its link stops working."""
    with transaction.atomic():
        revoked = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if revoked:  # revoking twice (a double click) is one change
            activity_record(
                actor=actor,
                account=invitation.account_id,
                action="invitation.revoked",
                target=invitation,
                data={"email": invitation.email},
            )


# --- Members ----------------------------------------------------------------------------------


def _require_account_admin(*, actor, account: Account) -> None:
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != account.pk or not membership.is_admin:
        raise PermissionDenied("Only an admin of this account can do this.")


def _lock_account(account: Account) -> Account:
    # Every change to who administers an account takes the account's row lock first (the
    # fixed order: account before its children), so two admins demoting or removing each other
    # at once are serialised and the second sees that it would leave no admin.
    return Account.objects.select_for_update().get(pk=account.pk)


def _other_admins(membership: Membership) -> int:
    return (
        Membership.objects.filter(account_id=membership.account_id, role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .count()
    )


def _release_billing_ownership(*, account: Account, user) -> bool:
    """The billing owner is the only one who may change the payment method (SPEC §2): when
    they stop being an admin, nobody could. Clearing it lets the next admin who sets a card
    become the owner. True when the user was the owner."""
    return bool(
        Account.objects.filter(pk=account.pk, billing_owner=user).update(billing_owner=None)
    )


LAST_ADMIN = (
    "{email} is the only admin of {account}: make another teammate an admin first, "
    "so someone can still manage apps, keys, members and billing."
)


def membership_role_set(*, actor, membership: Membership, role: str) -> Membership:
    """An admin makes a teammate an admin or a member.

    Never demotes the account's last admin (ValidationError); PermissionDenied for anyone but
    an admin of the same account. Demoting the billing owner releases billing ownership.
    """
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose a role: {', '.join(Membership.Role.labels)}."})
    with transaction.atomic():
        account = _lock_account(membership.account)
        _require_account_admin(actor=actor, account=account)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        old = membership.role
        if old == role:
            return membership
        if old == Membership.Role.ADMIN and not _other_admins(membership):
            raise ValidationError(LAST_ADMIN.format(email=membership.user.email, account=account))
        Membership.objects.filter(pk=membership.pk).update(role=role)
        membership.role = role
        released = False
        if role != Membership.Role.ADMIN:
            released = _release_billing_ownership(account=account, user=membership.user)
        activity_record(
            actor=actor,
            account=account,
            action="membership.role_changed",
            target=membership,
            data={
                "email": membership.user.email,
                "old_role": old,
                "new_role": role,
                **({"billing_owner_released": True} if released else {}),
            },
        )
    return membership


def membership_remove(*, actor, membership: Membership) -> None:
    """An admin removes a teammate (themself too, unless they are the last admin).

    The seat is deleted and the user deactivated: their sessions end on their next request,
    and what they did keeps their name in the activity log. Removing the billing owner
    releases billing ownership. Never removes the last admin (ValidationError).
    """
    with transaction.atomic():
        account = _lock_account(membership.account)
        _require_account_admin(actor=actor, account=account)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        user = membership.user
        if membership.is_admin and not _other_admins(membership):
            raise ValidationError(LAST_ADMIN.format(email=user.email, account=account))
        released = _release_billing_ownership(account=account, user=user)
        activity_record(
            actor=actor,
            account=account,
            action="membership.removed",
            target=membership,
            data={
                "email": user.email,
                "role": membership.role,
                **({"billing_owner_released": True} if released else {}),
            },
        )
        membership.delete()
        User.objects.filter(pk=user.pk).update(is_active=False)
