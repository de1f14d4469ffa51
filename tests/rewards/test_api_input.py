"""Bad input and failures under /prod/: every answer is a 4xx or 5xx in the API's JSON shape,
refused before the work it would cost (SPEC §7)."""

from __future__ import annotations

import json
import logging
from io import BytesIO

import pytest
from django.db import connection
from django.test import Client

from billing.models import LedgerEntry
from console.logs import OncePerInterval
from rewards.api import middleware
from rewards.api import views as api_views
from rewards.api.validation import MAX_BODY_BYTES

from .conftest import body_for

pytestmark = pytest.mark.django_db


def _is_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"rewardNotificationText", "errorCode"}
    assert body["errorCode"] == code
    return body


def _post_raw(api, endpoint: str, raw, content_type="application/json", **extra):
    return api.client.post(
        f"/prod/{endpoint}",
        raw,
        content_type=content_type,
        headers={"x-api-key": api.key},
        **extra,
    )


# --- JSON nested deep ------------------------------------------------------------------------


def test_json_nested_ten_thousand_deep_with_a_valid_body_is_a_400_not_a_500(api, live):
    fields = json.dumps(body_for(live))[1:-1]
    deep = "[" * 10_000 + "]" * 10_000
    raw = "{" + fields + ', "extra": ' + deep + "}"

    for endpoint in ("GetReward", "GetRewardInfo"):
        body = _is_api_error(_post_raw(api, endpoint, raw), 400, "malformed_request")
        assert "nested more than 32 levels" in body["rewardNotificationText"]
    assert not LedgerEntry.objects.exists()


def test_brackets_inside_strings_are_not_nesting(api, live):
    brackets = '[{"\\"' * 30  # 60 brackets and escaped quotes, all inside one string
    response = api.reward(live, customerRef=brackets)

    assert response.status_code == 200
    assert LedgerEntry.objects.count() == 1


def test_json_nested_just_within_the_limit_is_read_as_json(api, live):
    raw = json.dumps({**body_for(live), "extra": json.loads("[" * 31 + "]" * 31)})

    assert _post_raw(api, "GetReward", raw).status_code == 200


# --- Body size -------------------------------------------------------------------------------


def _padded(live, size: int) -> str:
    raw = json.dumps({**body_for(live), "padding": ""})
    raw = raw[:-2] + "x" * (size - len(raw)) + '"}'
    assert len(raw) == size
    return raw


def test_a_body_over_64_kb_is_a_413_and_charges_nothing(api, live):
    ten_mb = _padded(live, 10 * 1024 * 1024)
    just_over = _padded(live, MAX_BODY_BYTES + 1)

    for raw in (ten_mb, just_over):
        body = _is_api_error(_post_raw(api, "GetReward", raw), 413, "payload_too_large")
        assert "larger than 64 KB" in body["rewardNotificationText"]
    assert not LedgerEntry.objects.exists()


def test_a_body_of_exactly_64_kb_is_served(api, live):
    response = _post_raw(api, "GetReward", _padded(live, MAX_BODY_BYTES))

    assert response.status_code == 200
    assert LedgerEntry.objects.count() == 1


def test_an_oversized_body_is_refused_before_the_key_is_even_checked(api, live):
    response = api.client.post(
        "/prod/GetReward", _padded(live, MAX_BODY_BYTES + 1), content_type="application/json"
    )

    _is_api_error(response, 413, "payload_too_large")


class _CountingStream(BytesIO):
    """A request body stream that remembers how much of it was read."""

    taken = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def test_a_body_without_content_length_is_read_no_further_than_the_limit(api, live):
    """A chunked request (ASGI, or a server that passes it on) declares no length: the view
    reads one byte past the limit and stops."""
    from django.core.handlers.asgi import ASGIRequest

    stream = _CountingStream(_padded(live, 10 * 1024 * 1024).encode())
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/prod/GetReward",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"x-api-key", api.key.encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }

    response = api_views.get_reward(ASGIRequest(scope, stream))

    _is_api_error(response, 413, "payload_too_large")
    assert stream.taken == MAX_BODY_BYTES + 1
    assert not LedgerEntry.objects.exists()


# --- Forms -----------------------------------------------------------------------------------


def test_a_form_of_ten_thousand_fields_is_a_json_400(api, live):
    fields = [f"{k}={v}" for k, v in body_for(live).items()]
    raw = "&".join(["a=1"] * (10_000 - len(fields)) + fields)
    assert len(raw) < MAX_BODY_BYTES

    response = _post_raw(api, "GetReward", raw, content_type="application/x-www-form-urlencoded")

    body = _is_api_error(response, 400, "malformed_request")
    assert "more than 100 fields" in body["rewardNotificationText"]


def test_a_form_with_bytes_that_are_not_utf8_is_a_400(api, live):
    raw = "&".join(f"{k}={v}" for k, v in body_for(live).items()) + "&customerRef=%FF"

    response = _post_raw(api, "GetReward", raw, content_type="application/x-www-form-urlencoded")

    body = _is_api_error(response, 400, "malformed_request")
    assert "UTF-8" in body["rewardNotificationText"]


def test_a_multipart_form_still_gets_a_reward(api, live):
    response = api.client.post(
        "/prod/GetReward", body_for(live, deviceType="Web"), headers={"x-api-key": api.key}
    )

    assert response.status_code == 200, response.content
    assert LedgerEntry.objects.get(campaign=live).amount == live.cpa


# --- Unknown paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/prod/GetReward/", "use /prod/GetReward without the trailing slash"),
        ("/prod/GetRewardInfo/", "use /prod/GetRewardInfo without the trailing slash"),
        ("/prod/getreward", "paths are case-sensitive, use /prod/GetReward"),
        ("/prod/whatever", "POST /prod/GetRewardInfo and POST /prod/GetReward"),
        ("/prod/", "POST /prod/GetRewardInfo and POST /prod/GetReward"),
        ("/prod", "POST /prod/GetRewardInfo and POST /prod/GetReward"),
    ],
)
def test_an_unknown_path_under_prod_is_a_json_404_naming_the_right_one(api, live, path, words):
    posted = api.client.post(
        path, json.dumps(body_for(live)), content_type="application/json",
        headers={"x-api-key": api.key},
    )  # fmt: skip
    fetched = api.client.get(path)

    for response in (posted, fetched):
        body = _is_api_error(response, 404, "not_found")
        assert words in body["rewardNotificationText"]
    assert not LedgerEntry.objects.exists()


def test_the_console_keeps_its_own_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- Server errors ---------------------------------------------------------------------------


def test_an_unexpected_error_in_a_view_is_a_json_500_logged_with_its_traceback(
    api, live, monkeypatch, caplog
):
    def broken(request, body):
        raise RuntimeError("a bug in the parser")

    monkeypatch.setattr(api_views, "parse_reward_request", broken)

    with caplog.at_level(logging.ERROR, logger="rewards.api"):
        response = api.reward(live)

    body = _is_api_error(response, 500, "server_error")
    assert "RuntimeError" not in body["rewardNotificationText"]  # no internals to callers
    [record] = [r for r in caplog.records if r.name == "rewards.api"]
    assert "POST /prod/GetReward" in record.getMessage()
    assert record.exc_info and record.exc_info[0] is RuntimeError
    assert "a bug in the parser" in caplog.text  # the traceback is in the log


def test_a_request_refused_by_django_before_the_view_is_json_too(api, live):
    # A Host header outside ALLOWED_HOSTS: Django's 400 page, made below the view.
    response = api.client.post(
        "/prod/GetReward",
        json.dumps(body_for(live)),
        content_type="application/json",
        headers={"x-api-key": api.key},
        HTTP_HOST="attacker.example",
    )

    _is_api_error(response, 400, "malformed_request")


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_calls_get_a_json_503_with_retry_after_and_one_log_line(
    postgres, api, live, monkeypatch, caplog
):
    monkeypatch.setattr(middleware, "_unavailable_log", OncePerInterval(60))
    settings_dict = connection.settings_dict
    saved = {key: settings_dict[key] for key in ("HOST", "PORT")}
    connection.close()
    # A port nobody listens on: connecting is refused, as when the database is down.
    settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        with caplog.at_level(logging.ERROR, logger="rewards.api"):
            responses = [api.reward(live) for _ in range(3)] + [api.info(live)]
    finally:
        connection.close()
        settings_dict.update(saved)

    for response in responses:
        body = _is_api_error(response, 503, "service_unavailable")
        assert response["Retry-After"] == "5"
        assert "retry in 5 s" in body["rewardNotificationText"]
    lines = [r.getMessage() for r in caplog.records if r.name == "rewards.api"]
    assert len(lines) == 1 and "database is unreachable (OperationalError" in lines[0]
    assert not LedgerEntry.objects.exists()


def test_get_is_still_a_json_405(api):
    response = Client().get("/prod/GetReward")

    _is_api_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
