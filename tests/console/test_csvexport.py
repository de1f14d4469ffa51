"""One CSV helper (console/csvexport.py): streamed, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from console.csvexport import csv_cell, csv_lines, csv_response


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"],
)
def test_text_that_a_spreadsheet_reads_as_a_formula_is_quoted(text):
    assert csv_cell(text) == "'" + text


def test_numbers_stay_numbers_whatever_their_sign():
    assert csv_cell(Decimal("-12.00")) == Decimal("-12.00")
    assert csv_cell(-3) == -3
    line = next(csv_lines([[Decimal("-12.00"), -3, "-12.00"]]))
    assert line == "-12.00,-3,'-12.00\r\n"


def test_dates_nothing_and_plain_text():
    assert csv_cell(date(2026, 10, 3)) == "2026-10-03"
    assert csv_cell(None) == ""
    assert csv_cell("Acme Games") == "Acme Games"


def test_the_response_streams_rows_from_a_generator_one_line_at_a_time():
    produced = []

    def rows():
        yield ["company", "total"]
        for n in range(3):
            produced.append(n)
            yield [f"Company {n}", Decimal(n)]

    response = csv_response("x.csv", rows())
    assert isinstance(response, StreamingHttpResponse)
    assert produced == []  # nothing read before the response is sent
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"company,total\r\n"
    assert next(chunks) == b"Company 0,0\r\n" and produced == [0]
    body = b"".join(chunks).decode()
    assert list(csv.reader(io.StringIO(body))) == [["Company 1", "1"], ["Company 2", "2"]]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
