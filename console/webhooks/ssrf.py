"""Where webhooks may be sent (SPEC §12, SSRF): `https://` URLs whose host resolves only to
public addresses. Checked when an endpoint is saved and again before every attempt (DNS
can change between the two), and the attempt connects to the very address that was checked,
so a name that re-resolves to an internal address in between is never reached.

WEBHOOKS_ALLOW_PRIVATE (on under DEBUG and in tests) lifts the address check and allows
`http://`, for receivers on the developer's own machine.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, every one checked, tried in order) and
    what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _resolve(host: str, port: int) -> list[str]:
    """The host's addresses (a seam for tests: the machines running them may be offline)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _refusal(address: str) -> str | None:
    """Why an address is not a public one, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, label in (
        ("is_unspecified", "an unspecified"),
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, flag):
            return label
    if not ip.is_global:  # shared address space (100.64.0.0/10) and the like
        return "a non-public"
    return None


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False))


def webhook_url_check(url: str, *, resolve: bool | None = None) -> Target | None:
    """Check a webhook URL; raise ValidationError saying what is wrong.

    Returns the Target to connect to when the host was resolved (always when private addresses
    are refused; with WEBHOOKS_ALLOW_PRIVATE only if `resolve` is True).
    """
    private_ok = allow_private()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("Enter a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (private_ok and scheme == "http"):
        raise ValidationError("Use an https:// URL: webhooks are only sent over HTTPS.")
    host = parts.hostname
    if not host:
        raise ValidationError("Enter a URL with a host name.")
    if parts.username or parts.password:
        raise ValidationError("Leave credentials out of the URL; verify the signature instead.")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if private_ok and not resolve:
        return None
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        raise ValidationError(f"The host {host} could not be resolved (DNS).") from None
    if not addresses:
        raise ValidationError(f"The host {host} could not be resolved (DNS).")
    if not private_ok:
        for address in addresses:
            why = _refusal(address)
            if why:
                raise ValidationError(
                    f"{host} resolves to {address}, {why} address: webhooks are only sent "
                    "to public internet addresses."
                )
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))
