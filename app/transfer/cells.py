"""Pure: one CSV cell in or out. Formula-safe output for spreadsheets, and typed reading of
uploaded cells with a message a person can act on when a value is wrong."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); a leading
# apostrophe makes it text. An apostrophe itself is escaped too, so reading undoes exactly this.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
TRUE = frozenset({"true", "yes", "y", "1"})
FALSE = frozenset({"false", "no", "n", "0"})
# BCP 47 as people write it: a primary language and optional subtags (pt-BR, zh-Hant, hi-Latn).
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
NUMBER_PUNCTUATION = str.maketrans("", "", " -().\u00a0/")


class CellError(ValueError):
    """The message says what is wrong and how to write it instead."""


def escape(value: str) -> str:
    return QUOTE + value if value.startswith((*FORMULA_STARTS, QUOTE)) else value


def unescape(value: str) -> str:
    return value[1:] if value[:1] == QUOTE and value[1:2] in (*FORMULA_STARTS, QUOTE) else value


def wa_id(value: str) -> str:
    """A WhatsApp number as Meta writes it: country code and number, digits only."""
    if re.fullmatch(r"[\d.,]+[eE]\+?\d+", value):
        raise CellError(
            f"{value!r} is a number a spreadsheet rounded to scientific notation; "
            "format the column as text and enter the full number"
        )
    digits = value.translate(NUMBER_PUNCTUATION).removeprefix("+").removeprefix("00")
    if not digits.isdigit():
        raise CellError(f"{value!r} is not a phone number; write it as digits, e.g. 4915112345678")
    if not _possible(digits):
        raise CellError(
            f"{value!r} is not a possible phone number; give it with the country code, "
            "e.g. 4915112345678"
        )
    return digits


def _possible(digits: str) -> bool:
    """The test app.contacts.phone.facts_for applies, without its time zone and area lookups,
    which cost most of the time when a file brings many numbers already known."""
    if not 7 <= len(digits) <= 15:
        return False
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(number))


def user_id(value: str) -> str:
    if len(value) > 256 or any(ch.isspace() for ch in value):
        raise CellError(
            f"{value[:40]!r} is not a WhatsApp user_id (no spaces, at most 256 characters)"
        )
    return value


def timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CellError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
        ) from exc
    return value


def country(value: str) -> str:
    code = value.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise CellError(f"unknown country {value!r}; use a two-letter ISO 3166 code such as DE")
    return code


def language(value: str) -> str:
    if len(value) > 16 or not LANGUAGE.fullmatch(value):
        raise CellError(f"{value!r} is not a language tag; use BCP 47 such as en, de or pt-BR")
    return value


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise CellError(f"{value!r} is not true or false")


def amount(value: str) -> Decimal:
    # A comma is refused rather than guessed: "1,299" may be 1299 or 1.299.
    if "," in value:
        raise CellError(
            f"{value!r}: write amounts with a dot and no thousands separator, e.g. 1299.90"
        )
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise CellError(f"{value!r} is not an amount, e.g. 129.90") from exc
    if not number.is_finite() or number < 0:
        raise CellError(f"{value!r} is not an amount of zero or more")
    if number != number.quantize(Decimal("0.01")):
        raise CellError(f"{value!r} has more than two decimal places")
    if number >= Decimal("1e12"):
        raise CellError(f"{value!r} is too large")
    return number


def currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise CellError(f"{value!r} is not a currency; use an ISO 4217 code such as EUR")
    return value.upper()


def moment(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CellError(f"{value!r} is not an ISO 8601 time, e.g. 2026-11-23T09:30:00Z") from exc
    if parsed.tzinfo is None:
        raise CellError(f"{value!r} has no time zone; add Z or an offset such as +01:00")
    return parsed.astimezone(UTC)


def quantity(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise CellError(f"{value!r} is not a quantity (a whole number, 1 or more)")
    return int(value)


def text(value: str, *, limit: int) -> str:
    if len(value) > limit:
        raise CellError(f"longer than {limit} characters")
    return value
