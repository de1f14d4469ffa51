"""The staff landing page (issue 20): where Django admin's "View site" takes Moments staff,
who have no developer account. It lists the desks the user's groups open, each with what is
waiting there, and nothing a group cannot use (a link would only lead to a 403)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse

from campaigns.models import Campaign
from console.models import StaffRequest
from console.services.staff import STAFF_GROUP_DUTIES, STAFF_ROLES
from rewards.models import Claim, ClaimReview


@dataclass(frozen=True)
class Desk:
    """One place of work in admin: a title, what it is for, its link, and how many items wait
    there (None when the desk has no queue)."""

    title: str
    what: str
    url: str
    icon: str
    waiting: int | None = None
    waiting_label: str = ""


def staff_desks(user) -> list[Desk]:
    """The desks `user`'s permissions open, in the order staff work them (one COUNT each)."""
    desks = []
    if user.has_perm("campaigns.review_campaign"):
        desks.append(
            Desk(
                "Review queue",
                "Submitted campaigns, oldest first: approve, reject with a reason, suspend.",
                reverse("admin:campaigns_campaignreview_changelist"),
                "bi-check2-square",
                Campaign.objects.filter(status=Campaign.Status.PENDING_APPROVAL).count(),
                "waiting for review",
            )
        )
    if user.has_perm("billing.view_invoice"):
        desks.append(
            Desk(
                "Finance desk",
                "Invoices: issue, export, mark paid, credit; the ledger and monthly spend.",
                reverse("admin:billing_invoice_changelist"),
                "bi-receipt",
            )
        )
        desks.append(
            Desk(
                "Receivables and revenue",
                "Aging of what is owed, revenue by month tied to the ledger, bank-statement "
                "reconciliation and the month-end pack.",
                reverse("finance:aging"),
                "bi-graph-up",
            )
        )
    if user.has_perm("console.change_account"):
        desks.append(
            Desk(
                "Accounts",
                "Spend limits and payment terms, each change with its reason.",
                reverse("admin:console_account_changelist"),
                "bi-building",
            )
        )
    if user.has_perm("console.change_staffrequest"):
        desks.append(
            Desk(
                "Requests to staff",
                "Developers' requests: spend limits and invoice terms (finance), catalog "
                "requests (reviewers).",
                reverse("admin:console_staffrequest_changelist"),
                "bi-inbox",
                StaffRequest.objects.filter(status=StaffRequest.Status.OPEN).count(),
                "open",
            )
        )
    if user.has_perm("rewards.review_claim"):
        reviewed = Exists(ClaimReview.objects.filter(claim=OuterRef("pk")))
        desks.append(
            Desk(
                "Fraud queue",
                "Claims flagged by the fraud check: see the linked shoppers, release or block.",
                reverse("admin:rewards_claim_changelist"),
                "bi-shield-exclamation",
                Claim.objects.filter(status=Claim.Status.FLAGGED).exclude(reviewed).count(),
                "flagged, awaiting a decision",
            )
        )
    if user.has_perm("console.view_activityentry"):
        desks.append(
            Desk(
                "Activity log",
                "Every account's changes: who, when, what, from which IP.",
                reverse("admin:console_activityentry_changelist"),
                "bi-clock-history",
            )
        )
    return desks


def staff_home(request):
    """Staff's page on the console's side; developers go to their dashboard."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if request.account:
        return redirect("console:dashboard")
    if not request.user.is_staff:
        raise PermissionDenied("This user is not a member of a developer account.")
    user = request.user
    groups = sorted(user.groups.filter(name__in=STAFF_GROUP_DUTIES).values_list("name", flat=True))
    return render(
        request,
        "console/staff_home.html",
        {
            "desks": staff_desks(user),
            "groups": [(name, STAFF_GROUP_DUTIES[name]) for name in groups],
            "roles": STAFF_ROLES,
        },
    )
