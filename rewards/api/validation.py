"""Strict parsing of a Rewards API request body, JSON or form-encoded (Braze Connected Content).

The patterns here are the ones published in the OpenAPI document (rewards/api/openapi.json;
tests/rewards/test_openapi_file.py checks that it holds these), so what the document promises and
what the server accepts are the same thing.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser, MultiPartParserError

from .errors import ApiError, api_error

DEVICE_TYPES = ("Android", "iOS", "FireOS", "Web")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MOMENT_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
REWARD_GROUP_PATTERN = r"^[A-Za-z]{2}$"
CUSTOMER_REF_MAX = 200
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
# Bad-input guards, applied before anything is parsed: a real request is a few hundred bytes,
# one flat object, six fields.
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_FORM_FIELDS = 100

FIELD_RULES: dict[str, tuple[str, str]] = {
    "appId": (UUID_PATTERN, "must be your app's App ID, a UUID such as 6f1c2b9e-…"),
    "campaignId": (UUID_PATTERN, "must be the Campaign ID, a UUID such as 0b9e4c1a-…"),
    "momentId": (MOMENT_PATTERN, "must be a moment ID such as LEVEL_10_COMPLETE"),
    "rewardGroupId": (REWARD_GROUP_PATTERN, "must be a marketplace code such as US or DE"),
}
REQUIRED = ("appId", "momentId", "deviceType", "campaignId", "rewardGroupId")


@dataclass(frozen=True)
class RewardRequest:
    """A validated request: the same for both endpoints."""

    app_id: uuid.UUID
    moment_id: str
    device_type: str
    campaign_id: uuid.UUID
    reward_group_id: str
    customer_ref: str | None

    def fingerprint_source(self) -> str:
        """A canonical text of what was asked, for the Idempotency-Key body check."""
        return json.dumps(
            [
                str(self.app_id),
                self.moment_id,
                self.device_type,
                str(self.campaign_id),
                self.reward_group_id,
                self.customer_ref,
            ]
        )


def read_body(request: HttpRequest) -> bytes:
    """The raw body, at most MAX_BODY_BYTES, or a 413 before any of it is parsed.

    A declared Content-Length over the limit is refused without reading; a body without one
    (chunked, or under ASGI) is read no further than one byte past the limit. The global
    DATA_UPLOAD_MAX_MEMORY_SIZE is no guard here: it is sized for the console's banners.
    Reads the stream, so `request.body` and `request.POST` are unavailable afterwards."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0  # as Django reads it
    if declared > MAX_BODY_BYTES:
        raise _too_large()
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()
    return body


def _too_large() -> ApiError:
    return api_error(
        "payload_too_large",
        f"The body is larger than {MAX_BODY_BYTES // 1024} KB: "
        "send only appId, momentId, deviceType, campaignId, rewardGroupId and customerRef.",
    )


_JSON_SPECIALS = re.compile(rb'[\[\]{}"\\]')


def _nested_too_deep(body: bytes) -> bool:
    """Whether the JSON text opens more than MAX_JSON_DEPTH arrays or objects inside each
    other: checked before json.loads, whose recursion a deep enough body exhausts."""
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH:
        return False  # every real request: nothing to scan
    depth, in_string, skip_to = 0, False, -1
    # One pass over the structural characters only, brackets inside strings excluded.
    for match in _JSON_SPECIALS.finditer(body):
        at = match.start()
        if at < skip_to:
            continue  # the character a backslash escapes
        char = body[at]
        if in_string:
            if char == 0x5C:  # backslash
                skip_to = at + 2
            elif char == 0x22:  # closing quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"{[":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in b"}]":
            depth -= 1
    return False


def _json_fields(body: bytes) -> tuple[dict, list[str]]:
    if _nested_too_deep(body):
        raise api_error(
            "malformed_request",
            f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep: "
            "send one flat object.",
        )
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise api_error("malformed_request", "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise api_error("malformed_request", "The body must be a JSON object.")
    return data, []


_FIELD_NAMES = {name.lower(): name for name in (*REQUIRED, "customerRef")}


def _form_fields(body: bytes) -> tuple[dict, list[str]]:
    """A form body (`appId=...&momentId=...`), as Braze Connected Content writes it, and the
    fields written with a colon instead of `=` (the partner guide's `momentId:MOMENTID`), so
    the 400 can say how to fix them. Field names are matched whatever their case (the guide
    writes `campaignID`)."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise api_error("malformed_request", "The body is not valid UTF-8.") from exc
    except ValueError as exc:  # more fields than max_num_fields
        raise api_error(
            "malformed_request",
            f"The form body has more than {MAX_FORM_FIELDS} fields: send only the API's fields.",
        ) from exc
    data: dict = {}
    aliases: dict = {}
    typos: list[str] = []
    for key, value in pairs:
        name = _FIELD_NAMES.get(key.lower())
        if name == key:
            data[key] = value
        elif name is not None:
            aliases[name] = value
        elif ":" in key and not value:
            typo = _FIELD_NAMES.get(key.split(":", 1)[0].strip().lower())
            if typo is not None:
                typos.append(typo)
        else:
            data[key] = value
    # The exact spelling wins over another case of the same name.
    data.update({name: value for name, value in aliases.items() if name not in data})
    return data, [name for name in typos if name not in data]


def _multipart_fields(request: HttpRequest, body: bytes) -> tuple[dict, list[str]]:
    try:
        fields, _files = MultiPartParser(
            request.META, BytesIO(body), request.upload_handlers, request.encoding
        ).parse()
    except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent) as exc:
        raise api_error("malformed_request", "The multipart body is not valid.") from exc
    return {key: fields.get(key) for key in fields}, []


def _looks_like_a_form(body: bytes) -> bool:
    stripped = body.lstrip()
    return stripped[:1] not in (b"{", b"[") and b"=" in stripped


def _fields(request: HttpRequest, body: bytes) -> tuple[dict, list[str]]:
    """The body's fields, and the names of those written `name:value` by mistake."""
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        return _form_fields(body)
    if content_type == "multipart/form-data":
        return _multipart_fields(request, body)
    if content_type == "application/json":
        # Braze Connected Content sends `:body a=1&b=2` under `:content_type application/json`.
        return _form_fields(body) if _looks_like_a_form(body) else _json_fields(body)
    if body.lstrip()[:1] in (b"{", b"["):
        return _json_fields(body)
    if not body.strip():
        raise api_error(
            "malformed_request",
            "The body is empty: send appId, momentId, deviceType, campaignId and rewardGroupId.",
        )
    # Marketing tools sometimes send form data with a missing or odd Content-Type.
    return _form_fields(body)


def parse_reward_request(request: HttpRequest, body: bytes) -> RewardRequest:
    """The validated request (`body` from read_body), or an ApiError 400 naming every wrong
    field."""
    data, typos = _fields(request, body)
    problems = []
    for name in REQUIRED:
        value = data.get(name)
        if value is None and name in typos:
            problems.append(f"{name}: write {name}=<value>, with '=' not ':'")
        elif value is None or value == "":
            problems.append(f"{name} is required")
        elif not isinstance(value, str):
            problems.append(f"{name} must be a string")
        elif name == "deviceType":
            if value not in DEVICE_TYPES:
                problems.append(f"deviceType must be one of {', '.join(DEVICE_TYPES)}")
        elif not re.fullmatch(FIELD_RULES[name][0][1:-1], value):
            problems.append(f"{name} {FIELD_RULES[name][1]}")
    customer_ref = data.get("customerRef")
    if customer_ref is None and "customerRef" in typos:
        problems.append("customerRef: write customerRef=<value>, with '=' not ':'")
    elif customer_ref is not None:
        if not isinstance(customer_ref, str):
            problems.append("customerRef must be a string")
        elif not 1 <= len(customer_ref) <= CUSTOMER_REF_MAX:
            problems.append(f"customerRef must be 1 to {CUSTOMER_REF_MAX} characters")
    if problems:
        raise api_error("malformed_request", "Invalid request: " + "; ".join(problems) + ".")
    return RewardRequest(
        app_id=uuid.UUID(data["appId"]),
        moment_id=data["momentId"],
        device_type=data["deviceType"],
        campaign_id=uuid.UUID(data["campaignId"]),
        reward_group_id=data["rewardGroupId"].upper(),
        customer_ref=customer_ref,
    )


def idempotency_key(request: HttpRequest) -> str | None:
    """The Idempotency-Key header, validated; None when absent."""
    raw = request.META.get("HTTP_IDEMPOTENCY_KEY")  # the header, without building request.headers
    if raw is None:
        return None
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN[1:-1], raw):
        raise api_error(
            "malformed_request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).",
        )
    return raw
