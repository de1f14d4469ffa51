"""The shopper's URLs, under /r/ (included by rewards/urls.py after the API's patterns).
Fixed paths first: a reward token is 43 characters, never one of these words."""

from __future__ import annotations

from django.urls import path, re_path

from . import views, views_substitute_return
from .errors import shopper_not_found

urlpatterns = [
    path("r/me/", views.my_rewards, name="my_rewards"),
    path("r/me/delete/", views.shopper_delete_view, name="shopper_delete"),
    path(
        "r/me/claims/<int:claim_id>/return/",
        views_substitute_return.claim_return_view,
        name="claim_return",
    ),
    path(
        "r/<str:token>/substitute/",
        views_substitute_return.reward_substitute,
        name="reward_substitute",
    ),
    path("r/account/signup/", views.shopper_signup, name="shopper_signup"),
    path("r/account/signin/", views.shopper_signin, name="shopper_signin"),
    path("r/account/signout/", views.shopper_signout, name="shopper_signout"),
    path("r/account/reset/", views.shopper_password_reset, name="shopper_password_reset"),
    path(
        "r/account/reset/<str:token>/",
        views.shopper_password_reset_confirm,
        name="shopper_password_reset_confirm",
    ),
    path("r/test/<uuid:campaign_id>/", views.test_reward_page, name="test_reward_page"),
    path("r/test/<uuid:campaign_id>/claim/", views.test_reward_claim, name="test_reward_claim"),
    path("r/<str:token>/", views.reward_page, name="reward_page"),
    path("r/<str:token>/claim/", views.reward_claim_view, name="reward_claim"),
    path("r/<str:token>/done/", views.reward_done, name="reward_done"),
    path("r/<str:token>/state/", views.reward_state, name="reward_state"),
    # Any other /r/ path: the shopper's 404 page, not the console's (nor, under DEBUG, Django's
    # list of every URL pattern). Paths without the slash get APPEND_SLASH's redirect here.
    re_path(r"^r/(?:.*/)?$", shopper_not_found, name="shopper_not_found"),
]
