"""The shopper's forms: account, password reset, shipping address."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .countries import delivery_countries
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


class AddressForm(forms.Form):
    """A shipping address in a country the reward group's marketplace delivers to."""

    name = forms.CharField(label=_("Full name"), max_length=120)
    line1 = forms.CharField(label=_("Address"), max_length=200)
    line2 = forms.CharField(label=_("Address line 2"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    country = forms.ChoiceField(label=_("Country"))

    def __init__(self, *args, marketplace_code: str, **kwargs):
        super().__init__(*args, **kwargs)
        countries = sorted(delivery_countries(marketplace_code))
        self.fields["country"].choices = [(c, c) for c in countries]
        if len(countries) == 1:
            self.fields["country"].initial = countries[0]

    def address(self) -> ShippingAddress:
        d = self.cleaned_data
        return ShippingAddress(
            name=d["name"].strip(),
            line1=d["line1"].strip(),
            line2=d["line2"].strip(),
            city=d["city"].strip(),
            postcode=d["postcode"].strip(),
            country=d["country"],
        )
