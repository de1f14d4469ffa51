"""CSV downloads, written once (finance's invoice exports, a campaign's results).

`csv_response(filename, rows)` streams `rows` (a header, then the data: any iterable, usually a
generator over a server-side cursor) through `csv.writer` into a `StreamingHttpResponse`, one
line at a time, so memory stays constant whatever the number of rows.

Cells are written as follows:
- `None` is empty; dates and datetimes are ISO 8601; `Decimal` and `int` are written as they
  are (money arrives here already fixed to its places by `console.money.csv_amount`), so a
  credit note's `-12.00` stays a number a spreadsheet can add up;
- text that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or
  a carriage return) is prefixed with a single quote (OWASP "CSV injection"): a company named
  `=HYPERLINK("http://evil","x")` arrives as text, never as a live link. Only text is touched:
  numbers are never neutralised, whatever their sign.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object whose write() hands the line back, so csv.writer feeds a stream."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str | int | Decimal:
    """One cell, safe to open in a spreadsheet (rules in the module's docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of `rows`, one line at a time."""
    writer = csv.writer(Echo())
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(filename: str, rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A streamed CSV download of `rows` (the first row is the header)."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
