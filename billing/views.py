"""Billing pages."""

from __future__ import annotations

from django.shortcuts import render

from console.decorators import account_required


@account_required
def overview(request):
    account = request.account
    return render(
        request,
        "billing/overview.html",
        {"payment_methods": account.payment_methods.filter(is_active=True)},
    )
