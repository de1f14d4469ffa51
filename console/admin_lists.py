"""Admin list pages over big tables (the ledger, reward grants, claims, the activity log): a
fixed number of queries, each answered from an index, however many rows there are (issue 20:
at 500,000 rows the ledger list took 0.9 s, its search 1.6 s).

What makes Django's generic list slow on a big table, and what replaces it here:
- `date_hierarchy` reads `SELECT DISTINCT date_trunc(...)` over the whole table on every page:
  a date range filter (`list_filter = [("created_at", admin.DateFieldListFilter)]`: today,
  past 7 days, this month, this year; or any `created_at__gte`/`__lt` in the URL) needs no query;
- `AllValuesFieldListFilter` / `RelatedOnlyFieldListFilter` read `SELECT DISTINCT` of a column of
  the big table: `ChoicesFilter` lists fixed choices, `SelectedAccountFilter` names only the
  account selected (links from an account's page);
- the count of every row (`show_full_result_count`) and of the filtered rows: no full count, and
  `CappedCountPaginator` counts at most CAP rows (`SELECT count(*) FROM (... LIMIT CAP)`);
- `icontains` search on joined columns (`account__name`) scans and joins every row:
  `IndexedSearchMixin` resolves the term in the small tables first (account and campaign names
  by prefix, exact ids) and filters the big table on indexed ids (`account_id IN (...)`).

Each admin using these also orders by an indexed column and has an index per filter (see the
models' Meta.indexes); tests/console/test_admin_lists.py checks the query counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cached_property

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet

# Rows counted at most: beyond, the list says "10,000" and offers 100 pages of 100; staff narrow
# it with a filter or a search rather than page through half a million rows.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """A paginator whose count stops at COUNT_CAP rows: `COUNT(*)` over a limited subquery
    reads at most that many index entries, instead of every row of the table."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return self.object_list.order_by()[:COUNT_CAP].count()
        return min(len(self.object_list), COUNT_CAP)


class BigTableAdminMixin:
    """The settings every admin list over a big table shares: no full count, a capped count,
    50 rows a page (rendering 100 rows costs more than the queries)."""

    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50


class ChoicesFilter(admin.SimpleListFilter):
    """A filter on one column with a fixed list of values (no `SELECT DISTINCT` of the table).
    Subclass with `title`, `parameter_name` (the column) and `choices()`."""

    def choices_list(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return self.choices_list()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class SelectedAccountFilter(admin.SimpleListFilter):
    """Rows of one account, by id (`?account=<id>`, as linked from the account's page): only
    the selected account is named, so the filter reads one row of the accounts table, never the
    big table's distinct accounts."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request, model_admin):
        from console.models import Account

        value = self.value()
        if not (value and value.isdigit()):
            return []
        name = Account.objects.filter(pk=value).values_list("name", flat=True).first()
        return [(value, name or f"#{value}")]

    def has_output(self):
        return bool(self.lookup_choices)

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(account_id=value)
        return queryset


def _as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


class IndexedSearchMixin:
    """Search that the database answers from indexes.

    `indexed_search` lists (column of the big table, how a term becomes its values):
    - ("prefix", Model, "field"): the ids of Model rows whose `field` starts with the term
      (case-insensitive; a small table: accounts, campaigns, users);
    - ("uuid", Model, "field"): the ids of Model rows whose `field` is the term as a UUID;
    - ("exact", None, None): the column equals the term (it has an index);
    - ("pk", None, None): the column equals the term when it is a number;
    - (callable): a function term -> queryset of the related rows (anything else indexed).
    The rows matching any of them are returned (an OR of `column IN (...)` that the database
    answers with one index scan each)."""

    indexed_search: list[tuple[str, tuple | Callable]] = []
    # Related ids resolved per term, at most: a term as short as "a" must not turn into an
    # IN list of every account.
    SEARCH_IDS_MAX = 500

    def get_search_fields(self, request):
        # Non-empty so that Django shows the search box; the search itself is ours.
        return [column for column, _ in self.indexed_search] or super().get_search_fields(request)

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term or not self.indexed_search:
            return super().get_search_results(request, queryset, search_term)
        condition = Q(pk__in=[])
        for column, how in self.indexed_search:
            values = self._search_values(how, term)
            if values is None:
                continue
            exact = not callable(how) and how[0] == "exact"
            condition |= Q(**{column: values}) if exact else Q(**{f"{column}__in": values})
        return queryset.filter(condition), False

    def _search_values(self, how: tuple | Callable, term: str):
        if callable(how):
            # Materialised: `column IN (1, 2, 3)` lets the database OR index scans together,
            # where `column IN (SELECT ...)` inside an OR becomes a filter on every row.
            return list(how(term).values_list("pk", flat=True)[: self.SEARCH_IDS_MAX])
        kind, model, field = how
        if kind == "exact":
            return term
        if kind == "pk":
            return [int(term)] if term.isdigit() else None
        if kind == "uuid":
            value = _as_uuid(term)
            if value is None:
                return None
            return list(model.objects.filter(**{field: value}).values_list("pk", flat=True)[:1])
        if kind == "prefix":
            return list(
                model.objects.filter(**{f"{field}__istartswith": term})
                .order_by()
                .values_list("pk", flat=True)[: self.SEARCH_IDS_MAX]
            )
        raise ValueError(f"unknown indexed search {kind!r}")
