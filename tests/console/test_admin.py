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


# --- Staff edits of apps and keys go through the services (issue 20, item 8) -----------------


def _admin_form(client, url: str) -> dict:
    """The change form's fields as shown (inputs, the selected options, text areas)."""
    from tests.rewards.test_api_keys_revocation import _FormFields

    form = _FormFields()
    form.feed(client.get(url).content.decode())
    return form.data


def test_a_staff_edit_of_an_app_writes_an_activity_row_through_the_service(
    admin_client, admin_user, acme_app
):
    from console.models import ActivityEntry

    url = reverse("admin:console_app_change", args=[acme_app.pk])
    data = {**_admin_form(admin_client, url), "rate_limit_per_second": "9"}
    data["allowed_ips"] = "203.0.113.7"

    response = admin_client.post(url, {**data, "_save": "Save"})

    assert response.status_code == 302
    acme_app.refresh_from_db()
    assert (acme_app.rate_limit_per_second, acme_app.allowed_ips) == (9, ["203.0.113.7/32"])
    entry = ActivityEntry.objects.get(action="app.updated")
    assert (entry.actor, entry.account_id) == (admin_user, acme_app.account_id)
    assert set(entry.data["changes"]) == {"allowed_ips", "rate_limit_per_second"}


def test_staff_cannot_move_an_app_to_another_account_nor_delete_it(
    admin_client, acme_app, charlie
):
    url = reverse("admin:console_app_change", args=[acme_app.pk])
    data = {**_admin_form(admin_client, url), "account": str(charlie.membership.account.pk)}

    admin_client.post(url, {**data, "_save": "Save"})

    acme_app.refresh_from_db()
    assert acme_app.account.name == "Acme Games"
    delete = admin_client.get(reverse("admin:console_app_delete", args=[acme_app.pk]))
    assert delete.status_code == 403


def test_a_key_revoked_by_staff_writes_an_activity_row(admin_client, admin_user, acme_app, alice):
    from console import services
    from console.models import ActivityEntry

    key = services.api_key_rotate(app=acme_app, actor=alice).api_key
    url = reverse("admin:console_apikey_change", args=[key.pk])

    admin_client.post(url, {**_admin_form(admin_client, url), "revoke": "on", "_save": "Save"})

    key.refresh_from_db()
    assert key.revoked_at is not None
    entry = ActivityEntry.objects.get(action="api_key.revoked")
    assert (entry.actor, entry.data["prefix"]) == (admin_user, key.prefix)
