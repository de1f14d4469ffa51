"""The shopper's device id (SPEC §8, fraud): a long-lived signed cookie `mc_device` on the
reward pages, so claims made from one browser can be linked whatever account signs in there.

Signed, so a forged or edited value is ignored (a new id is issued) rather than trusted: a
fraudster can still clear the cookie, which is why the address is checked too.
"""

from __future__ import annotations

import secrets

from django.conf import settings

COOKIE_NAME = "mc_device"
COOKIE_SALT = "rewards.device"  # the salt views._device_id reads it with
# Two years: long enough to outlive a campaign and its returns period many times over.
COOKIE_MAX_AGE = 2 * 365 * 24 * 60 * 60
SHOPPER_PATH_PREFIX = "/r/"


def new_device_id() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, fits Claim.device_id


def device_id_of(request) -> str:
    """The device id of this request: the one the middleware read or issued, else ''."""
    return getattr(request, "device_id", "") or ""


class DeviceCookieMiddleware:
    """On /r/ paths: read the signed `mc_device` cookie into `request.device_id`, or issue a new
    id (on the request at once, so a claim made by this very request records it) and set the
    cookie on the response. Other paths are left alone: the console never needs it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(SHOPPER_PATH_PREFIX):
            return self.get_response(request)
        device_id = request.get_signed_cookie(COOKIE_NAME, default="", salt=COOKIE_SALT)
        issued = not device_id or len(device_id) > 64
        if issued:
            device_id = new_device_id()
        request.device_id = device_id
        response = self.get_response(request)
        if issued:
            response.set_signed_cookie(
                COOKIE_NAME,
                device_id,
                salt=COOKIE_SALT,
                max_age=COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


__all__ = ["COOKIE_NAME", "DeviceCookieMiddleware", "device_id_of", "new_device_id"]
