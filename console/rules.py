"""A rule written once, as a query expression, read both by the database and in Python.

A derived rule ("overdue", a campaign's effective status) is needed in two forms: as a filter
(lists, counts, the sweep, exports) and on one row already in memory (a badge, an API answer,
a PDF). Written twice, the two copies drift apart. Here the rule is written once, as a `Q` or a
`Case` over a model's columns; the database evaluates it in queries, and `q_matches` /
`case_value` evaluate the very same object on an instance, without a query (the API's hot path
cannot afford one per call).

Only what the rules use is supported (plain columns, `exact`, `lt`, `lte`, `gt`, `gte`, `in`,
`isnull`, `F()` and `F() +/- F()`); anything else raises, so a rule cannot silently mean one
thing in SQL and another here. Comparisons with NULL follow SQL's three-valued logic: unknown,
which a WHERE or a WHEN treats as false, and which stays unknown under NOT.
"""

from __future__ import annotations

import operator
from typing import Any

from django.db.models import Case, F, Q, Value
from django.db.models.expressions import CombinedExpression

_COMPARE = {
    "exact": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
_ARITHMETIC = {"+": operator.add, "-": operator.sub}


def _value(obj: Any, expression: Any) -> Any:
    if isinstance(expression, F):
        return getattr(obj, expression.name)
    if isinstance(expression, Value):
        return expression.value
    if isinstance(expression, CombinedExpression):
        left, right = _value(obj, expression.lhs), _value(obj, expression.rhs)
        if left is None or right is None:
            return None
        return _ARITHMETIC[expression.connector](left, right)
    if hasattr(expression, "resolve_expression"):
        raise NotImplementedError(f"console.rules cannot evaluate {expression!r}")
    return expression


def _lookup(obj: Any, lookup: str, expected: Any) -> bool | None:
    field, _, kind = lookup.partition("__")
    kind = kind or "exact"
    if "__" in kind:
        raise NotImplementedError(f"console.rules does not follow relations: {lookup!r}")
    actual = getattr(obj, field)
    if kind == "isnull":
        return (actual is None) == bool(expected)
    expected = _value(obj, expected)
    if kind == "exact" and expected is None:
        return actual is None  # Django turns `field=None` into IS NULL
    if kind == "in":
        return None if actual is None else actual in expected
    if kind not in _COMPARE:
        raise NotImplementedError(f"console.rules does not know the lookup {lookup!r}")
    if actual is None or expected is None:
        return None
    return _COMPARE[kind](actual, expected)


def _match(obj: Any, condition: Q) -> bool | None:
    results = [
        _match(obj, child) if isinstance(child, Q) else _lookup(obj, *child)
        for child in condition.children
    ]
    if condition.connector == Q.AND:
        result = False if False in results else (None if None in results else True)
    else:
        result = True if True in results else (None if None in results else False)
    if condition.negated and result is not None:
        result = not result
    return result


def q_matches(condition: Q, obj: Any) -> bool:
    """Whether the row `obj` (a model instance as loaded) is one that `filter(condition)`
    returns: unknown (a NULL compared) counts as no, as in a WHERE clause."""
    return _match(obj, condition) is True


def case_value(expression: Case, obj: Any) -> Any:
    """What `annotate(x=expression)` gives the row `obj`: the first WHEN whose condition
    holds, else the default."""
    for when in expression.cases:
        if q_matches(when.condition, obj):
            return _value(obj, when.result)
    return _value(obj, expression.default)
