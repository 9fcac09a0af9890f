"""Pure cell rules as tables: formula escaping both ways, and typed reading with its messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.transfer import cells


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Jonas", "Jonas"),
        ("=1+2", "'=1+2"),
        ("+49 151", "'+49 151"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("'already", "''already"),
        ("'", "''"),
        ("a=b", "a=b"),
        ("", ""),
    ],
    ids=[
        "plain",
        "equals",
        "plus",
        "minus",
        "at",
        "tab",
        "apostrophe",
        "lone-apostrophe",
        "inner",
        "empty",
    ],
)
def test_escape_and_unescape(value: str, written: str) -> None:
    assert cells.escape(value) == written
    assert cells.unescape(written) == value


@pytest.mark.parametrize("typed", ["'hello", "'", "it's"], ids=["quote-letter", "lone", "inner"])
def test_apostrophes_people_type_are_kept(typed: str) -> None:
    assert cells.unescape(typed) == typed


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (cells.wa_id, "4915112345678", "4915112345678"),
        (cells.wa_id, "+49 151 1234-5678", "4915112345678"),
        (cells.wa_id, "0049 (151) 12345678", "4915112345678"),
        (cells.country, "de", "DE"),
        (cells.timezone, "America/Sao_Paulo", "America/Sao_Paulo"),
        (cells.language, "pt-BR", "pt-BR"),
        (cells.boolean, "Yes", True),
        (cells.boolean, "0", False),
        (cells.amount, "129.9", Decimal("129.9")),
        (cells.amount, "0", Decimal("0")),
        (cells.currency, "eur", "EUR"),
        (cells.moment, "2026-11-23T10:30:00+01:00", datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        (cells.moment, "2026-11-23T09:30:00Z", datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        (cells.quantity, "3", 3),
    ],
    ids=[
        "digits",
        "plus-spaces-dash",
        "00-parentheses",
        "country-lower",
        "zone",
        "language-region",
        "yes",
        "zero-false",
        "amount-one-decimal",
        "amount-zero",
        "currency-lower",
        "offset",
        "zulu",
        "quantity",
    ],
)
def test_good_cells(parse: Callable[[str], Any], value: str, expected: Any) -> None:
    assert parse(value) == expected


@pytest.mark.parametrize(
    ("parse", "value", "words"),
    [
        (cells.wa_id, "4.91511E+12", "scientific notation"),
        (cells.wa_id, "call me", "not a phone number"),
        (cells.wa_id, "12", "country code"),
        (cells.user_id, "US 123", "no spaces"),
        (cells.country, "XX", "ISO 3166"),
        (cells.timezone, "Europe/Atlantis", "IANA"),
        (cells.timezone, "../etc/passwd", "IANA"),
        (cells.language, "english!", "BCP 47"),
        (cells.boolean, "maybe", "true or false"),
        (cells.amount, "1,299.00", "dot"),
        (cells.amount, "-1", "zero or more"),
        (cells.amount, "1.999", "two decimal"),
        (cells.amount, "NaN", "zero or more"),
        (cells.amount, "ten", "not an amount"),
        (cells.amount, "1e15", "too large"),
        (cells.currency, "EURO", "ISO 4217"),
        (cells.moment, "2026-11-23 09:30", "time zone"),
        (cells.moment, "23.11.2026", "ISO 8601"),
        (cells.quantity, "0", "1 or more"),
        (cells.quantity, "1.5", "whole number"),
    ],
    ids=[
        "rounded-number",
        "words",
        "too-short",
        "user-id-space",
        "country",
        "zone",
        "zone-path",
        "language",
        "boolean",
        "thousands-comma",
        "negative",
        "three-decimals",
        "nan",
        "words-amount",
        "huge",
        "currency",
        "naive-time",
        "german-date",
        "zero-quantity",
        "fraction-quantity",
    ],
)
def test_bad_cells_say_what_to_write(parse: Callable[[str], Any], value: str, words: str) -> None:
    with pytest.raises(cells.CellError, match=words):
        parse(value)
