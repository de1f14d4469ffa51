"""Console pages: sign-up, team, apps, requests to staff. Views stay thin: forms
validate, services write, selectors read."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services, throttle
from .decorators import account_required, admin_required
from .forms import (
    STAFF_REQUEST_FORMS,
    AcceptInvitationForm,
    AppEditForm,
    AppForm,
    EmailAuthenticationForm,
    InvitationForm,
    MembershipRoleForm,
    SignupForm,
)
from .models import ApiKey, App, Invitation, Membership, StaffRequest

STAFF_REQUESTS_PER_PAGE = 20


# Browsers ask for /favicon.ico before (or instead of) reading the page's <link rel="icon">.
FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


@require_GET
def favicon(request):
    """/favicon.ico: the logo, cached for a day (a 404 here fills every log with noise)."""
    response = FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def home(request):
    """The front page; a developer goes on to their dashboard, Moments staff (admin's "View
    site") to the staff landing page. `request.account` is lazy: test it for truth, never
    `is None` (it wraps None for a user without an account)."""
    if request.user.is_authenticated and request.account:
        return redirect("console:dashboard")
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("staff_home")
    return render(request, "console/home.html")


def signup(request):
    if request.user.is_authenticated:
        return redirect("console:dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refusal = throttle.signup_refusal(ip=throttle.client_ip(request))
        if refusal:
            form.add_error(None, refusal)
            return render(request, "registration/signup.html", {"form": form}, status=429)
        try:
            membership = services.account_signup(**form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to Moments Console, {membership.account.name}.")
            return redirect("console:dashboard")
    return render(request, "registration/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    """Django's sign-in page with the email form; a refusal by the failed-sign-in limits
    answers 429, so monitoring can tell it from a mistyped password."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, with the limits per address and per IP: over them the page says
    so and no email is sent, whether or not the address has an account."""

    def form_valid(self, form):
        refusal = throttle.password_reset_refusal(
            email=form.cleaned_data["email"], ip=throttle.client_ip(self.request)
        )
        if refusal:
            form.add_error(None, refusal)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


# --- Team -------------------------------------------------------------------------------------


@account_required
def team(request):
    account = request.account
    members = list(account.memberships.select_related("user").order_by("joined_at", "pk"))
    return render(
        request,
        "console/team.html",
        {
            "members": members,
            # The only admin is offered neither Remove nor a role change (the service refuses
            # both): the account must keep someone who manages apps, keys and billing.
            "admin_count": sum(1 for m in members if m.is_admin),
            "invitations": [
                i
                for i in account.invitations.filter(
                    accepted_at__isnull=True, revoked_at__isnull=True
                )
                if i.is_open
            ],
            "form": InvitationForm(),
            "roles": Membership.Role.choices,
        },
    )


# Members are the account's people: admins manage them (SPEC §12 Roles), members read the list.


def _messages_from(request, exc: ValidationError) -> None:
    for error in exc.messages:
        messages.error(request, error)


@admin_required
@require_POST
def member_role_set(request, pk: int):
    membership = selectors.get_for_account(
        Membership.objects.select_related("user"), request, pk=pk
    )
    form = MembershipRoleForm(request.POST)
    if not form.is_valid():
        _messages_from(request, ValidationError(form.errors["role"]))
        return redirect("console:team")
    role = form.cleaned_data["role"]
    try:
        services.membership_role_set(actor=request.user, membership=membership, role=role)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        label = Membership.Role(role).label.lower()
        messages.success(
            request, f"{membership.user.email} is now {'an' if role == 'admin' else 'a'} {label}."
        )
    return redirect("console:team")


@admin_required
@require_POST
def member_remove(request, pk: int):
    membership = selectors.get_for_account(
        Membership.objects.select_related("user"), request, pk=pk
    )
    email = membership.user.email
    try:
        services.membership_remove(actor=request.user, membership=membership)
    except ValidationError as exc:
        _messages_from(request, exc)
        return redirect("console:team")
    if membership.user_id == request.user.pk:
        # They removed themself: their seat and sign-in are gone.
        logout(request)
        messages.success(request, f"You left {membership.account.name}.")
        return redirect("login")
    messages.success(request, f"{email} was removed from the team and can no longer sign in.")
    return redirect("console:team")


@admin_required
@require_POST
def invite(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(
                account=request.account, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("console:team")


@admin_required
@require_POST
def invitation_revoke(request, pk: int):
    invitation = selectors.get_for_account(Invitation.objects.all(), request, pk=pk)
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation to {invitation.email} withdrawn.")
    return redirect("console:team")


def invitation_accept(request, token: str):
    invitation = services.invitation_find(token=token)
    if invitation is None:
        return render(request, "console/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        messages.error(request, "Log out first to accept an invitation for another address.")
        return redirect("console:dashboard")
    returning = services.invitation_returning_user(invitation=invitation) is not None
    form = AcceptInvitationForm(request.POST or None, returning=returning)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept(
                token=token, password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"You joined {membership.account.name}.")
            return redirect("console:dashboard")
    return render(
        request,
        "console/invitation_accept.html",
        {"form": form, "invitation": invitation, "returning": returning},
    )


# --- Apps -------------------------------------------------------------------------------------


@account_required
def app_list(request):
    return render(request, "console/app_list.html", {"apps": selectors.app_list(request)})


# Apps and keys are the account's production credentials: admins manage them (SPEC §12 Roles),
# members read them. A member gets the friendly 403 page, before anything is looked up.


@admin_required
@never_cache
def app_create(request):
    form = AppForm(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["platform"] == App.Platform.FIRE_TV:
            # Not self-service (SPEC §3): a request to staff instead of a registration.
            try:
                ticket = services.staff_request_create(
                    account=request.account,
                    actor=request.user,
                    kind=StaffRequest.Kind.FIRE_TV,
                    app_name=data["name"],
                    store_url=data["store_url"],
                    details=data["message"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
                return render(request, "console/app_form.html", {"form": form})
            return render(request, "console/fire_tv_support.html", {"ticket": ticket})
        try:
            issued = services.app_register(
                account=request.account,
                actor=request.user,
                name=data["name"],
                platform=data["platform"],
                store_url=data["store_url"],
                support_email=data["support_email"],
                allowed_ips=data["allowed_ips"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Rendered, not redirected: the raw key exists only in this response, never in
            # a session or the database.
            return render(
                request,
                "console/key_shown_once.html",
                {"app": issued.api_key.app, "raw_key": issued.raw, "created": True},
            )
    return render(request, "console/app_form.html", {"form": form})


@account_required
def app_detail(request, app_id):
    app = selectors.app_for_request(request, app_id)
    return render(
        request,
        "console/app_detail.html",
        {"app": app, "keys": selectors.app_keys(app)},
    )


@admin_required
def app_edit(request, app_id):
    app = selectors.app_for_request(request, app_id)
    form = AppEditForm(request.POST or None, instance=app)
    if request.method == "POST" and form.is_valid():
        services.app_update(app=app, actor=request.user, **form.cleaned_data)
        messages.success(request, "App details saved.")
        return redirect("console:app_detail", app_id=app.app_id)
    return render(request, "console/app_edit.html", {"form": form, "app": app})


@admin_required
@require_POST
@never_cache
def app_key_rotate(request, app_id):
    app = selectors.app_for_request(request, app_id)
    issued = services.api_key_rotate(app=app, actor=request.user)
    return render(
        request,
        "console/key_shown_once.html",
        {"app": app, "raw_key": issued.raw, "rotated": True},
    )


@admin_required
@require_POST
def app_key_revoke(request, app_id, key_id: int):
    app = selectors.app_for_request(request, app_id)
    api_key = get_object_or_404(ApiKey, app=app, pk=key_id)
    services.api_key_revoke(api_key=api_key, actor=request.user)
    messages.success(request, f"Key {api_key.prefix}… revoked. Calls using it now get a 403.")
    return redirect("console:app_detail", app_id=app.app_id)


# --- Requests to staff ("Contact us") -----------------------------------------------------------
# Any member may ask (SPEC §12); staff answer in Django admin.


@account_required
def staff_request_list(request):
    requests = Paginator(selectors.staff_requests(request), STAFF_REQUESTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "console/staff_request_list.html",
        {
            "requests": requests,
            "kinds": [
                (kind, StaffRequest.Kind(kind).label, form.intro)
                for kind, form in STAFF_REQUEST_FORMS.items()
            ],
        },
    )


@account_required
def staff_request_create(request, kind: str):
    form_class = STAFF_REQUEST_FORMS.get(kind)
    if form_class is None:
        raise Http404("No such kind of request.")
    form = form_class(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        try:
            staff_request = services.staff_request_create(
                account=request.account, actor=request.user, kind=kind, **form.service_fields()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Request #{staff_request.pk} sent. The Moments team answers here and by email.",
            )
            return redirect("console:staff_request_detail", pk=staff_request.pk)
    return render(
        request,
        "console/staff_request_form.html",
        {"form": form, "kind_label": StaffRequest.Kind(kind).label, "intro": form.intro},
    )


@account_required
def staff_request_detail(request, pk: int):
    staff_request = selectors.get_for_account(
        StaffRequest.objects.select_related("requested_by"), request, pk=pk
    )
    return render(request, "console/staff_request_detail.html", {"staff_request": staff_request})


@account_required
@require_POST
def staff_request_withdraw(request, pk: int):
    staff_request = selectors.get_for_account(StaffRequest.objects.all(), request, pk=pk)
    try:
        services.staff_request_withdraw(actor=request.user, staff_request=staff_request)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        messages.success(request, f"Request #{staff_request.pk} withdrawn.")
    return redirect("console:staff_request_detail", pk=staff_request.pk)
