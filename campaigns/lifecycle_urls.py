"""Lifecycle actions of the developer's campaign pages (included in the campaigns namespace)."""

from django.urls import path

from . import lifecycle_views

urlpatterns = [
    path(
        "<uuid:campaign_id>/take-down/",
        lifecycle_views.campaign_take_down_view,
        name="take_down",
    ),
]
