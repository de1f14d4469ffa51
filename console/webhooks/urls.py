"""The Webhooks page's URLs (namespace `webhooks`, under /webhooks/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("<int:pk>/", views.endpoint_detail, name="detail"),
    path("<int:pk>/edit/", views.endpoint_edit, name="edit"),
    path("<int:pk>/secret/rotate/", views.endpoint_rotate_secret, name="rotate_secret"),
    path("<int:pk>/enable/", views.endpoint_enable, name="enable"),
    path("<int:pk>/disable/", views.endpoint_disable, name="disable"),
    path("<int:pk>/delete/", views.endpoint_delete, name="delete"),
    path("<int:pk>/test/", views.endpoint_send_test, name="test"),
    path(
        "<int:pk>/deliveries/<int:delivery_pk>/retry/",
        views.delivery_retry,
        name="delivery_retry",
    ),
    path(
        "<int:pk>/deliveries/<int:delivery_pk>/resend/",
        views.delivery_resend,
        name="delivery_resend",
    ),
]
