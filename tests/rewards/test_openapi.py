"""The served OpenAPI document matches the server: schemathesis generates requests from it
(valid and invalid ones) and checks every answer against it, in-process through the WSGI app."""

from __future__ import annotations

import copy

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from rewards.api.openapi import openapi_document

from .conftest import live_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_keep_test_connection")]


@pytest.fixture(autouse=True)
def _no_throttling_of_probes(monkeypatch):
    """schemathesis probes auth with keyless calls, which are throttled per IP at 5/s; here
    they must reach the auth check (throttling has its own tests)."""
    from rewards.api import views

    monkeypatch.setattr(views, "DEFAULT_RATE_LIMIT", 100_000)


@pytest.fixture
def _keep_test_connection():
    """The WSGI app sends request signals that close "old" connections, which would close the
    test's transaction on PostgreSQL; Django's own test client disconnects them the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


OPERATIONS = ("/prod/GetRewardInfo", "/prod/GetReward")
RUN = hypothesis.settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _fuzz(schema, mode: GenerationMode, key: str, excluded=()) -> None:
    for path in OPERATIONS:
        operation = schema[path]["POST"]

        @RUN
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            case.call_and_validate(
                base_url="http://localhost",
                headers={"x-api-key": key},
                excluded_checks=list(excluded),
            )

        check()


def test_the_served_document_is_openapi_3_with_every_status_the_server_answers(client):
    document = client.get("/api/openapi.json").json()

    assert document["openapi"].startswith("3.")
    for path in OPERATIONS:
        responses = document["paths"][path]["post"]["responses"]
        assert {"200", "400", "403", "409", "429"} <= set(responses)
        assert "Retry-After" in responses["429"]["headers"]
    assert "422" in document["paths"]["/prod/GetReward"]["post"]["responses"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_random_requests_never_break_the_server_or_the_schema(api_app, live, mode):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

    _fuzz(schema, mode, api_app.key)


def test_requests_for_a_real_campaign_answer_as_documented(api_app, approved):
    """Valid requests naming real campaigns (a live one with few rewards, one in test mode)
    reach the grant and the refusals; every answer must still match the document."""
    small = live_campaign(api_app.app, quantity_limit=3)
    document = copy.deepcopy(openapi_document())
    fields = document["components"]["schemas"]["RewardRequest"]["properties"]
    fields["appId"]["enum"] = [str(api_app.app.app_id)]
    fields["campaignId"]["enum"] = [str(small.campaign_id), str(approved.campaign_id)]
    fields["momentId"]["enum"] = ["LEVEL_10_COMPLETE"]
    fields["rewardGroupId"]["enum"] = ["US"]

    schema = schemathesis.openapi.from_dict(document)
    schema.app = get_wsgi_application()
    # Examples share state (rewards run out, Idempotency-Keys repeat with other bodies): a
    # valid request may rightly be refused here (409, 422), so only that check is left out.
    _fuzz(schema, GenerationMode.POSITIVE, api_app.key, excluded=[positive_data_acceptance])

    small.refresh_from_db()
    assert small.reward_groups.get().granted == 3  # the fuzzing did reach GetReward
