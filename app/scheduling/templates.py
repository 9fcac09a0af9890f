"""Registered message templates: what each expects, and the right one for a contact's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BadRequest
from app.scheduling.models import Template
from app.tagging.ruleset import CadenceRule, Ruleset

CATEGORIES = ("marketing", "utility", "authentication")
# What a template parameter may be filled with when a follow-up is sent.
VARIABLES = ("name", "code", "valid_until", "offer", "wa_id")
DEFAULT_LANGUAGE = "en"
# The status of a stand-in that `seed` registers for a dry-run demo: a sender with real
# credentials never picks one (Meta would reject it), so a forgotten stand-in is "not registered".
DEMO = "DEMO"


def validate_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """{"header": [...], "body": [...], "buttons": [{"kind", "index", "params": [...]}]} of VARIABLES."""
    unknown = set(parameters) - {"header", "body", "buttons", "header_format"}
    if unknown:
        raise BadRequest(f"unknown template parameter sections: {sorted(unknown)}")
    names = [*parameters.get("header", []), *parameters.get("body", [])]
    for button in parameters.get("buttons", []):
        if not isinstance(button, Mapping) or button.get("kind") not in (
            "quick_reply",
            "url",
            "copy_code",
        ):
            raise BadRequest(f"a button needs kind quick_reply, url or copy_code: {button!r}")
        if not isinstance(button.get("index"), int):
            raise BadRequest(f"a button needs an integer index: {button!r}")
        names += list(button.get("params", []))
    bad = [n for n in names if n not in VARIABLES]
    if bad:
        raise BadRequest(f"unknown template variables {bad}; one of {', '.join(VARIABLES)}")
    return dict(parameters)


async def register(
    session: AsyncSession,
    *,
    name: str,
    language: str,
    category: str,
    parameters: Mapping[str, Any],
    now: datetime,
    status: str = "APPROVED",
) -> Template:
    """Adds the template, or updates the one of that name and language (a stand-in becomes
    the real one when the operator registers it)."""
    if category not in CATEGORIES:
        raise BadRequest(f"category must be one of {', '.join(CATEGORIES)}")
    clean = validate_parameters(parameters)
    row = (
        await session.scalars(
            select(Template).where(Template.name == name, Template.language == language)
        )
    ).first()
    if row is None:
        row = Template(
            name=name,
            language=language,
            category=category,
            parameters=clean,
            status=status,
            updated_at=now,
        )
        session.add(row)
    else:
        row.category, row.parameters, row.updated_at = category, clean, now
        if row.status == DEMO or status == DEMO:
            row.status = status
    await session.flush()
    return row


async def pick(
    session: AsyncSession, name: str, language: str | None, *, demo: bool = False
) -> Template | None:
    """The template in the contact's language, else its base language, else the default one.
    Stand-ins (status DEMO, from `seed`) only for a dry-run sender (`demo`)."""
    usable = ("APPROVED", DEMO) if demo else ("APPROVED",)
    candidates = list(
        (
            await session.scalars(
                select(Template).where(Template.name == name, Template.status.in_(usable))
            )
        ).all()
    )
    wanted = [language, language.split("-")[0] if language else None, DEFAULT_LANGUAGE]
    for lang in wanted:
        for template in candidates:
            if lang and template.language.lower().split("_")[0] == lang.lower().split("-")[0]:
                return template
    return candidates[0] if candidates else None


async def list_all(session: AsyncSession) -> list[Template]:
    return list(
        (await session.scalars(select(Template).order_by(Template.name, Template.language))).all()
    )


async def apply_status_update(
    session: AsyncSession, value: Mapping[str, Any], now: datetime
) -> None:
    """message_template_status_update: a paused or disabled template stops being picked."""
    name, language, event = (
        value.get("message_template_name"),
        value.get("message_template_language"),
        value.get("event"),
    )
    if not name or not event:
        return
    rows = await session.scalars(select(Template).where(Template.name == str(name)))
    for row in rows:
        if language is None or row.language == str(language):
            row.status, row.updated_at = str(event).upper(), now
    await session.flush()


def demo_parameters(rule: CadenceRule) -> dict[str, Any]:
    """What a stand-in for the rule's template carries: the name, and for an offer the code,
    its expiry and a copy-code button."""
    if rule.discount is None:
        return {"body": ["name"]}
    return {
        "body": ["name", "code", "valid_until"],
        "buttons": [{"kind": "copy_code", "index": 0, "params": ["code"]}],
    }


async def register_demo(session: AsyncSession, ruleset: Ruleset, *, now: datetime) -> list[str]:
    """Registers a stand-in (in DEFAULT_LANGUAGE) for every template the cadence table names and
    the registry lacks; returns their names. For demo data with a dry-run sender only: a real
    number can send only the templates Meta approved, registered as they are there."""
    added: list[str] = []
    for rule in ruleset.cadence:
        known = await session.scalar(select(Template.id).where(Template.name == rule.template))
        if rule.template in added or known is not None:
            continue
        await register(
            session,
            name=rule.template,
            language=DEFAULT_LANGUAGE,
            category=rule.category,
            parameters=demo_parameters(rule),
            now=now,
            status=DEMO,
        )
        added.append(rule.template)
    return added
