"""Pure helpers at the Cloud API edge: signatures, timestamps, text extraction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.whatsapp.payloads import InboundMessage, extract_text, parse_timestamp
from app.whatsapp.signature import sign, verify

FALLBACK = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (sign("s", b"{}"), True),
        (sign("s", b"{}").upper().replace("SHA256=", "sha256="), True),
        (sign("t", b"{}"), False),
        (None, False),
        ("", False),
        ("sha256=", False),
        ("sha256=zz", False),
    ],
)
def test_verify(header: str | None, ok: bool) -> None:
    assert verify("s", b"{}", header) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1749416383", datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)),
        (1749416383, datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)),
        (" 1749416383 ", datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)),
        ("TIMESTAMP", FALLBACK),
        (None, FALLBACK),
        (-5, FALLBACK),
        (10**12, FALLBACK),
        (1.5, FALLBACK),
    ],
)
def test_parse_timestamp(value, expected) -> None:
    assert parse_timestamp(value, FALLBACK) == expected


@pytest.mark.parametrize(
    ("kind", "body", "text"),
    [
        ("text", {"body": "price?"}, "price?"),
        ("image", {"id": "1", "caption": "this one"}, "this one"),
        ("image", {"id": "1"}, None),
        (
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "b", "title": "Yes"}},
            "Yes",
        ),
        (
            "interactive",
            {"type": "list_reply", "list_reply": {"id": "l", "title": "Red", "description": "XL"}},
            "Red\nXL",
        ),
        ("interactive", {"type": "nfm_reply", "nfm_reply": {"body": "Sent"}}, "Sent"),
        ("button", {"payload": "STOP_PROMO", "text": "Stop promotions"}, "Stop promotions"),
        ("reaction", {"message_id": "w", "emoji": "👍"}, "👍"),
        ("reaction", {"message_id": "w"}, None),
        ("order", {"catalog_id": "c", "text": "for my sister"}, "for my sister"),
        (
            "location",
            {"latitude": 1, "longitude": 2, "name": "Shop", "address": "Main St"},
            "Shop\nMain St",
        ),
        (
            "edit",
            {"original_message_id": "w", "message": {"type": "text", "text": {"body": "new"}}},
            "new",
        ),
        ("unsupported", {"type": "poll_creation"}, None),
        ("text", "not a dict", None),
    ],
)
def test_extract_text(kind: str, body, text: str | None) -> None:
    assert extract_text(kind, body) == text


def test_missing_type_is_inferred_from_the_body_key() -> None:
    message = InboundMessage.model_validate(
        {"id": "w", "location": {"latitude": 1, "longitude": 2}}
    )
    assert message.kind() == "location"
    assert InboundMessage.model_validate({"id": "w"}).kind() == "unknown"


def test_identifiers_accept_numbers_and_drop_garbage() -> None:
    message = InboundMessage.model_validate(
        {"id": 1, "from": 16505551234, "from_user_id": "x" * 300}
    )
    assert (message.id, message.sender, message.from_user_id) == ("1", "16505551234", None)
