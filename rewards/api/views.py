"""The Rewards API views: thin wrappers that authenticate, throttle, validate and call the
services. Every answer is JSON, in the documented shape, with the rate-limit headers."""

from __future__ import annotations

from time import perf_counter

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from console.metrics import api_request_observe
from console.models import App
from console.outage import is_database_outage
from console.services import ip_allowed, keyring_generation_key
from rewards.services.grants import RewardRefused
from rewards.services.reward_info import reward_info, reward_info_cache_keys

from .auth import Caller, authenticate, forget_all, key_used, reauthenticate
from .errors import ApiError, api_error
from .grant import reward_grant_idempotent
from .ratelimit import Decision, throttle, unthrottled
from .validation import RewardRequest, idempotency_key, parse_reward_request, read_body

DEFAULT_RATE_LIMIT = App._meta.get_field("rate_limit_per_second").default


def _json(body, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    # orjson, not JsonResponse's json.dumps with DjangoJSONEncoder: the answers hold only
    # strings, numbers, booleans and None, and encoding them is on every call's path.
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _refuse_anonymous(ip: str, code: str, text: str):
    """Calls without a valid key are throttled per caller IP, at the default rate."""
    decision = throttle(bucket=f"ip:{ip}", limit=DEFAULT_RATE_LIMIT)
    if not decision.allowed:
        raise _throttled(decision)
    raise api_error(code, text, **decision.headers())


def _throttled(decision: Decision) -> ApiError:
    return api_error(
        "rate_limited",
        f"Too many calls: this key may make {decision.limit} calls per second. "
        f"Retry in {decision.retry_after} s.",
        **decision.headers(),
        **{"Retry-After": str(decision.retry_after)},
    )


def _caller(request: HttpRequest, *, fresh: bool = False, generation: str | None = None) -> Caller:
    """The app whose key signs the request, inside its IP allow-list. `fresh` reads the key
    from the database whatever this process remembers (remembering it under `generation`)."""
    ip = request.META.get("REMOTE_ADDR", "")
    # META, not request.headers: building the headers mapping costs more than the rest of
    # this function on the API's hot path.
    raw = request.META.get("HTTP_X_API_KEY")
    if not raw:
        _refuse_anonymous(ip, "missing_api_key", "Send your app's API key in the x-api-key header.")
    caller = reauthenticate(raw, generation=generation) if fresh else authenticate(raw)
    if caller is None:
        _refuse_anonymous(
            ip, "invalid_api_key", "This API key is not valid: it is unknown, revoked or expired."
        )
    if not ip_allowed(caller.app, ip):
        if caller.remembered_under is not None:
            # A remembered allow-list may be older than a widening: the database decides.
            return _caller(request, fresh=True)
        _refuse_anonymous(
            ip, "ip_not_allowed", f"Calls from {ip} are not allowed for this app's API key."
        )
    return caller


class _Call:
    """One authenticated call: its app, and the rate-limit headers once it was counted."""

    def __init__(self, request: HttpRequest, caller: Caller, body: bytes = b""):
        self.request = request
        self.caller = caller
        self.body = body
        self.headers: dict[str, str] = {}
        # Who a refusal is logged under (rewards.api.middleware: one line per key, not per call).
        request.api_key_id = caller.app.authenticated_key.pk
        # The account of the call's access line (console.logs.log_request).
        request.api_account_id = caller.app.account_id

    @property
    def app(self) -> App:
        return self.caller.app

    def _count(self, fetch: tuple[str, ...]) -> Decision:
        return throttle(
            bucket=f"key:{self.app.authenticated_key.pk}",
            limit=self.app.rate_limit_per_second,
            fetch=fetch,
            keyring=keyring_generation_key(self.app.account_id),
            remembered_under=self.caller.remembered_under,
        )

    def throttle(self, fetch: tuple[str, ...] = ()) -> Decision:
        """Count the call against the key's limit (every call counts, malformed ones too).

        The same Redis round trip proves a remembered key current (rewards.api.auth); when
        it is not, the key is read again from the database (a revoked key is refused here)
        and the call counted under the app's current limit: a second round trip, only after
        a change."""
        decision = self._count(fetch)
        if decision.stale:
            self.caller = _caller(self.request, fresh=True, generation=decision.generation)
            decision = self._count(fetch)
        elif decision.generation is None and self.caller.remembered_under is not None:
            # Redis is down: nothing proves the remembered key current, and bumps made
            # meanwhile are lost, so this process forgets every key.
            forget_all()
            self.caller = _caller(self.request, fresh=True)
            decision = unthrottled(self.app.rate_limit_per_second)
        self.headers = decision.headers()
        if not decision.allowed:
            raise _throttled(decision)
        return decision

    def parse(self) -> RewardRequest:
        try:
            parsed = parse_reward_request(self.request, self.body)
        except ApiError:
            self.throttle()
            raise
        if parsed.app_id != self.app.app_id:
            self.throttle()
            raise api_error("app_mismatch", "appId is not the app this API key belongs to.")
        return parsed


def _serve(request: HttpRequest, action, endpoint: str) -> HttpResponse:
    started = perf_counter()
    # moments_api_requests_total's outcome: "ok" or the answer's errorCode; an exception is
    # answered by ApiErrorMiddleware (503 in a database outage, 500 otherwise).
    outcome = "server_error"
    try:
        response, outcome = _answer(request, action)
        return response
    except Exception as exc:
        if is_database_outage(exc):
            outcome = "service_unavailable"
        raise
    finally:
        api_request_observe(endpoint, outcome, perf_counter() - started)


def _answer(request: HttpRequest, action) -> tuple[HttpResponse, str]:
    if request.method != "POST":
        error = api_error("method_not_allowed", "Use POST.")
        return _json(error.body(), error.status, {"Allow": "POST"}), error.code
    call = None
    try:
        # Before the key is looked up: an oversized body costs no database or Redis trip.
        raw = read_body(request)
        call = _Call(request, _caller(request), raw)
        status, body, extra = action(call)
    except ApiError as error:
        headers = call.headers if call is not None else {}
        response = _json(error.body(), error.status, {**headers, **error.headers}), error.code
        if call is not None:  # a valid key, refused later (throttled, wrong appId): still used
            _used(call)
        return response
    outcome = "ok"
    if status >= 400:  # a refusal replayed under its Idempotency-Key
        outcome = body.get("errorCode", str(status)) if isinstance(body, dict) else str(status)
    response = _json(body, status, {**call.headers, **extra}), outcome
    _used(call)
    return response


def _used(call: _Call) -> None:
    """The key's "last used", after the answer is computed: a dictionary lookup on most calls,
    one conditional UPDATE a minute per key (rewards.api.auth.key_used)."""
    key_used(call.app.authenticated_key, call.request.META.get("REMOTE_ADDR", ""))


def _info(call: _Call):
    parsed = call.parse()
    lookup = {
        "app": call.app,
        "campaign_id": parsed.campaign_id,
        "reward_group_id": parsed.reward_group_id,
        "moment_id": parsed.moment_id,
    }
    # The throttle's Redis round trip also brings the cached answer, when there is one.
    decision = call.throttle(fetch=reward_info_cache_keys(**lookup))
    try:
        # call.app, not lookup's: the throttle re-reads a remembered app that is out of date.
        body = reward_info(**{**lookup, "app": call.app}, prefetched=decision.fetched)
    except RewardRefused as refusal:
        raise api_error(refusal.code, refusal.text) from refusal
    return 200, ([] if body is None else body), {}


def _grant(call: _Call):
    parsed = call.parse()
    call.throttle()
    answer = reward_grant_idempotent(
        app=call.app,
        parsed=parsed,
        path=call.request.path,
        idempotency_key=idempotency_key(call.request),
    )
    return answer.status, answer.body, ({"Idempotent-Replayed": "true"} if answer.replayed else {})


@csrf_exempt
def get_reward_info(request: HttpRequest) -> HttpResponse:
    """POST /prod/GetRewardInfo: the announcement and what is left; consumes nothing."""
    return _serve(request, _info, "GetRewardInfo")


@csrf_exempt
def get_reward(request: HttpRequest) -> HttpResponse:
    """POST /prod/GetReward: one reward and one CPA charge on a live campaign."""
    return _serve(request, _grant, "GetReward")


API_PATHS = ("/prod/GetRewardInfo", "/prod/GetReward")


@csrf_exempt
def unknown_path(request: HttpRequest) -> HttpResponse:
    """Any other path under /prod/: a JSON 404 that names the path probably meant.

    `/prod/GetReward/` is refused with the fix rather than served: each endpoint keeps the one
    URL the OpenAPI document and the snippets give (the path is also part of an
    Idempotency-Key's fingerprint), and the mistake shows on the first test call."""
    asked = request.path_info.rstrip("/")
    meant = next((path for path in API_PATHS if path.lower() == asked.lower()), None)
    if meant is not None and meant == asked:
        text = f"No such path: use {meant} without the trailing slash."
    elif meant is not None:
        text = f"No such path: paths are case-sensitive, use {meant}."
    else:
        text = f"No such path: the Rewards API is POST {API_PATHS[0]} and POST {API_PATHS[1]}."
    error = api_error("not_found", text)
    return _json(error.body(), error.status)
