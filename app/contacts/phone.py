"""Pure: what a WhatsApp number says about its owner (country, time zone, area), via phonenumbers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_timezone

UNKNOWN_ZONE = "Etc/Unknown"
# phonenumbers still returns a few pre-2000s zone links; store the canonical IANA names.
CANONICAL_ZONES = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Atlantic/Faeroe": "Atlantic/Faroe",
}


@dataclass(frozen=True)
class NumberFacts:
    e164: str
    country: str | None
    calling_code: int
    timezone: str | None
    area: str | None


@lru_cache(maxsize=65536)
def facts_for(wa_id: str | None) -> NumberFacts | None:
    """None for anything that is not a real number (Meta sends digits without '+'; fixtures send
    placeholders such as "WHATSAPP_ID")."""
    if not wa_id:
        return None
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    if len(digits) < 7 or len(digits) > 15:
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    country = phonenumbers.region_code_for_number(number)
    if country in (None, "ZZ", "001"):
        country = None
    # Countries with several zones (US, BR, RU, AU, ...) are resolved by the number's area code.
    zones = [
        CANONICAL_ZONES.get(z, z)
        for z in number_timezone.time_zones_for_number(number)
        if z != UNKNOWN_ZONE
    ]
    area = geocoder.description_for_number(number, "en") or None
    return NumberFacts(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=country,
        calling_code=int(number.country_code or 0),
        timezone=zones[0] if zones else None,
        area=area,
    )
