"""Root URL configuration; the console app's own pages are in the `console` namespace."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

from . import health, metrics, views
from .pages import activity, dashboard, staff

console_patterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("team/", views.team, name="team"),
    path("activity/", activity.activity, name="activity"),
    path("team/invite/", views.invite, name="invite"),
    path("team/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("team/members/<int:pk>/role/", views.member_role_set, name="member_role_set"),
    path("team/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("requests/", views.staff_request_list, name="staff_request_list"),
    path("requests/new/<slug:kind>/", views.staff_request_create, name="staff_request_create"),
    path("requests/<int:pk>/", views.staff_request_detail, name="staff_request_detail"),
    path(
        "requests/<int:pk>/withdraw/",
        views.staff_request_withdraw,
        name="staff_request_withdraw",
    ),
    path("apps/", views.app_list, name="app_list"),
    path("apps/new/", views.app_create, name="app_create"),
    path("apps/<uuid:app_id>/", views.app_detail, name="app_detail"),
    path("apps/<uuid:app_id>/edit/", views.app_edit, name="app_edit"),
    path("apps/<uuid:app_id>/keys/rotate/", views.app_key_rotate, name="app_key_rotate"),
    path(
        "apps/<uuid:app_id>/keys/<int:key_id>/revoke/",
        views.app_key_revoke,
        name="app_key_revoke",
    ),
]

urlpatterns = [
    # First: the Rewards API is the hot path, and Django tries patterns in order.
    path("", include("rewards.urls")),
    path("healthz", health.healthz, name="healthz"),  # load balancers: no slash, no redirect
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus (MetricsMiddleware first)
    path("favicon.ico", views.favicon, name="favicon"),
    path("", views.home, name="home"),
    path("staff/", staff.staff_home, name="staff_home"),  # admin's "View site", for staff
    path("", include((console_patterns, "console"))),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("campaigns/", include("campaigns.urls")),
    path("billing/", include("billing.urls")),
    path("finance/", include("billing.finance.urls")),
    path("webhooks/", include("console.webhooks.urls")),
    path("admin/", admin.site.urls),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(
            r"^{}(?P<path>.*)$".format(settings.MEDIA_URL.lstrip("/")),
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

handler404 = "console.errors.not_found"
handler500 = "console.errors.server_error"
