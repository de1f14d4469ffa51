"""A developer's first visit, in a real Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from console.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


def test_sign_up_register_an_app_see_the_key_once_log_out_log_in_and_see_the_app(page):
    page.goto("/")
    page.get_by_role("link", name="Create a developer account").click()
    page.get_by_label("Company name").fill("Acme Games")
    page.get_by_label("Country").select_option("US")
    page.get_by_label("Billing address").fill("1 Main Street\nSeattle, WA")
    page.get_by_label("Work email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome to Moments Console, Acme Games.")).to_be_visible()

    page.get_by_role("link", name="Register your first app").click()
    page.get_by_label("App name").fill("Space Miner")
    page.get_by_label("Platform").select_option("android")
    page.get_by_label("Store URL or website").fill("https://play.example.test/space-miner")
    page.get_by_role("button", name="Register app").click()

    expect(page.get_by_text("Copy your API key now")).to_be_visible()
    raw_key = page.locator("#api-key").input_value()
    prefix = ApiKey.objects.get().prefix
    assert re.fullmatch(rf"{prefix}\.[A-Za-z0-9_-]{{43}}", raw_key)

    page.get_by_role("link", name=re.compile("go to the app")).click()
    expect(page.get_by_text("Registration details")).to_be_visible()
    expect(page.locator("#key-prefix")).to_have_text(prefix)
    assert raw_key not in page.content()
    app_url = page.url

    page.locator("#accountMenu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Moments Console")).to_be_visible()

    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Apps", exact=True).click()
    page.get_by_role("link", name="Space Miner").click()
    assert page.url == app_url
    expect(page.get_by_text("Registration details")).to_be_visible()
    # The key is never shown again.
    assert raw_key not in page.content()


def test_choosing_fire_tv_turns_the_form_into_a_support_request(page, alice, live_server):
    page.goto("/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/apps/new/")
    page.get_by_label("Platform").select_option("fire_tv")
    expect(page.get_by_text("Fire TV apps are not self-service yet")).to_be_visible()
    page.get_by_label("App name").fill("Couch Racer")
    page.get_by_label("Store URL or website").fill("https://example.test/couch")
    page.get_by_role("button", name="Contact support").click()
    expect(page.get_by_role("heading", name="Contact support: Fire TV")).to_be_visible()
