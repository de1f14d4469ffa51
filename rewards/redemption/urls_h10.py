"""The shopper's URLs for out-of-stock substitution and returns (views_h10.py); included by
rewards/urls.py beside redemption/urls.py."""

from __future__ import annotations

from django.urls import path

from . import views_h10

urlpatterns = [
    path(
        "r/me/claims/<int:claim_id>/return/",
        views_h10.claim_return_view,
        name="claim_return",
    ),
    path("r/<str:token>/substitute/", views_h10.reward_substitute, name="reward_substitute"),
]
