"""The one Cloud API client: builds message payloads, POSTs them, maps every failure to CloudAPIError.

DryRunCloudAPI builds the same payloads and records them instead (no access token configured).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import httpx

from app.whatsapp import errors
from app.whatsapp.errors import CloudAPIError, RequestError, TemplateParamsError, TransientError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ButtonSpec",
    "CloudAPI",
    "CloudAPIError",
    "CloudAPIPort",
    "DryRunCloudAPI",
    "RecordedRequest",
    "SendResult",
    "TemplateParams",
    "TemplateParamsError",
    "TemplateSpec",
    "check_params",
    "media_payload",
    "template_payload",
    "text_payload",
]

MediaKind = Literal["image", "video", "document", "audio"]
HeaderFormat = Literal["text", "image", "video", "document"]
ButtonKind = Literal["quick_reply", "url", "copy_code"]
Category = Literal["marketing", "utility", "authentication"]

MEDIA_KINDS: Final = ("image", "video", "document", "audio")
MAX_CALLBACK_BYTES: Final = 512
MAX_TEXT_BODY: Final = 4096
MAX_BODY_PARAM: Final = 1024
MAX_HEADER_PARAM: Final = 60
MAX_COUPON_CODE: Final = 15
MAX_URL_SUFFIX: Final = 2000
# A send is one small POST: fail fast on connect, give Meta time to answer.
DEFAULT_TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)

_WA_ID = re.compile(r"\+?(\d{6,15})")
# ISO country, then one or more dot-separated alphanumeric parts (a parent BSUID has "ENT").
_BSUID = re.compile(r"[A-Za-z]{2}(?:\.[A-Za-z0-9]{1,128}){1,2}")
_COUPON = re.compile(r"[A-Za-z0-9]+")
# Meta rejects template parameters holding newlines, tabs or more than four spaces in a row.
_BAD_PARAM_WHITESPACE = re.compile(r"[\n\r\t]| {5,}")


@dataclass(frozen=True)
class ButtonSpec:
    kind: ButtonKind
    index: int
    params: int


@dataclass(frozen=True)
class TemplateSpec:
    """An approved template as Meta holds it: what must be filled in at send time."""

    name: str
    language: str
    category: Category
    header_params: int = 0
    header_format: HeaderFormat | None = None
    body_params: int = 0
    buttons: tuple[ButtonSpec, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not self.language:
            raise ValueError("a template needs a name and a language")
        if self.header_params not in (0, 1) or self.body_params < 0:
            raise ValueError(f"template {self.name!r}: bad parameter counts")
        indexes = [b.index for b in self.buttons]
        if len(set(indexes)) != len(indexes) or not all(0 <= i <= 9 for i in indexes):
            raise ValueError(f"template {self.name!r}: button indexes must be unique, 0-9")
        if sum(b.kind == "copy_code" for b in self.buttons) > 1:
            raise ValueError(f"template {self.name!r}: at most one copy_code button")
        for b in self.buttons:
            allowed = (1,) if b.kind == "copy_code" else (0, 1)
            if b.params not in allowed:
                raise ValueError(f"template {self.name!r}: {b.kind} button takes {allowed} params")

    @property
    def header_kind(self) -> HeaderFormat | None:
        if self.header_format is None and self.header_params:
            return "text"
        return self.header_format


@dataclass(frozen=True)
class TemplateParams:
    header: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    buttons: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    header_media_id: str | None = None
    header_media_link: str | None = None


@dataclass(frozen=True)
class SendResult:
    wamid: str
    message_status: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    payload: dict[str, Any]
    wamid: str


class CloudAPIPort(Protocol):
    async def send_text(
        self,
        to: str,
        body: str,
        *,
        preview_url: bool = False,
        reply_to: str | None = None,
        callback_data: str | None = None,
    ) -> SendResult: ...

    async def send_template(
        self,
        to: str,
        template: TemplateSpec,
        language: str,
        params: TemplateParams,
        *,
        callback_data: str | None = None,
    ) -> SendResult: ...

    async def send_media(
        self,
        to: str,
        kind: MediaKind,
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        callback_data: str | None = None,
    ) -> SendResult: ...


def check_params(spec: TemplateSpec, params: TemplateParams) -> None:
    """Raise TemplateParamsError (132000) unless `params` fill `spec` exactly; no I/O."""
    problems: list[str] = []
    kind = spec.header_kind
    has_media = params.header_media_id is not None or params.header_media_link is not None
    if kind == "text":
        if len(params.header) != spec.header_params:
            problems.append(
                f"header takes {spec.header_params} parameter(s), got {len(params.header)}"
            )
        problems += [_text_problem("header", v, MAX_HEADER_PARAM) for v in params.header]
    elif kind is not None:
        if params.header:
            problems.append(f"{kind} header takes no text parameters")
        if (params.header_media_id is None) == (params.header_media_link is None):
            problems.append(f"{kind} header needs exactly one of media id or link")
    elif params.header or has_media:
        problems.append("template has no header parameters")
    if kind == "text" and has_media:
        problems.append("text header takes no media")

    if len(params.body) != spec.body_params:
        problems.append(f"body takes {spec.body_params} parameter(s), got {len(params.body)}")
    problems += [_text_problem("body", v, MAX_BODY_PARAM) for v in params.body]

    specs = {b.index: b for b in spec.buttons if b.params}
    for index in sorted(set(params.buttons) - set(specs)):
        problems.append(f"button {index} takes no parameters")
    for index, button in sorted(specs.items()):
        values = params.buttons.get(index, ())
        if not values and button.kind == "copy_code":
            problems.append(f"copy_code button {index} lacks its coupon code")
            continue
        if len(values) != button.params:
            problems.append(
                f"{button.kind} button {index} takes {button.params}, got {len(values)}"
            )
        problems += [_button_problem(button, v) for v in values]

    found = [p for p in problems if p]
    if found:
        raise TemplateParamsError(f"template {spec.name!r}: " + "; ".join(found), code=132000)


def _text_problem(where: str, value: str, limit: int) -> str:
    if not value.strip():
        return f"{where} parameter is empty"
    if len(value) > limit:
        return f"{where} parameter longer than {limit} characters"
    if _BAD_PARAM_WHITESPACE.search(value):
        return f"{where} parameter holds a newline, tab or more than 4 spaces in a row"
    return ""


def _button_problem(button: ButtonSpec, value: str) -> str:
    where = f"{button.kind} button {button.index}"
    if not value.strip():
        return f"{where} parameter is empty"
    if button.kind == "copy_code" and (
        len(value) > MAX_COUPON_CODE or not _COUPON.fullmatch(value)
    ):
        return f"{where}: coupon code must be 1-{MAX_COUPON_CODE} letters or digits"
    if button.kind == "url" and len(value) > MAX_URL_SUFFIX:
        return f"{where}: URL suffix longer than {MAX_URL_SUFFIX} characters"
    return ""


def _template_components(spec: TemplateSpec, params: TemplateParams) -> list[dict[str, Any]]:
    components: list[dict[str, Any]] = []
    kind = spec.header_kind
    if kind == "text" and params.header:
        components.append(
            {"type": "header", "parameters": [{"type": "text", "text": v} for v in params.header]}
        )
    elif kind is not None and kind != "text":
        media = (
            {"id": params.header_media_id}
            if params.header_media_id is not None
            else {"link": params.header_media_link}
        )
        components.append({"type": "header", "parameters": [{"type": kind, kind: media}]})
    if params.body:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": v} for v in params.body]}
        )
    for button in sorted(spec.buttons, key=lambda b: b.index):
        values = params.buttons.get(button.index, ())
        if not button.params or not values:
            continue
        parameters: list[dict[str, Any]]
        if button.kind == "copy_code":
            parameters = [{"type": "coupon_code", "coupon_code": values[0]}]
        elif button.kind == "quick_reply":
            parameters = [{"type": "payload", "payload": values[0]}]
        else:
            parameters = [{"type": "text", "text": values[0]}]
        components.append(
            {
                "type": "button",
                "sub_type": button.kind,
                "index": str(button.index),
                "parameters": parameters,
            }
        )
    return components


def _recipient(to: str) -> dict[str, str]:
    """`to` for a phone number (with "+", so Meta never guesses the country), `recipient` for a BSUID."""
    value = to.strip()
    # A bad recipient is bad data for one contact, not a bug: raise it as Meta would (131009).
    if "." in value:
        if not _BSUID.fullmatch(value):
            raise RequestError(f"not a BSUID: {to!r}", code=131009)
        return {"recipient": value}
    match = _WA_ID.fullmatch(value)
    if match is None:
        raise RequestError(f"not a WhatsApp id: {to!r}", code=131009)
    return {"to": "+" + match.group(1)}


def _envelope(to: str, kind: str, callback_data: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **_recipient(to),
        "type": kind,
    }
    if callback_data is not None:
        if len(callback_data.encode("utf-8")) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data exceeds {MAX_CALLBACK_BYTES} bytes")
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def text_payload(
    to: str,
    body: str,
    *,
    preview_url: bool = False,
    reply_to: str | None = None,
    callback_data: str | None = None,
) -> dict[str, Any]:
    if not body.strip() or len(body) > MAX_TEXT_BODY:
        raise RequestError(f"text body must be 1-{MAX_TEXT_BODY} characters", code=100)
    payload = _envelope(to, "text", callback_data)
    payload["text"] = {"preview_url": preview_url, "body": body}
    if reply_to is not None:
        payload["context"] = {"message_id": reply_to}
    return payload


def template_payload(
    to: str,
    template: TemplateSpec,
    language: str,
    params: TemplateParams,
    *,
    callback_data: str | None = None,
) -> dict[str, Any]:
    payload = _envelope(to, "template", callback_data)
    check_params(template, params)
    if template.category == "authentication" and "recipient" in payload:
        # Meta refuses OTP templates to BSUIDs (131062); failing here saves a doomed request.
        raise RequestError("authentication templates need a phone number, not a BSUID", code=131062)
    # An empty language falls back on the one the template was approved in.
    code = language.strip() or template.language
    body: dict[str, Any] = {"name": template.name, "language": {"code": code}}
    components = _template_components(template, params)
    if components:
        body["components"] = components
    payload["template"] = body
    return payload


def media_payload(
    to: str,
    kind: MediaKind,
    *,
    media_id: str | None = None,
    link: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    callback_data: str | None = None,
) -> dict[str, Any]:
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unsupported media kind {kind!r}")
    if (media_id is None) == (link is None):
        raise ValueError("give exactly one of media_id or link")
    if link is not None and not link.startswith(("https://", "http://")):
        raise ValueError("a media link must be an http(s) URL")
    if caption is not None and kind == "audio":
        raise ValueError("audio takes no caption")
    if filename is not None and kind != "document":
        raise ValueError("only documents take a filename")
    media: dict[str, Any] = {"id": media_id} if media_id is not None else {"link": link}
    if caption is not None:
        media["caption"] = caption
    if filename is not None:
        media["filename"] = filename
    payload = _envelope(to, kind, callback_data)
    payload[kind] = media
    return payload


class _Messages:
    """The send methods shared by the real and the dry-run client: build, then `_post_message`."""

    phone_number_id: str

    async def _post_message(self, payload: dict[str, Any]) -> SendResult:
        raise NotImplementedError

    @property
    def messages_path(self) -> str:
        return f"/{self.phone_number_id}/messages"

    async def send_text(
        self,
        to: str,
        body: str,
        *,
        preview_url: bool = False,
        reply_to: str | None = None,
        callback_data: str | None = None,
    ) -> SendResult:
        payload = text_payload(
            to, body, preview_url=preview_url, reply_to=reply_to, callback_data=callback_data
        )
        return await self._post_message(payload)

    async def send_template(
        self,
        to: str,
        template: TemplateSpec,
        language: str,
        params: TemplateParams,
        *,
        callback_data: str | None = None,
    ) -> SendResult:
        payload = template_payload(to, template, language, params, callback_data=callback_data)
        return await self._post_message(payload)

    async def send_media(
        self,
        to: str,
        kind: MediaKind,
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        callback_data: str | None = None,
    ) -> SendResult:
        payload = media_payload(
            to,
            kind,
            media_id=media_id,
            link=link,
            caption=caption,
            filename=filename,
            callback_data=callback_data,
        )
        return await self._post_message(payload)


# Failures raised before the request left this machine: resending cannot duplicate a message.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


class CloudAPI(_Messages):
    """Sends to `base_url` (WHATSAPP_API_BASE_URL) through an injected httpx transport.

    A transport rather than an AsyncClient: the client's per-request machinery (URL merging,
    cookies, auth and redirect flows) costs more CPU than the rest of a send, and a send needs
    none of it. The caller owns the transport and closes it at shutdown. Tests hand in httpx's
    own transport under respx; the sender hands in app.sending.transport.AiohttpTransport.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        phone_number_id: str,
        *,
        base_url: str,
        access_token: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if not phone_number_id.strip():
            raise ValueError("phone_number_id is required")
        if not access_token.strip():
            raise ValueError("an access token is required; use DryRunCloudAPI without one")
        self._transport = transport
        self.phone_number_id = phone_number_id.strip()
        # Built once: parsing a URL and normalising headers per send is measurable at 1,000/s.
        self.url = httpx.URL(base_url.rstrip("/") + self.messages_path)
        self.headers = httpx.Headers(
            {
                "Authorization": f"Bearer {access_token.strip()}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            }
        )
        self.timeout = timeout
        self._timeouts = timeout.as_dict()

    async def _post_message(self, payload: dict[str, Any]) -> SendResult:
        request = httpx.Request(
            "POST",
            self.url,
            headers=self.headers,
            content=_json_bytes(payload),
            extensions={"timeout": self._timeouts},
        )
        try:
            response = await self._transport.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except httpx.RequestError as exc:
            raise TransientError(
                f"transport failure: {type(exc).__name__}: {exc}",
                outcome_unknown=not isinstance(exc, _NOT_SENT),
            ) from exc
        if response.status_code >= 400:
            raise errors.from_response(response.status_code, content, response.headers)
        result = _send_result(content)
        if result is None:
            raise errors.from_response(response.status_code, content, response.headers)
        return result


def _json_bytes(payload: dict[str, Any]) -> bytes:
    # The compact UTF-8 form httpx's json= sends.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _send_result(content: bytes) -> SendResult | None:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    if not isinstance(first, dict):
        return None
    wamid = first.get("id")
    if not isinstance(wamid, str) or not wamid:
        return None
    status = first.get("message_status")
    return SendResult(wamid, status if isinstance(status, str) else None, body)


class DryRunCloudAPI(_Messages):
    """Validates and records every request it would send; sends nothing."""

    def __init__(self, phone_number_id: str | None = None) -> None:
        self.phone_number_id = phone_number_id or "dry-run"
        self.sent: list[RecordedRequest] = []
        self._numbers = itertools.count(1)

    async def _post_message(self, payload: dict[str, Any]) -> SendResult:
        wamid = f"wamid.dryrun.{next(self._numbers)}"
        self.sent.append(RecordedRequest(self.messages_path, payload, wamid))
        # Echo the recipient the way Meta does: wa_id for a phone number, user_id for a BSUID.
        if "to" in payload:
            contact = {"input": payload["to"], "wa_id": str(payload["to"]).lstrip("+")}
        else:
            contact = {"input": payload["recipient"], "user_id": payload["recipient"]}
        status = "accepted" if payload["type"] == "template" else None
        message: dict[str, Any] = {"id": wamid}
        if status is not None:
            message["message_status"] = status
        raw = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
        return SendResult(wamid, status, raw)
