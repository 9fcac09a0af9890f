"""Cloud API errors: one table maps Meta's code to a class and to what the sender does next.

    CloudAPIError                    disposition (per code, from CODES)
    ├── TransientError               retry; retry_later for 131057 (maintenance)
    │                                1 2 131000 131016 133004 131057, unknown 5xx, transport
    │                                failures (outcome_unknown: reconcile before resending)
    ├── RateLimited                  retry 4 80007 130429 · retry_pair 131056 (4^X s)
    │                                · retry_later 131049 (per-user marketing limit, >= 24 h)
    ├── WindowClosed                 template 131047 (24-hour window closed)
    ├── RecipientSuppressed          suppress 131050 (stops marketing) 131026 (undeliverable)
    │                                130403 130497
    ├── ExperimentHoldout            drop 130472 (Meta's hold-out; not our fault, never retried)
    ├── AuthError                    alert 0 3 10 190 200-299 131005
    ├── AccountError                 alert 33 368 131031 131037 131042 131045 131048 131063
    │                                131064 133010 133016
    ├── TemplateError                alert 132001 132007 132015 132016
    │   └── TemplateParamsError      fix 132000 132005 132012; also raised before any request
    └── RequestError                 fix 100 131008 131009 131021 131030 131051 131053 131062
                                     135000 (TemplateParamsError is a RequestError too)

Codes only reported for inbound media (131052) stay on the base class with `drop`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, ClassVar, Final


class Disposition(StrEnum):
    RETRY = "retry"
    RETRY_PAIR = "retry_pair"
    RETRY_LATER = "retry_later"
    TEMPLATE = "template"
    SUPPRESS = "suppress"
    ALERT = "alert"
    FIX = "fix"
    DROP = "drop"


RETRYING: Final = frozenset({Disposition.RETRY, Disposition.RETRY_PAIR, Disposition.RETRY_LATER})


class CloudAPIError(Exception):
    default_disposition: ClassVar[Disposition] = Disposition.ALERT
    default_code: ClassVar[int | None] = None

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        subcode: int | None = None,
        title: str | None = None,
        details: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        disposition: Disposition | None = None,
        fbtrace_id: str | None = None,
        error_type: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        self.code = code if code is not None else self.default_code
        rule = _known(self.code)
        self.subcode = subcode
        self.title = title
        self.message = message or title or (rule.meaning if rule else "") or type(self).__name__
        self.details = details
        self.http_status = http_status
        self.retry_after = retry_after
        self.disposition = disposition or (rule.disposition if rule else self.default_disposition)
        self.fbtrace_id = fbtrace_id
        self.error_type = error_type
        # True only when the request may have reached Meta: the caller reconciles from status
        # webhooks (biz_opaque_callback_data) instead of sending a second copy.
        self.outcome_unknown = outcome_unknown
        self.retryable = self.disposition in RETRYING
        self.stops_marketing = bool(rule and rule.stops_marketing)
        self.undeliverable = bool(rule and rule.undeliverable)
        super().__init__(self._summary())

    @property
    def meaning(self) -> str | None:
        rule = _known(self.code)
        return rule.meaning if rule else None

    def _summary(self) -> str:
        head = f"(#{self.code}) " if self.code is not None else ""
        tail = f": {self.details}" if self.details and self.details not in self.message else ""
        return f"{head}{self.message}{tail} [{self.disposition}]"


class TransientError(CloudAPIError):
    default_disposition = Disposition.RETRY


class RateLimited(CloudAPIError):
    default_disposition = Disposition.RETRY


class WindowClosed(CloudAPIError):
    default_disposition = Disposition.TEMPLATE


class RecipientSuppressed(CloudAPIError):
    default_disposition = Disposition.SUPPRESS


class ExperimentHoldout(CloudAPIError):
    default_disposition = Disposition.DROP


class AuthError(CloudAPIError):
    default_disposition = Disposition.ALERT


class AccountError(CloudAPIError):
    default_disposition = Disposition.ALERT


class TemplateError(CloudAPIError):
    default_disposition = Disposition.ALERT


class RequestError(CloudAPIError):
    default_disposition = Disposition.FIX


class TemplateParamsError(TemplateError, RequestError):
    default_disposition = Disposition.FIX
    default_code = 132000


@dataclass(frozen=True)
class Rule:
    cls: type[CloudAPIError]
    disposition: Disposition
    retryable: bool
    meaning: str
    stops_marketing: bool = False
    undeliverable: bool = False


_D = Disposition

# Every code of the fact sheet's error table, plus the Graph API rate-limit and transient codes.
# 200 stands for the whole 200-299 permission range (see _known).
CODES: Final[Mapping[int, Rule]] = {
    0: Rule(AuthError, _D.ALERT, False, "app user could not be authenticated; token invalidated"),
    1: Rule(TransientError, _D.RETRY, True, "invalid request or possible server error"),
    2: Rule(TransientError, _D.RETRY, True, "temporary downtime or overload"),
    3: Rule(AuthError, _D.ALERT, False, "capability or permission issue"),
    4: Rule(RateLimited, _D.RETRY, True, "app reached its API call rate limit"),
    10: Rule(AuthError, _D.ALERT, False, "permission not granted or removed"),
    33: Rule(AccountError, _D.ALERT, False, "business phone number deleted"),
    100: Rule(RequestError, _D.FIX, False, "unsupported or misspelled parameter, or bad length"),
    190: Rule(AuthError, _D.ALERT, False, "access token expired; rotate it"),
    200: Rule(AuthError, _D.ALERT, False, "API permission missing (200-299; 200: no token sent)"),
    368: Rule(AccountError, _D.ALERT, False, "account restricted or disabled for policy violation"),
    80007: Rule(RateLimited, _D.RETRY, True, "business account reached its rate limit"),
    130403: Rule(RecipientSuppressed, _D.SUPPRESS, False, "we have blocked this user"),
    130429: Rule(RateLimited, _D.RETRY, True, "message throughput of the number exceeded"),
    130472: Rule(ExperimentHoldout, _D.DROP, False, "user is in Meta's experiment; withheld"),
    130497: Rule(RecipientSuppressed, _D.SUPPRESS, False, "may not message users in that country"),
    131000: Rule(TransientError, _D.RETRY, True, "unknown send failure"),
    131005: Rule(AuthError, _D.ALERT, False, "permission not granted or removed"),
    131008: Rule(RequestError, _D.FIX, False, "required parameter missing"),
    131009: Rule(RequestError, _D.FIX, False, "parameter value invalid (or a bad number)"),
    131016: Rule(TransientError, _D.RETRY, True, "service temporarily unavailable"),
    131021: Rule(RequestError, _D.FIX, False, "sender and recipient are the same number"),
    131026: Rule(
        RecipientSuppressed,
        _D.SUPPRESS,
        False,
        "undeliverable: not on WhatsApp, terms not accepted or app too old",
        undeliverable=True,
    ),
    131030: Rule(RequestError, _D.FIX, False, "recipient not in the test number's allowed list"),
    131031: Rule(AccountError, _D.ALERT, False, "business account locked"),
    131037: Rule(AccountError, _D.ALERT, False, "number lacks an approved display name"),
    131042: Rule(AccountError, _D.ALERT, False, "payment or billing problem"),
    131045: Rule(AccountError, _D.ALERT, False, "number not registered correctly"),
    131047: Rule(WindowClosed, _D.TEMPLATE, False, "24-hour window closed; send a template"),
    131048: Rule(AccountError, _D.ALERT, False, "spam rate limit: too many messages flagged"),
    131049: Rule(RateLimited, _D.RETRY_LATER, True, "per-user marketing limit; wait >= 24 h"),
    131050: Rule(
        RecipientSuppressed,
        _D.SUPPRESS,
        False,
        "user stopped marketing messages from us",
        stops_marketing=True,
    ),
    131051: Rule(RequestError, _D.FIX, False, "unsupported message type"),
    131052: Rule(CloudAPIError, _D.DROP, False, "user's media could not be downloaded (inbound)"),
    131053: Rule(RequestError, _D.FIX, False, "our media could not be uploaded or processed"),
    131056: Rule(RateLimited, _D.RETRY_PAIR, True, "pair rate limit for this recipient"),
    131057: Rule(TransientError, _D.RETRY_LATER, True, "account in maintenance"),
    131062: Rule(RequestError, _D.FIX, False, "not sendable to a BSUID; use the phone number"),
    131063: Rule(AccountError, _D.ALERT, False, "marketing templates disabled on Cloud API"),
    131064: Rule(AccountError, _D.ALERT, False, "messaging limited: template misclassification"),
    132000: Rule(TemplateParamsError, _D.FIX, False, "parameter count differs from the template"),
    132001: Rule(TemplateError, _D.ALERT, False, "template missing or not approved in language"),
    132005: Rule(TemplateParamsError, _D.FIX, False, "translated text too long"),
    132007: Rule(TemplateError, _D.ALERT, False, "template content violates policy"),
    132012: Rule(TemplateParamsError, _D.FIX, False, "parameter format mismatch"),
    132015: Rule(TemplateError, _D.ALERT, False, "template paused for low quality"),
    132016: Rule(TemplateError, _D.ALERT, False, "template disabled after repeated pauses"),
    133004: Rule(TransientError, _D.RETRY, True, "server temporarily unavailable"),
    133010: Rule(AccountError, _D.ALERT, False, "phone number not registered on the platform"),
    133016: Rule(AccountError, _D.ALERT, False, "too many register/deregister attempts"),
    135000: Rule(RequestError, _D.FIX, False, "unknown error in request parameters"),
}

_UNKNOWN_TRANSIENT = Rule(TransientError, _D.RETRY, True, "unknown error marked transient")
_UNKNOWN_SERVER = Rule(TransientError, _D.RETRY, True, "server error")
_UNKNOWN_THROTTLED = Rule(RateLimited, _D.RETRY, True, "too many requests")
_UNKNOWN_AUTH = Rule(AuthError, _D.ALERT, False, "not authorised")
_UNKNOWN_REQUEST = Rule(RequestError, _D.FIX, False, "request rejected")
# A 2xx without a message id: Meta may have taken the message, so retry only after reconciling.
_UNKNOWN_SUCCESS = Rule(TransientError, _D.RETRY, True, "unexpected response")
# Failed-status webhooks carry no HTTP status; an unknown asynchronous failure needs a human.
_UNKNOWN_ASYNC = Rule(CloudAPIError, _D.ALERT, False, "unknown failure")


def _known(code: int | None) -> Rule | None:
    if code is None:
        return None
    return CODES.get(200 if 200 <= code <= 299 else code)


def rule_for(code: int | None, http_status: int | None, *, transient: bool = False) -> Rule:
    """The table row for `code`; an unknown code falls back on the HTTP status."""
    rule = _known(code)
    if rule is not None:
        return rule
    if transient:
        return _UNKNOWN_TRANSIENT
    if http_status is None:
        return _UNKNOWN_ASYNC
    if http_status == 429:
        return _UNKNOWN_THROTTLED
    if http_status in (401, 403):
        return _UNKNOWN_AUTH
    if http_status >= 500:
        return _UNKNOWN_SERVER
    if http_status >= 400:
        return _UNKNOWN_REQUEST
    return _UNKNOWN_SUCCESS


def classify(code: int | None, http_status: int | None) -> tuple[type[CloudAPIError], Disposition]:
    rule = rule_for(code, http_status)
    return rule.cls, rule.disposition


def from_response(http_status: int, body: Any, headers: Mapping[str, str]) -> CloudAPIError:
    """The error for a failed send; never raises, whatever the body holds."""
    parsed, text = _decode(body)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = _as_int(error.get("code"))
    rule = rule_for(code, http_status, transient=error.get("is_transient") is True)
    message = _as_str(error.get("message"))
    details = _details(error)
    if not error and text:
        message = f"HTTP {http_status} with a non-JSON body" if parsed is None else message
        details = " ".join(text.split())[:300]
    return rule.cls(
        message or f"HTTP {http_status}",
        code=code,
        subcode=_as_int(error.get("error_subcode")),
        title=_as_str(error.get("error_user_title")) or _as_str(error.get("title")),
        details=details,
        http_status=http_status,
        retry_after=_retry_after(headers),
        disposition=rule.disposition,
        fbtrace_id=_as_str(error.get("fbtrace_id")),
        error_type=_as_str(error.get("type")),
        outcome_unknown=http_status < 400,
    )


def from_status_error(error: Mapping[str, Any]) -> CloudAPIError:
    """The error of one `errors[]` item in a failed status webhook (the send was accepted first)."""
    item: Mapping[str, Any] = error if isinstance(error, Mapping) else {}
    code = _as_int(item.get("code"))
    rule = rule_for(code, None)
    return rule.cls(
        _as_str(item.get("message")) or _as_str(item.get("title")) or "",
        code=code,
        title=_as_str(item.get("title")),
        details=_details(item),
        disposition=rule.disposition,
    )


BACKOFF_BASE: Final = 1.0
BACKOFF_CAP: Final = 300.0
PAIR_CAP: Final = 256.0
MAINTENANCE_PAUSE: Final = 60.0
USER_LIMIT_PAUSE: Final = 24 * 3600.0


def backoff_seconds(error: CloudAPIError, attempt: int, *, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry)."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if not error.retryable:
        raise ValueError(f"{error.disposition} errors are not retried: {error}")
    if error.retry_after is not None:
        return error.retry_after
    if error.disposition is Disposition.RETRY_PAIR:
        # Meta's advice for the pair rate limit: 1, 4, 16, 64 ... seconds, same recipient only.
        return min(4.0 ** min(attempt, 8), PAIR_CAP)
    if error.disposition is Disposition.RETRY_LATER:
        return USER_LIMIT_PAUSE if error.code == 131049 else MAINTENANCE_PAUSE
    # Full jitter spreads workers that failed together; min() keeps 2**attempt finite.
    return rng.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 32)))


def _decode(body: Any) -> tuple[Any, str]:
    """(parsed JSON or None, text) from whatever the transport handed over."""
    if isinstance(body, dict | list):
        return body, ""
    if isinstance(body, bytes | bytearray | memoryview):
        text = bytes(body).decode("utf-8", "replace")
    elif isinstance(body, str):
        text = body
    else:
        return None, "" if body is None else str(body)
    try:
        return json.loads(text), text
    except (ValueError, RecursionError):
        return None, text


def _details(error: Mapping[str, Any]) -> str | None:
    data = error.get("error_data")
    if isinstance(data, str):
        # Older Graph errors carry error_data as a JSON-encoded string.
        parsed, _ = _decode(data)
        data = parsed if isinstance(parsed, dict) else {"details": data}
    found = data.get("details") if isinstance(data, dict) else None
    return _as_str(found) or _as_str(error.get("error_user_msg"))


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        return int(value.strip())
    return None


def _as_str(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:1000] or None
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    try:
        value = headers.get(name)
        if value is None:
            value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    except (AttributeError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date measured against the response's Date."""
    value = _header(headers, "retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < 7 * 24 * 3600 else None
    # The server's own Date header is the reference, so no wall-clock read is needed here.
    sent = _header(headers, "date")
    if sent is None:
        return None
    try:
        delta = (parsedate_to_datetime(value) - parsedate_to_datetime(sent)).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(delta, 0.0)
