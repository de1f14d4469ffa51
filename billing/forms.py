"""The card form. The number and CVC are checked here (and the number again in the service);
neither is ever stored."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from console.services import tax_id_normalize

from .services.payments import card_brand, card_digits, card_expiry_error, card_number_check

MONTHS = [(m, f"{m:02d}") for m in range(1, 13)]


class CardForm(forms.Form):
    cardholder_name = forms.CharField(
        label="Name on card",
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    card_number = forms.CharField(
        label="Card number",
        max_length=30,
        help_text="Visa, Mastercard, American Express, Discover, JCB, Diners Club, UnionPay.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "cc-number",
                "inputmode": "numeric",
                "placeholder": "1234 5678 9012 3456",
                "spellcheck": "false",
            }
        ),
    )
    exp_month = forms.TypedChoiceField(
        label="Expiry month",
        choices=MONTHS,
        coerce=int,
        widget=forms.Select(attrs={"autocomplete": "cc-exp-month"}),
    )
    # An integer (not a fixed list of years) so a past year gets the "expired" message,
    # not a generic "not one of the choices".
    exp_year = forms.IntegerField(
        label="Expiry year",
        min_value=2000,
        max_value=2100,
        widget=forms.NumberInput(attrs={"autocomplete": "cc-exp-year", "placeholder": "YYYY"}),
    )
    cvc = forms.CharField(
        label="Security code (CVC)",
        max_length=4,
        help_text="3 digits (4 on the front of an American Express card). Never stored.",
        widget=forms.PasswordInput(
            attrs={"autocomplete": "cc-csc", "inputmode": "numeric", "size": 6}
        ),
    )
    billing_address = forms.CharField(
        label="Billing address",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exp_year"].initial = timezone.localdate().year + 1
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "cardholder_name",
            "card_number",
            Row(
                Column("exp_month", css_class="col-sm-4"),
                Column("exp_year", css_class="col-sm-4"),
                Column("cvc", css_class="col-sm-4"),
            ),
            "billing_address",
        )

    def clean_card_number(self):
        number = self.cleaned_data["card_number"]
        brand, last4 = card_number_check(number)
        self.brand, self.last4 = brand, last4
        return number

    def clean_cvc(self):
        cvc = self.cleaned_data["cvc"].strip()
        if not cvc.isdigit() or len(cvc) not in (3, 4):
            raise ValidationError("The security code is the 3 or 4 digits printed on the card.")
        return cvc

    def clean(self):
        cleaned = super().clean()
        month, year = cleaned.get("exp_month"), cleaned.get("exp_year")
        if month is not None and year is not None:
            error = card_expiry_error(month, year)
            if error:
                # On the field that makes the date past: the year, unless it is this year.
                field = "exp_month" if year == timezone.localdate().year else "exp_year"
                self.add_error(field, error)
        number, cvc = cleaned.get("card_number"), cleaned.get("cvc")
        if number and cvc:
            found = card_brand(card_digits(number))
            if found and len(cvc) != found[2]:
                brand, _, length = found
                self.add_error("cvc", f"A {brand} security code has {length} digits.")
        return cleaned


class TaxIdForm(forms.Form):
    """The account's optional tax / VAT id, printed on its invoices."""

    tax_id = forms.CharField(
        label="Tax / VAT id",
        max_length=40,
        required=False,
        help_text="Printed on your next invoices; leave empty to remove it.",
    )

    def clean_tax_id(self):
        return tax_id_normalize(self.cleaned_data["tax_id"])
