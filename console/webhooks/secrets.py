"""Endpoint signing secrets: `whsec_` + base64 of 24 random bytes (Standard Webhooks), stored
encrypted with a key derived from SECRET_KEY.

The signature needs the raw secret, so a hash would not do; encryption keeps a copy of the
database (a backup, a replica) from signing webhooks. Keys from SECRET_KEY_FALLBACKS still
decrypt, so rotating SECRET_KEY the Django way (old key moved to the fallbacks) keeps every
endpoint working; re-encryption happens on the endpoint's next secret rotation.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def secret_generate() -> str:
    """A new signing secret, as shown to the developer and given to standardwebhooks."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"webhooks:{key}".encode()).digest()))
            for key in keys
        ]
    )


def secret_encrypt(raw: str) -> str:
    return _fernet().encrypt(raw.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
