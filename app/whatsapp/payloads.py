"""Pydantic shapes of Meta's webhook bodies, lenient by design.

Meta adds fields and types without notice and SDK fixtures carry placeholders, so every model keeps
unknown keys, identifiers accept numbers or strings, and nothing here rejects a message type.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# Message types whose body sits under a key of the same name; used when "type" is missing.
KNOWN_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "revoke",
    "edit",
    "unsupported",
    "request_welcome",
)


def _to_str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    # Real ids are short; anything longer is garbage we would rather treat as missing.
    return text if 0 < len(text) <= 256 else None


Ident = Annotated[str | None, BeforeValidator(_to_str)]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Profile(Model):
    name: Ident = None
    username: Ident = None


class ContactRef(Model):
    wa_id: Ident = None
    user_id: Ident = None
    parent_user_id: Ident = None
    profile: Profile | None = None


class InboundMessage(Model):
    id: Ident = None
    sender: Ident = Field(default=None, alias="from")
    from_user_id: Ident = None
    from_parent_user_id: Ident = None
    timestamp: Any = None
    type: Ident = None
    context: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None

    def kind(self) -> str:
        if self.type:
            return self.type
        extra = self.model_extra or {}
        return next((name for name in KNOWN_TYPES if name in extra), "unknown")

    def body(self) -> Any:
        return (self.model_extra or {}).get(self.kind())


class StatusUpdate(Model):
    id: Ident = None
    status: Ident = None
    timestamp: Any = None
    recipient_id: Ident = None
    recipient_user_id: Ident = None
    biz_opaque_callback_data: Ident = None
    errors: list[dict[str, Any]] | None = None


class ChangeValue(Model):
    metadata: dict[str, Any] | None = None
    contacts: list[ContactRef] | None = None
    messages: list[dict[str, Any]] | None = None
    statuses: list[dict[str, Any]] | None = None
    errors: list[Any] | None = None


def parse_timestamp(value: Any, fallback: datetime) -> datetime:
    """Meta sends Unix seconds as a string (messages) or an integer (other fields)."""
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return fallback
    if not 0 <= seconds < 4_102_444_800:  # 1970 .. 2100: anything else is a placeholder
        return fallback
    return datetime.fromtimestamp(seconds, UTC)


def synthetic_id(prefix: str, obj: Any) -> str:
    """A stable id for an update that came without one, so retries still deduplicate."""
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}:{digest[:40]}"


def extract_text(kind: str, body: Any) -> str | None:
    """The words a customer wrote or tapped, whatever the message type (the tagger reads these)."""
    if not isinstance(body, dict):
        return None
    parts: list[Any]
    if kind == "text":
        parts = [body.get("body")]
    elif kind in ("image", "video", "document", "audio", "sticker"):
        parts = [body.get("caption")]
    elif kind == "interactive":
        reply = next((body[k] for k in ("button_reply", "list_reply") if k in body), None)
        if isinstance(reply, dict):
            parts = [reply.get("title"), reply.get("description")]
        else:
            nfm = body.get("nfm_reply")
            parts = [nfm.get("body")] if isinstance(nfm, dict) else []
    elif kind == "button":
        parts = [body.get("text")]
    elif kind == "reaction":
        parts = [body.get("emoji")]
    elif kind == "order":
        parts = [body.get("text")]
    elif kind == "location":
        parts = [body.get("name"), body.get("address")]
    elif kind == "system":
        parts = [body.get("body")]
    elif kind == "edit":
        inner = body.get("message")
        parts = (
            [extract_text(str(inner.get("type", "text")), inner.get(inner.get("type", "text")))]
            if isinstance(inner, dict)
            else []
        )
    else:
        parts = []
    words = [str(p).strip() for p in parts if isinstance(p, str | int | float) and str(p).strip()]
    return "\n".join(words) or None
