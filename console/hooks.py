"""Calls from a lower layer up to a higher one, without an import (README, "Layout").

The platform (console), the catalog and campaigns must sometimes make a higher layer act: drop
the Rewards API's cached answers when a campaign moves or an account's limit changes, ask
billing whether an account can be charged. They call a hook by name; the higher app registers
the function in its AppConfig.ready(), which Django runs in every process (web, worker, beat,
tests) before any request or task. A hook that nobody registered is a wiring bug: it raises,
never passes silently.

No signals: one name, one function, called synchronously in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The hooks, by name: who registers them and what they take.
API_CACHE_INVALIDATE = "api_cache_invalidate"  # rewards: (campaign_pks) after commit
ACCOUNT_LIMITS_CHANGED = "account_limits_changed"  # rewards: (account=) in the transaction
PAYMENT_METHOD_ON_FILE = "payment_method_on_file"  # billing: (account) -> bool
# billing: (account=, terms=, actor=, reason=) in the transaction of an approved request
PAYMENT_TERMS_SET = "payment_terms_set"
ACCOUNT_MONTH_SPENT = "account_month_spent"  # billing: (account_id=) -> this month's USD spend

_hooks: dict[str, Callable[..., Any]] = {}


class HookMissing(LookupError):
    """A hook was called that no installed app registered."""


def hook_register(name: str, function: Callable[..., Any]) -> None:
    """Register `function` under `name` (from an AppConfig.ready(); registering again
    replaces it, so a second ready() is harmless)."""
    _hooks[name] = function


def hook_call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the function registered under `name` and return its answer."""
    try:
        function = _hooks[name]
    except KeyError:
        raise HookMissing(f"No app registered the hook {name!r}.") from None
    return function(*args, **kwargs)
