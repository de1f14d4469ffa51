"""Forms for sign-up, sign-in, team invitations and roles, app registration and requests to
staff."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django_countries import countries

from . import services, throttle
from .models import App, Membership, StaffRequest


def country_choices() -> list[tuple[str, str]]:
    """Every country after an empty choice. Called at render time, so names follow the
    active language."""
    return [("", "Choose your country"), *countries]


class SignupForm(forms.Form):
    """A new developer account: the company and its first admin."""

    company = forms.CharField(label="Company name", max_length=200)
    # An empty first choice: without it the select shows Afghanistan, and a developer who does
    # not look signs up from the wrong country (the country decides who may use Moments).
    country = forms.ChoiceField(
        choices=country_choices,
        label="Country",
        error_messages={"required": "Choose the country your company is based in."},
    )
    billing_address = forms.CharField(
        label="Billing address", widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )
    tax_id = forms.CharField(
        label="Tax / VAT id (optional)",
        max_length=40,
        required=False,
        help_text="Printed on your invoices. You can add or change it later on the Billing page.",
    )
    email = forms.EmailField(label="Work email")
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean_tax_id(self):
        return services.tax_id_normalize(self.cleaned_data["tax_id"])

    def clean_country(self):
        country = self.cleaned_data["country"]
        refusal = services.country_refusal(country)
        if refusal:
            raise ValidationError(refusal)
        return country

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            try:
                password_validation.validate_password(password)
            except ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, labelled for email (usernames are the lower-cased email), with the
    failed-sign-in limits per account and per IP (console.throttle)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Please enter a correct email and password. Both may be case-sensitive.",
    }

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        email = self.cleaned_data.get("username")
        if email is None or not self.cleaned_data.get("password"):
            return super().clean()  # a field error already; no password was tried
        ip = throttle.client_ip(self.request)
        # Counted before the password is checked: a locked account refuses the right one too.
        refusal = throttle.login_attempt(email=email, ip=ip)
        if refusal:
            raise ValidationError(refusal, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if getattr(exc, "code", None) == "invalid_login":
                refusal = throttle.login_failed(email=email, ip=ip)
                if refusal:
                    raise ValidationError(refusal, code="throttled") from exc
            raise
        throttle.login_succeeded(email=email, ip=ip)
        return cleaned


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Teammate's email")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MembershipRoleForm(forms.Form):
    """An admin's change of a teammate's role on the Team page."""

    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        error_messages={"invalid_choice": "Choose a role: Admin or Member."},
    )


class AcceptInvitationForm(forms.Form):
    """The invitee's password: a new one, or (a removed teammate invited again) the one they
    already sign in with, which the service checks."""

    password = forms.CharField(
        label="Choose a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, returning: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.returning = returning
        if returning:
            self.fields["password"].label = "Your password"
            self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.returning:
            password_validation.validate_password(password)
        return password


class AllowedIpsField(forms.CharField):
    """Free text of IPs / CIDRs, one per line or comma-separated; cleans to a list."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.7\n198.51.100.0/24"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        return services.parse_allowed_ips(value or "")


SUPPORT_EMAIL_HELP = (
    "Optional. Shown on your reward pages for questions about your app. Left empty, the "
    "reward page links to your store URL or website."
)


class AppForm(forms.Form):
    """Register an app (or, for Fire TV, ask support to)."""

    name = forms.CharField(label="App name", max_length=120)
    platform = forms.ChoiceField(choices=App.Platform.choices)
    store_url = forms.URLField(label="Store URL or website", max_length=500, assume_scheme="https")
    support_email = forms.EmailField(
        label="Support email for your users",
        required=False,
        help_text=SUPPORT_EMAIL_HELP,
    )
    allowed_ips = AllowedIpsField(
        label="Allowed server IP addresses",
        required=False,
        help_text="Optional. When set, Rewards API calls from any other address are refused.",
    )
    message = forms.CharField(
        label="Anything the Moments team should know (Fire TV only)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
    )

    def __init__(self, *args, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.account and self.account.apps.filter(name__iexact=name).exists():
            raise ValidationError("You already have an app with this name.")
        return name


class AppEditForm(forms.ModelForm):
    store_url = forms.URLField(label="Store URL or website", max_length=500, assume_scheme="https")
    support_email = forms.EmailField(
        label="Support email for your users", required=False, help_text=SUPPORT_EMAIL_HELP
    )
    allowed_ips = AllowedIpsField(
        label="Allowed server IP addresses",
        required=False,
        help_text="Optional. When set, Rewards API calls from any other address are refused.",
    )

    class Meta:
        model = App
        fields = ["name", "store_url", "support_email", "allowed_ips"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = App.objects.filter(account=self.instance.account, name__iexact=name).exclude(
            pk=self.instance.pk
        )
        if clash.exists():
            raise ValidationError("You already have an app with this name.")
        return name


class SpendLimitForm(forms.Form):
    """Finance's "Change spend limit" form in the Account admin: the new limit and why."""

    limit = forms.DecimalField(
        label="New monthly spend limit (USD)",
        max_digits=12,
        decimal_places=2,
        error_messages={"required": "Enter the new monthly spend limit in USD, e.g. 25000.00."},
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Kept in the account's history: the ticket or approval behind the change.",
        error_messages={"required": services.SPEND_LIMIT_REASON_REQUIRED},
    )

    confirm = forms.BooleanField(
        label="Confirm the large change",
        required=False,
        help_text="The new limit is a large jump from the current one: tick to confirm it.",
    )

    def __init__(self, *args, ask_confirm: bool = False, **kwargs):
        # The confirmation box appears only once the service asked for it (a jump of more than
        # SPEND_LIMIT_CONFIRM_FACTOR times), so a routine change stays one step.
        super().__init__(*args, **kwargs)
        if not ask_confirm:
            del self.fields["confirm"]

    def clean_limit(self):
        limit = self.cleaned_data["limit"]
        message = services.spend_limit_error(limit)
        if message:
            raise ValidationError(message)
        return limit


# --- Requests to staff ------------------------------------------------------------------------


class StaffRequestForm(forms.Form):
    """One kind of request to the Moments team. Subclasses declare the kind's fields; the
    rules (amount above the current limit, ASIN format...) live once, in
    `services.staff_request_errors`, and land here on their fields."""

    kind: str = ""
    intro: str = ""

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def service_fields(self) -> dict:
        """The cleaned data as staff_request_create's keyword arguments."""
        return {k: v for k, v in self.cleaned_data.items() if k != "confirm"}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # a field is already wrong: its own message says why
        errors = services.staff_request_errors(
            account=self.account, kind=self.kind, **self.service_fields()
        )
        for field, message in errors.items():
            self.add_error(None if field == "__all__" else field, message)
        return cleaned


def _details_field(label: str, *, rows: int, help_text: str = "") -> forms.CharField:
    """The optional free-text field every kind of request to staff ends with."""
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=4000,
        required=False,
        help_text=help_text,
    )


class SpendLimitRequestForm(StaffRequestForm):
    kind = StaffRequest.Kind.SPEND_LIMIT
    intro = (
        "Your account may spend up to its monthly limit across all campaigns. Ask the finance "
        "team for a higher one; they answer here and by email."
    )

    amount = forms.DecimalField(
        label="Monthly spend limit wanted (USD)",
        max_digits=12,
        decimal_places=2,
        error_messages={"required": "Enter the monthly limit you need in USD, e.g. 25000."},
    )
    details = _details_field(
        "Why do you need it?",
        rows=4,
        help_text="Planned campaigns, expected volume, a launch date.",
    )


class InvoiceTermsRequestForm(StaffRequestForm):
    kind = StaffRequest.Kind.INVOICE_TERMS
    intro = (
        "High-volume accounts can pay by invoice instead of card: each month's spend is "
        "invoiced on the 1st and due in 30 days. The finance team decides."
    )

    amount = forms.DecimalField(
        label="Expected monthly spend (USD)",
        max_digits=12,
        decimal_places=2,
        error_messages={"required": "Enter your expected monthly spend in USD, e.g. 20000."},
    )
    details = _details_field(
        "Why invoice terms?",
        rows=4,
        help_text="Your purchasing process, the accounts-payable contact, a PO number.",
    )


class OwnRewardRequestForm(StaffRequestForm):
    kind = StaffRequest.Kind.OWN_REWARD
    intro = (
        "You can offer a product of your own as a reward. It must be sold and fulfilled by "
        "Amazon in the marketplace you choose, and own rewards get no CPA discount. The "
        "Moments team checks the product and adds it to your catalog."
    )

    asin = forms.CharField(
        label="ASIN",
        max_length=20,
        help_text="10 letters and digits, from the product's Amazon page (e.g. B08N5WRWNW).",
    )
    marketplace = forms.ChoiceField(
        label="Marketplace",
        error_messages={"required": "Choose the marketplace the product is sold in."},
    )
    details = _details_field("Anything the Moments team should know", rows=3)
    confirm = forms.BooleanField(
        label="The product is sold and fulfilled by Amazon, and I understand that own rewards "
        "get no CPA discount.",
        error_messages={
            "required": "Only products sold and fulfilled by Amazon can be rewards: confirm it."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["marketplace"].choices = [
            ("", "Choose a marketplace"),
            *services.marketplace_choices(),
        ]

    def clean_asin(self):
        return self.cleaned_data["asin"].strip().upper()


class MerchRequestForm(StaffRequestForm):
    kind = StaffRequest.Kind.MERCH
    intro = (
        "Merch t-shirts with your designs as rewards are a beta, in the United States "
        "marketplace only. Tell us what you have in mind and the team will get in touch."
    )

    details = _details_field(
        "Your t-shirts", rows=4, help_text="Designs, quantities, the campaign they are for."
    )


class FireTvRequestForm(StaffRequestForm):
    kind = StaffRequest.Kind.FIRE_TV
    intro = (
        "Fire TV apps are not self-service yet: the Moments team registers them for you and "
        "answers here."
    )

    app_name = forms.CharField(label="App name", max_length=120)
    store_url = forms.URLField(label="Store URL", max_length=500, assume_scheme="https")
    details = _details_field("Anything the Moments team should know", rows=3)


class OtherRequestForm(StaffRequestForm):
    kind = StaffRequest.Kind.OTHER
    intro = "A question or a request that fits none of the others."

    subject = forms.CharField(label="Subject", max_length=200)
    details = _details_field("Your message", rows=5)


STAFF_REQUEST_FORMS: dict[str, type[StaffRequestForm]] = {
    form.kind: form
    for form in (
        SpendLimitRequestForm,
        InvoiceTermsRequestForm,
        OwnRewardRequestForm,
        MerchRequestForm,
        FireTvRequestForm,
        OtherRequestForm,
    )
}


class StaffRequestAnswerForm(forms.Form):
    """Staff's answer to a request, in Django admin."""

    decision = forms.ChoiceField(
        choices=[("", "—"), *[(s, StaffRequest.Status(s).label) for s in StaffRequest.ANSWERED]],
        error_messages={"required": "Choose approved or declined."},
    )
    answer = forms.CharField(
        label="Answer",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        max_length=4000,
        help_text="The developer reads it on the request's page and in the email it sends.",
        error_messages={"required": "Write the answer the developer will read."},
    )
