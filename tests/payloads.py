"""Small webhook bodies for tests, built like Meta's (ids, string timestamps, contacts block)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"


def envelope(*values: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": field, "value": v} for v in values]}],
    }


def messages_value(
    messages: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": contacts,
        "messages": messages,
    }


def text_message(
    wamid: str,
    text: str,
    *,
    wa_id: str | None = "16505551234",
    user_id: str | None = None,
    name: str = "Sheena Nelson",
    at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": wamid,
        "timestamp": str(int(at.timestamp())) if at else "1763892000",
        "type": "text",
        "text": {"body": text},
        **extra,
    }
    contact: dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        message["from"] = wa_id
        contact["wa_id"] = wa_id
    if user_id:
        message["from_user_id"] = user_id
        contact["user_id"] = user_id
    return envelope(messages_value([message], [contact]))


def status(
    wamid: str, state: str, *, recipient: str = "16505551234", at: int = 1763892000, **extra: Any
) -> dict[str, Any]:
    return envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [
                {
                    "id": wamid,
                    "status": state,
                    "timestamp": str(at),
                    "recipient_id": recipient,
                    **extra,
                }
            ],
        }
    )
