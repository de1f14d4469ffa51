"""The API docs page: how to call the API, and the OpenAPI document rendered with assets served
by the project itself."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_docs_page_explains_auth_errors_throttling_and_idempotency(client):
    html = client.get("/api/docs/").content.decode()

    for words in (
        "x-api-key",
        "Retry-After",
        "Idempotency-Key",
        "customerRef",
        "200</code> with an empty list",
    ):
        assert words in html
    assert 'data-spec-url="/api/openapi.json"' in html
    assert "<code>out_of_rewards</code>" in html  # the table of every errorCode


def test_the_docs_page_loads_its_assets_from_the_project_never_a_cdn(client):
    html = client.get("/api/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert all(url.startswith("/static/") for url in assets)
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), url


def test_the_navigation_links_the_docs_for_a_signed_in_developer(alice_client):
    html = alice_client.get("/api/docs/").content.decode()

    assert '<a class="nav-link active" href="/api/docs/">' in html
