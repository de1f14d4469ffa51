"""Moments staff (SPEC §1): the three staff groups and what each may do, and staff users.

The groups' permissions are written down once, in STAFF_GROUPS: the data migration that
creates the groups (console/migrations/0009_staff_groups.py), `manage.py create_staff` and the
tests all call `staff_groups_ensure`, so a database set up by migrations and one repaired by the
command hold the same groups. Permissions are named by "app_label.codename" strings: the
platform layer names the permissions of the upper apps without importing them.
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from ..activity import activity_record


def _grants(app_label: str, model: str, *actions: str) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]


# Reviewers work the review queue (approve, reject, suspend) and answer requests about the
# catalog (own reward, Merch, Fire TV): they see no money (SPEC §13), so they never get a
# billing model, and money requests are approved by finance only (staff_request_answer).
# Finance sees accounts, spend, the ledger and invoices, sets spend limits and payment terms
# (change_account, change_invoice: their admin actions require them) and answers requests.
# Support works the fraud queue: flagged claims, released or blocked (review_claim), and reads
# the activity log where each decision is written.
STAFF_GROUPS: dict[str, list[str]] = {
    "Reviewers": [
        *_grants("campaigns", "campaign", "view", "review"),
        *_grants("campaigns", "campaignreview", "view"),
        *_grants("campaigns", "rewardgroup", "view"),
        *_grants("campaigns", "moment", "view"),
        *_grants("campaigns", "campaigntransition", "view"),
        *_grants("campaigns", "reviewchecklistitem", "view"),
        *_grants("campaigns", "campaignsubmission", "view"),
        *_grants("console", "account", "view"),
        *_grants("console", "app", "view"),
        *_grants("console", "staffrequest", "view", "change"),
        *_grants("rewards", "product", "view"),
        *_grants("rewards", "discountcategory", "view"),
        *_grants("rewards", "marketplace", "view"),
    ],
    "Finance": [
        *_grants("console", "account", "view", "change"),
        *_grants("console", "membership", "view"),
        *_grants("console", "app", "view"),
        *_grants("console", "staffrequest", "view", "change"),
        *_grants("billing", "paymentmethod", "view"),
        *_grants("billing", "ledgerentry", "view"),
        *_grants("billing", "accountmonthlyspend", "view"),
        *_grants("billing", "campaignmonthlyspend", "view"),
        *_grants("billing", "invoice", "view", "change"),
        *_grants("billing", "invoiceline", "view"),
        *_grants("billing", "invoicedentry", "view"),
        *_grants("campaigns", "campaign", "view"),
        *_grants("campaigns", "rewardgroup", "view"),
        *_grants("campaigns", "moment", "view"),
        *_grants("campaigns", "campaigntransition", "view"),
        *_grants("rewards", "marketplace", "view"),
        *_grants("rewards", "exchangerate", "view"),
    ],
    "Support": [
        *_grants("rewards", "claim", "view", "review"),
        *_grants("rewards", "claimreview", "view"),
        *_grants("console", "activityentry", "view"),
    ],
}

# `create_staff --role` → the group it puts the user in.
STAFF_ROLES: dict[str, str] = {"reviewer": "Reviewers", "finance": "Finance", "support": "Support"}

# What each group may do, in the words of the staff landing page and README.
STAFF_GROUP_DUTIES: dict[str, str] = {
    "Reviewers": "approve, reject and suspend campaigns; answer catalog requests; never see money",
    "Finance": "invoices, payments, credit notes, spend limits, payment terms, money requests",
    "Support": "the fraud queue: release or block flagged claims; read the activity log",
}


def staff_groups_ensure(*, apps=None, missing_ok: bool = False) -> dict[str, object]:
    """Create the three staff groups and give each its permissions (STAFF_GROUPS); safe to
    run again. Permissions are only added, never taken away: a later migration may grant a
    group more, and running the command must not undo it.

    `apps` is a migration's historical registry; permissions are normally created after the
    last migration (post_migrate), so they are created here first, for a fresh database. A
    migration passes `missing_ok`: a permission of a model added by a later migration is
    granted when that migration (or the command) calls this again.
    """
    from django.contrib.auth.management import create_permissions

    apps = apps or django_apps
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True  # historical apps have none
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {}
    for name, perms in STAFF_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [perm.split(".", 1) for perm in perms]
        found = list(
            Permission.objects.filter(
                content_type__app_label__in={app for app, _ in wanted},
                codename__in={codename for _, codename in wanted},
            ).values_list("pk", "content_type__app_label", "codename")
        )
        pks = [pk for pk, app, codename in found if [app, codename] in wanted]
        missing = set(perms) - {f"{app}.{codename}" for _, app, codename in found}
        if missing and not missing_ok:
            raise LookupError(f"Permissions missing for the {name} group: {sorted(missing)}")
        group.permissions.add(*pks)
        groups[name] = group
    return groups


def staff_user_set(*, email: str, role: str, password: str | None = None, actor=None):
    """Create a staff user in the group of `role`, or put an existing user there: staff
    (`is_staff`), in that group, active. With `password`, it is validated and set; without,
    a new user gets an unusable one (they set theirs through the reset link). Returns
    (user, created). Raises ValidationError for an unknown role, a bad address, a weak
    password, or the address of a developer account's member (staff have no developer
    account: the console would take them for the developer).
    """
    from django.contrib.auth.password_validation import validate_password

    from ..models import Membership

    email = (email or "").strip().lower()
    if role not in STAFF_ROLES:
        raise ValidationError(f"Unknown role “{role}”: use one of {', '.join(STAFF_ROLES)}.")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"“{email}” is not an email address.") from None
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and Membership.objects.filter(user=user).exists():
        raise ValidationError(
            f"{email} is a member of a developer account: staff use an address of their own."
        )
    if password is not None:
        validate_password(password, user=user)
    with transaction.atomic():
        groups = staff_groups_ensure()
        created = user is None
        if created:
            user = User(username=email, email=email)
        user.is_staff = True
        user.is_active = True
        if password is not None:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        user.groups.add(groups[STAFF_ROLES[role]])
        activity_record(
            actor=actor,
            account=None,
            action="staff.user_set",
            target=user,
            data={"role": role, "created": created},
        )
    return user, created
