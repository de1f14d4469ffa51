"""rewards/api/openapi.json, the OpenAPI document as data, checked against the code it describes:
it is valid OpenAPI 3, every errorCode of ERROR_CODES is listed under its status, every route of
the API is documented (and nothing else), and the published patterns are the validator's."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.urls import URLPattern
from django.urls.resolvers import RoutePattern

from rewards import urls as rewards_urls
from rewards.api.errors import ERROR_CODES
from rewards.api.openapi import DOCUMENT_PATH, SITE_URL_PLACEHOLDER, openapi_document
from rewards.api.validation import (
    CUSTOMER_REF_MAX,
    DEVICE_TYPES,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BODY_BYTES,
    MOMENT_PATTERN,
    REWARD_GROUP_PATTERN,
    UUID_PATTERN,
)

# A 405 answers a method the document does not describe (it documents POST only), so no
# operation lists it; every other code must be documented.
UNDOCUMENTED_CODES = {"method_not_allowed"}


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def _responses(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                yield f"{method.upper()} {path} {status}", int(status), response


def _documented_codes(response: dict) -> list[str]:
    schema = response["content"]["application/json"]["schema"]
    return schema["allOf"][1]["properties"]["errorCode"]["enum"]


def _without_servers(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "servers"}


def test_the_file_is_a_valid_openapi_3_document(document):
    assert document["openapi"].startswith("3.")

    schemathesis.openapi.from_dict(document).validate()  # raises on any invalid part


@pytest.mark.django_db
def test_the_file_is_what_the_view_serves_with_only_the_server_url_filled_in(client, settings):
    settings.SITE_URL = "https://moments.example"

    served = client.get("/api/openapi.json").json()

    assert _without_servers(served) == _without_servers(openapi_document())
    assert served["servers"] == [{"url": "https://moments.example"}]
    assert json.loads(DOCUMENT_PATH.read_text())["servers"] == [{"url": SITE_URL_PLACEHOLDER}]


def test_every_error_response_lists_exactly_the_codes_of_its_status(document):
    for where, status, response in _responses(document):
        if status < 400:
            continue
        expected = [code for code, (code_status, _) in ERROR_CODES.items() if code_status == status]
        assert _documented_codes(response) == expected, where
        listed = ", ".join(f"`{code}`" for code in expected)
        assert response["description"].endswith(f" errorCode: {listed}."), where


def test_every_error_code_of_the_api_is_in_the_document(document):
    documented = {
        code
        for _, status, response in _responses(document)
        if status >= 400
        for code in _documented_codes(response)
    }

    assert set(ERROR_CODES) - UNDOCUMENTED_CODES <= documented
    assert documented <= set(ERROR_CODES)


def test_every_route_of_the_api_is_documented_and_nothing_else(document):
    routes = {
        "/" + str(pattern.pattern)
        for pattern in rewards_urls.urlpatterns
        if isinstance(pattern, URLPattern)
        and isinstance(pattern.pattern, RoutePattern)
        and str(pattern.pattern).startswith("prod/")
    }

    assert routes == {"/prod/GetRewardInfo", "/prod/GetReward"}
    assert set(document["paths"]) == routes
    assert all(set(operations) == {"post"} for operations in document["paths"].values())


def test_the_published_limits_and_patterns_are_the_validators(document):
    fields = document["components"]["schemas"]["RewardRequest"]["properties"]
    assert fields["appId"]["pattern"] == UUID_PATTERN
    assert fields["campaignId"]["pattern"] == UUID_PATTERN
    assert fields["momentId"]["pattern"] == MOMENT_PATTERN
    assert fields["rewardGroupId"]["pattern"] == REWARD_GROUP_PATTERN
    assert fields["deviceType"]["enum"] == list(DEVICE_TYPES)
    assert fields["customerRef"]["maxLength"] == CUSTOMER_REF_MAX

    get_reward = document["paths"]["/prod/GetReward"]["post"]
    (key,) = get_reward["parameters"]
    assert key["name"] == "Idempotency-Key"
    assert key["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN

    size = f"{MAX_BODY_BYTES // 1024} KB"
    for operation in document["paths"].values():
        assert size in operation["post"]["requestBody"]["description"]
        assert size in operation["post"]["responses"]["413"]["description"]
