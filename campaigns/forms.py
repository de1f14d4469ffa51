"""The wizard's forms, one per step; each validates its own page (SPEC §5) and puts every
message at the field that breaks the rule."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from console.models import App
from console.money import MoneyError, format_money, parse_money
from rewards.catalog.models import Marketplace
from rewards.catalog.selectors import MarketplaceCatalog

from .banner import banner_validate
from .models import Campaign, moment_id_validator
from .services.wizard import (
    DUPLICATE_NAME,
    MAX_PRODUCTS,
    cpa_shortfalls,
    default_terms,
    withdrawn_picks,
)

__all__ = ["default_terms"]  # moved to the wizard's services; still importable from here

MIN_BUDGET = Decimal("50")
MESSAGE_LIMITS = {
    "announcement_message": 280,
    "announcement_criteria": 500,
    "redemption_message": 280,
    "terms": 3000,
}


class AppForm(forms.Form):
    app = forms.ModelChoiceField(
        queryset=App.objects.none(),
        label="App",
        empty_label="Choose an app…",
        error_messages={
            "required": "Choose the app whose users earn the reward.",
            "invalid_choice": "Choose one of your apps.",
        },
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the account's own apps: another account's App ID is "not a valid choice".
        self.fields["app"].queryset = App.objects.filter(account=account).order_by("name")


class DurationForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        label="Campaign name",
        error_messages={"required": "Give the campaign a name."},
    )
    start_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Choose the start date.", "invalid": "Enter a valid date."},
    )
    end_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Choose the end date.", "invalid": "Enter a valid date."},
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        self.campaign = campaign
        super().__init__(*args, **kwargs)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the campaign a name.")
        taken = (
            Campaign.objects.filter(account_id=self.campaign.account_id, name__iexact=name)
            .exclude(pk=self.campaign.pk)
            .exists()
        )
        if taken:
            raise forms.ValidationError(DUPLICATE_NAME.format(name=name))
        return name

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        if start < timezone.localdate():
            raise forms.ValidationError("The start date cannot be in the past.")
        return start

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "The end date must be after the start date.")
        return data


class UsdField(forms.DecimalField):
    """A dollar amount as people type it: "$1,000.50", "1000.5" and " 1000.50 " are the same.
    A decimal comma ("27,50") is refused with a message rather than read as 2,750: a text
    input, not type=number, so the server sees what was typed (a browser's number input
    sends an empty value for "$1,000", which would read as "required")."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    default_error_messages = {
        "invalid": "Enter an amount in US dollars with a dot before the cents, like 1000 or 27.50.",
    }

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                value = str(parse_money(value))
            except MoneyError:
                invalid = self.error_messages["invalid"]
                raise forms.ValidationError(invalid, code="invalid") from None
        return super().to_python(value)


class BudgetForm(forms.Form):
    total_budget = UsdField(
        label="Total budget (USD)",
        max_digits=12,
        decimal_places=2,
        error_messages={"required": "Set the campaign's total budget."},
    )
    cpa = UsdField(
        label="Cost per action, CPA (USD)",
        max_digits=12,
        # The places a CPA is stored and charged with (a $0.125 CPA is kept, not rounded).
        decimal_places=4,
        error_messages={"required": "Set the cost per action."},
        help_text="What you pay each time a user earns the reward.",
    )

    def clean_total_budget(self):
        budget = self.cleaned_data["total_budget"]
        if budget < MIN_BUDGET:
            raise forms.ValidationError("The total budget must be at least $50.")
        return budget

    def clean_cpa(self):
        cpa = self.cleaned_data["cpa"]
        if cpa <= 0:
            raise forms.ValidationError("The CPA must be greater than zero.")
        return cpa

    def clean(self):
        data = super().clean()
        budget, cpa = data.get("total_budget"), data.get("cpa")
        if budget is not None and cpa is not None and cpa > budget:
            self.add_error(
                "cpa", f"The CPA cannot be more than the total budget ({format_money(budget)})."
            )
        return data


class MarketplaceForm(forms.Form):
    marketplaces = forms.ModelMultipleChoiceField(
        queryset=Marketplace.objects.order_by("position", "code"),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
        label="Marketplaces",
        error_messages={
            "required": "Choose at least one marketplace.",
            "invalid_choice": "%(value)s is not one of the 13 marketplaces.",
        },
    )


class RewardGroupForm(forms.Form):
    """One marketplace's picks; its prefix is the marketplace code."""

    products = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Free products"
    )
    discount_category = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Discount category"
    )
    quantity_limit = forms.IntegerField(
        required=False,
        min_value=1,
        label="Quantity limit",
        help_text="Optional: the most rewards handed out in this marketplace.",
        error_messages={
            "min_value": "The quantity limit must be at least 1, or empty for no limit."
        },
    )

    def __init__(self, *args, catalog: MarketplaceCatalog, cpa: Decimal | None, **kwargs):
        self.catalog, self.cpa = catalog, cpa
        kwargs.setdefault("prefix", catalog.marketplace.code)
        super().__init__(*args, **kwargs)
        self.fields["products"].choices = [(p.pk, p.label) for p in catalog.products]
        name = catalog.marketplace.name
        self.fields["products"].error_messages["invalid_choice"] = (
            f"Product %(value)s is not an in-stock product of the {name} catalog."
        )
        self.fields["discount_category"].error_messages["invalid_choice"] = (
            f"Discount category %(value)s is not in the {name} catalog."
        )
        self.fields["discount_category"].choices = [("", "No discount category")] + [
            (d.pk, d.label) for d in catalog.discount_categories
        ]

    @property
    def marketplace(self) -> Marketplace:
        return self.catalog.marketplace

    def clean_products(self):
        picked = self.cleaned_data["products"]
        if len(picked) > MAX_PRODUCTS:
            raise forms.ValidationError(
                f"Pick at most five products for {self.marketplace.name}; you picked {len(picked)}."
            )
        return picked

    def clean(self):
        data = super().clean()
        products = [self.catalog.product(pk) for pk in data.get("products") or []]
        discount_pk = data.get("discount_category")
        discount = self.catalog.discount_category(discount_pk) if discount_pk else None
        if "products" in data and "discount_category" in data and not products and not discount:
            raise forms.ValidationError(
                f"Pick at least one reward for {self.marketplace.name}: a free product or a "
                "discount category."
            )
        picked = [p for p in products if p]
        for message in cpa_shortfalls(self.cpa, picked) + withdrawn_picks(picked):
            self.add_error("products", message)
        if discount:
            for message in cpa_shortfalls(self.cpa, [discount]) + withdrawn_picks([discount]):
                self.add_error("discount_category", message)
        data["product_items"] = [p.item for p in products if p]
        data["discount_item"] = discount.item if discount else None
        return data


class MomentForm(forms.Form):
    moment_id = forms.CharField(
        label="Moment ID",
        max_length=64,
        validators=[moment_id_validator],
        widget=forms.TextInput(attrs={"placeholder": "LEVEL_10_COMPLETE"}),
        error_messages={"required": "Give the moment an ID, like LEVEL_10_COMPLETE."},
    )
    action = forms.CharField(
        label="Action it stands for",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Completes level 10"}),
        error_messages={"required": "Say which action in your app this moment stands for."},
    )


class BaseMomentFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen: set[str] = set()
        count = 0
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            moment_id = form.cleaned_data.get("moment_id")
            if not moment_id:
                continue
            count += 1
            if moment_id in seen:
                form.add_error(
                    "moment_id",
                    f"The moment ID {moment_id} is used twice; each moment of a campaign "
                    "needs its own ID.",
                )
            seen.add(moment_id)
        if count == 0:
            raise forms.ValidationError(
                "Add at least one moment: the ID your app sends (like LEVEL_10_COMPLETE) and "
                "the action it stands for."
            )

    def moments(self) -> list[tuple[str, str]]:
        return [
            (form.cleaned_data["moment_id"], form.cleaned_data["action"])
            for form in self.forms
            if form.cleaned_data.get("moment_id")
            and not (self.can_delete and self._should_delete_form(form))
        ]


MomentFormSet = forms.formset_factory(
    MomentForm, formset=BaseMomentFormSet, extra=1, can_delete=True, max_num=20
)


class MessagesForm(forms.Form):
    announcement_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MESSAGE_LIMITS["announcement_message"],
        help_text="Shown to customers who meet the announcement criteria (at most 280 characters).",
        error_messages={"required": "Write the announcement message customers see."},
    )
    announcement_criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MESSAGE_LIMITS["announcement_criteria"],
        help_text="Who sees the announcement, in your words (at most 500 characters).",
        error_messages={"required": "Say who sees the announcement."},
    )
    redemption_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MESSAGE_LIMITS["redemption_message"],
        help_text="Shown after the action, with the reward link (at most 280 characters).",
        error_messages={"required": "Write the redemption message customers see."},
    )
    terms = forms.CharField(
        label="Terms and conditions",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MESSAGE_LIMITS["terms"],
        help_text="Pre-filled with the end date, the expiry and the usual clauses; edit as needed.",
        error_messages={"required": "The terms and conditions cannot be empty."},
    )
    banner = forms.FileField(
        label="Banner (3000 × 600 PNG or JPEG, at most 5 MB)",
        required=False,
        allow_empty_file=True,  # an empty file gets our own message, from banner_validate
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text="Shown on the redemption page and in the reward email.",
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        self.campaign = campaign
        super().__init__(*args, **kwargs)
        # The widget's "clear" checkbox would let a developer remove a required banner.
        self.fields["banner"].widget = forms.FileInput(attrs={"accept": "image/png,image/jpeg"})

    def clean_banner(self):
        upload = self.cleaned_data.get("banner")
        if upload is None:
            if self.files.get(self.add_prefix("banner")) is not None:
                upload = self.files[self.add_prefix("banner")]
            elif not self.campaign.banner:
                raise forms.ValidationError("Upload the banner: a 3000 × 600 PNG or JPEG.")
            else:
                return None
        banner_validate(upload)
        return upload
