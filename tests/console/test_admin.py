"""Django admin for accounts: finance raises spend limits and touches nothing else."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_finance_raises_an_accounts_spend_limit_with_a_reason_but_cannot_rename_it(
    client,
    finance_in_group,
    acme,
):
    # The limit changes through "Change spend limit" (console.services.account_spend_limit_set,
    # which records who and why), no longer by saving the account's form.
    client.force_login(finance_in_group)
    url = reverse("admin:console_account_change", args=[acme.pk])
    page = client.get(url).content.decode()
    assert 'name="monthly_spend_limit"' not in page
    assert 'name="name"' not in page and 'name="billing_owner"' not in page
    client.post(url, {"monthly_spend_limit": "40000.00", "name": "Hijacked", "_save": "Save"})
    response = client.post(
        reverse("admin:console_account_spend_limit", args=[acme.pk]),
        {"limit": "40000.00", "reason": "FIN-7 approved"},
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.monthly_spend_limit == Decimal("40000.00")
    assert acme.name == "Acme Games"


def test_the_admin_never_shows_an_api_keys_hash(admin_client, acme_app, alice):
    from console import services

    issued = services.api_key_rotate(app=acme_app, actor=alice)
    page = admin_client.get(
        reverse("admin:console_apikey_change", args=[issued.api_key.pk])
    ).content.decode()
    assert issued.api_key.prefix in page
    assert issued.api_key.key_hash not in page
