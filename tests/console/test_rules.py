"""console.rules evaluates a rule's Q or Case on a loaded row exactly as the database would:
NULLs make a comparison unknown, which no WHERE or WHEN accepts, even under NOT."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db.models import Case, F, Q, Value, When

from console.rules import case_value, q_matches


def row(**fields):
    return SimpleNamespace(**fields)


def test_a_comparison_with_null_matches_neither_the_rule_nor_its_negation():
    rule = Q(due_date__lt=date(2030, 1, 2))
    unknown = row(due_date=None)

    assert not q_matches(rule, unknown)
    assert not q_matches(~rule, unknown)


def test_and_or_and_not_follow_sql():
    rule = Q(status="open") & (Q(due_date__lt=date(2030, 1, 2)) | Q(due_date__isnull=True))

    assert q_matches(rule, row(status="open", due_date=None))
    assert q_matches(rule, row(status="open", due_date=date(2030, 1, 1)))
    assert not q_matches(rule, row(status="open", due_date=date(2030, 1, 2)))
    assert not q_matches(rule, row(status="paid", due_date=None))
    assert q_matches(~Q(status="paid"), row(status="open"))


def test_a_column_compared_with_a_difference_of_columns():
    rule = Q(cpa__gt=F("total_budget") - F("spent"))

    assert q_matches(rule, row(cpa=Decimal(25), total_budget=Decimal(1000), spent=Decimal(976)))
    assert not q_matches(rule, row(cpa=Decimal(25), total_budget=Decimal(1000), spent=Decimal(975)))
    assert not q_matches(rule, row(cpa=Decimal(25), total_budget=None, spent=Decimal(0)))


def test_a_case_gives_the_first_matching_when_else_its_default():
    case = Case(
        When(Q(n__gte=10), then=Value("big")),
        When(Q(n__gte=1), then=Value("some")),
        default=F("label"),
    )

    assert case_value(case, row(n=12, label="x")) == "big"
    assert case_value(case, row(n=3, label="x")) == "some"
    assert case_value(case, row(n=None, label="none")) == "none"


def test_a_lookup_it_does_not_know_is_refused_rather_than_guessed():
    with pytest.raises(NotImplementedError):
        q_matches(Q(name__icontains="a"), row(name="abc"))
    with pytest.raises(NotImplementedError):
        q_matches(Q(account__name="a"), row(account=None))
