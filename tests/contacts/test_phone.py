"""Pure: country, zone and area from a number."""

from __future__ import annotations

import pytest

from app.contacts.phone import facts_for


@pytest.mark.parametrize(
    ("wa_id", "country", "zone"),
    [
        ("16505551234", "US", "America/Los_Angeles"),
        ("12125551234", "US", "America/New_York"),  # one country, several zones: the area decides
        ("4915112345678", "DE", "Europe/Berlin"),
        ("5511987654321", "BR", "America/Sao_Paulo"),
        ("573001234567", "CO", "America/Bogota"),
        ("919876543210", "IN", "Asia/Kolkata"),  # canonical name, not the legacy Asia/Calcutta
        ("84912345678", "VN", "Asia/Ho_Chi_Minh"),
        ("6281234567890", "ID", "Asia/Jakarta"),
        ("+8613812345678", "CN", "Asia/Shanghai"),
    ],
)
def test_facts_from_number(wa_id: str, country: str, zone: str) -> None:
    facts = facts_for(wa_id)
    assert facts is not None
    assert (facts.country, facts.timezone) == (country, zone)
    assert facts.e164 == "+" + wa_id.removeprefix("+")


@pytest.mark.parametrize("wa_id", [None, "", "1", "12345", "WHATSAPP_ID", "<PHONE>", "9" * 20])
def test_not_a_number_gives_none(wa_id: str | None) -> None:
    assert facts_for(wa_id) is None
