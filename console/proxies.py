"""The caller's real address behind a load balancer (SPEC §10).

`X-Forwarded-For` and `X-Forwarded-Proto` are plain request headers: anyone can send them. They
mean something only when the direct peer is one of our own proxies, listed as CIDRs in
`TRUSTED_PROXIES`. This middleware runs first, so everything after it (the HTTPS redirect, the
API's IP allow-list and per-IP throttle, the sign-in limits) reads the client's address from
`REMOTE_ADDR` and the scheme from `request.is_secure()` without knowing about proxies.

It also gives each request its id (console/logs.py), since trust is decided here: a trusted
proxy's `X-Request-ID` is kept (when it is a plain, bounded string), anyone else's is replaced by
a fresh one. The id is set for every log line of the request, returned in the response's
`X-Request-ID` and carried into the tasks the request enqueues; the request's access line is
written here too, so that its duration covers everything after this first middleware.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, MutableMapping

from django.conf import settings

from .logs import REQUEST_ID_HEADER, REQUEST_ID_META, log_request, request_id, request_id_from

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# (the settings value it was parsed from, its networks): parsed once, not per request. Keyed on
# the value itself so that a settings override (tests, a reload) is picked up.
_parsed: tuple[object, tuple[Network, ...]] = (None, ())


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES` as networks; a bare address is a /32 (or /128)."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def trusted_networks() -> tuple[Network, ...]:
    global _parsed
    configured = settings.TRUSTED_PROXIES
    source, networks = _parsed
    if configured is not source and configured != source:
        networks = parse_networks(configured)
        _parsed = (configured, networks)
    return networks


def _address(text: str) -> Address | None:
    """An address from a header entry, or None when it is not one. Some balancers append the
    port (`203.0.113.7:51234`, `[2001:db8::7]:51234`)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 peer seen through an IPv6 socket (::ffff:10.0.0.1) is the IPv4 address.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(meta: MutableMapping[str, str], networks: tuple[Network, ...]) -> bool:
    """Rewrite `meta` in place: REMOTE_ADDR becomes the client's address when the peer is a
    trusted proxy; the forwarding headers are dropped when it is not. True when it is."""
    peer = _address(meta.get("REMOTE_ADDR", ""))
    if peer is None or not _is_trusted(peer, networks):
        # Sent by the client itself: dropped, so neither Django's SECURE_PROXY_SSL_HEADER nor
        # any later reader can be fooled by them.
        meta.pop("HTTP_X_FORWARDED_FOR", None)
        meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return False
    # Each proxy appends the address it received the request from. Read from the right: our
    # own proxies are skipped, and the first address that is not one of them is the client.
    # Everything to its left was written by the client and proves nothing.
    client: Address | None = None
    for entry in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(entry)
        if address is None:
            continue
        client = address
        if not _is_trusted(address, networks):
            break
    if client is not None:
        meta["REMOTE_ADDR"] = str(client)
    return True


class TrustedProxyMiddleware:
    """First in MIDDLEWARE: sets REMOTE_ADDR to the client's address behind trusted proxies and
    drops forwarding headers from anyone else; gives the request its id and logs its access
    line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        meta = request.META
        networks = trusted_networks()
        trusted = client_address(meta, networks) if networks else False
        # The hot path: one header read, and a uuid only when no trusted proxy sent an id.
        rid = request_id_from(meta.get(REQUEST_ID_META) if trusted else None)
        meta[REQUEST_ID_META] = rid  # a later reader sees the id, never a client's own
        request.request_id = rid
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = rid
            log_request(request, response.status_code, started)
        finally:
            request_id.reset(token)
        return response
