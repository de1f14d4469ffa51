"""Writes for developer accounts, teams, apps and API keys, spend limits and requests to staff
(STYLE: every write is a service), one module per subdomain. The public names are re-exported
here, so `from console.services import app_register` keeps working."""

from __future__ import annotations

from .accounts import (
    account_signup,
    country_refusal,
    tax_id_normalize,
)
from .keys import (
    KEY_ISSUE_ATTEMPTS,
    KEY_PREFIX_TAG,
    KEYRING_TTL,
    IssuedKey,
    api_key_authenticate,
    api_key_revoke,
    api_key_rotate,
    app_access_changed,
    app_register,
    app_update,
    ip_allowed,
    keyring_generation_key,
    parse_allowed_ips,
)
from .spend_limits import (
    SPEND_LIMIT_MAX,
    SPEND_LIMIT_REASON_REQUIRED,
    account_limits_changed,
    account_spend_limit_set,
    spend_limit_error,
)
from .staff_requests import (
    ASIN_PATTERN,
    MONEY_KINDS,
    marketplace_choices,
    staff_request_answer,
    staff_request_answer_recipients,
    staff_request_create,
    staff_request_errors,
    staff_request_may_answer,
    staff_request_withdraw,
)
from .team import (
    INVITATION_DAYS,
    LAST_ADMIN,
    IssuedInvitation,
    invitation_accept,
    invitation_create,
    invitation_find,
    invitation_returning_user,
    invitation_revoke,
    membership_remove,
    membership_role_set,
)

__all__ = [
    "ASIN_PATTERN",
    "INVITATION_DAYS",
    "IssuedInvitation",
    "IssuedKey",
    "KEYRING_TTL",
    "KEY_ISSUE_ATTEMPTS",
    "KEY_PREFIX_TAG",
    "LAST_ADMIN",
    "MONEY_KINDS",
    "SPEND_LIMIT_MAX",
    "SPEND_LIMIT_REASON_REQUIRED",
    "account_limits_changed",
    "account_signup",
    "account_spend_limit_set",
    "api_key_authenticate",
    "api_key_revoke",
    "api_key_rotate",
    "app_access_changed",
    "app_register",
    "app_update",
    "country_refusal",
    "invitation_accept",
    "invitation_create",
    "invitation_find",
    "invitation_returning_user",
    "invitation_revoke",
    "ip_allowed",
    "keyring_generation_key",
    "marketplace_choices",
    "membership_remove",
    "membership_role_set",
    "parse_allowed_ips",
    "spend_limit_error",
    "staff_request_answer",
    "staff_request_answer_recipients",
    "staff_request_create",
    "staff_request_errors",
    "staff_request_may_answer",
    "staff_request_withdraw",
    "tax_id_normalize",
]
