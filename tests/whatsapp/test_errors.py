"""The error table, parsing of Meta's error bodies and failed-status errors, and the retry schedule."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.whatsapp import errors
from app.whatsapp.errors import (
    AccountError,
    AuthError,
    CloudAPIError,
    Disposition,
    ExperimentHoldout,
    RateLimited,
    RecipientSuppressed,
    RequestError,
    TemplateError,
    TemplateParamsError,
    TransientError,
    WindowClosed,
    backoff_seconds,
    classify,
    from_response,
    from_status_error,
)

D = Disposition
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "webhook-samples"

# Written out by hand from the fact sheet (§7, §8), not derived from errors.CODES.
EXPECTED: list[tuple[int, type[CloudAPIError], Disposition]] = [
    (0, AuthError, D.ALERT),
    (1, TransientError, D.RETRY),
    (2, TransientError, D.RETRY),
    (3, AuthError, D.ALERT),
    (4, RateLimited, D.RETRY),
    (10, AuthError, D.ALERT),
    (33, AccountError, D.ALERT),
    (100, RequestError, D.FIX),
    (190, AuthError, D.ALERT),
    (200, AuthError, D.ALERT),
    (368, AccountError, D.ALERT),
    (80007, RateLimited, D.RETRY),
    (130403, RecipientSuppressed, D.SUPPRESS),
    (130429, RateLimited, D.RETRY),
    (130472, ExperimentHoldout, D.DROP),
    (130497, RecipientSuppressed, D.SUPPRESS),
    (131000, TransientError, D.RETRY),
    (131005, AuthError, D.ALERT),
    (131008, RequestError, D.FIX),
    (131009, RequestError, D.FIX),
    (131016, TransientError, D.RETRY),
    (131021, RequestError, D.FIX),
    (131026, RecipientSuppressed, D.SUPPRESS),
    (131030, RequestError, D.FIX),
    (131031, AccountError, D.ALERT),
    (131037, AccountError, D.ALERT),
    (131042, AccountError, D.ALERT),
    (131045, AccountError, D.ALERT),
    (131047, WindowClosed, D.TEMPLATE),
    (131048, AccountError, D.ALERT),
    (131049, RateLimited, D.RETRY_LATER),
    (131050, RecipientSuppressed, D.SUPPRESS),
    (131051, RequestError, D.FIX),
    (131052, CloudAPIError, D.DROP),
    (131053, RequestError, D.FIX),
    (131056, RateLimited, D.RETRY_PAIR),
    (131057, TransientError, D.RETRY_LATER),
    (131062, RequestError, D.FIX),
    (131063, AccountError, D.ALERT),
    (131064, AccountError, D.ALERT),
    (132000, TemplateParamsError, D.FIX),
    (132001, TemplateError, D.ALERT),
    (132005, TemplateParamsError, D.FIX),
    (132007, TemplateError, D.ALERT),
    (132012, TemplateParamsError, D.FIX),
    (132015, TemplateError, D.ALERT),
    (132016, TemplateError, D.ALERT),
    (133004, TransientError, D.RETRY),
    (133010, AccountError, D.ALERT),
    (133016, AccountError, D.ALERT),
    (135000, RequestError, D.FIX),
]


@pytest.mark.parametrize(
    ("code", "cls", "disposition"), EXPECTED, ids=[str(r[0]) for r in EXPECTED]
)
def test_every_code_maps_to_its_class_and_disposition(
    code: int, cls: type[CloudAPIError], disposition: Disposition
) -> None:
    assert classify(code, 400) == (cls, disposition)
    # The code decides, whatever HTTP status carried it.
    assert classify(code, 500) == (cls, disposition)
    error = from_status_error({"code": code, "title": "t"})
    assert type(error) is cls
    assert error.disposition is disposition
    assert error.retryable == (disposition in errors.RETRYING)


def test_table_holds_exactly_the_listed_codes() -> None:
    assert set(errors.CODES) == {code for code, _, _ in EXPECTED}


@pytest.mark.parametrize("code", sorted(errors.CODES), ids=str)
def test_retryable_column_agrees_with_disposition(code: int) -> None:
    rule = errors.CODES[code]
    assert rule.retryable == (rule.disposition in errors.RETRYING)
    assert rule.meaning
    assert issubclass(rule.cls, CloudAPIError)


def test_only_131050_stops_marketing_and_only_131026_marks_undeliverable() -> None:
    assert [c for c, r in errors.CODES.items() if r.stops_marketing] == [131050]
    assert [c for c, r in errors.CODES.items() if r.undeliverable] == [131026]
    assert from_status_error({"code": 131050}).stops_marketing
    assert from_status_error({"code": 131026}).undeliverable
    assert not from_status_error({"code": 130403}).stops_marketing


@pytest.mark.parametrize("code", [200, 201, 250, 299])
def test_permission_range_is_auth(code: int) -> None:
    assert classify(code, 403) == (AuthError, D.ALERT)


@pytest.mark.parametrize(
    ("code", "status", "cls", "disposition"),
    [
        (None, 500, TransientError, D.RETRY),
        (987654, 503, TransientError, D.RETRY),
        (None, 429, RateLimited, D.RETRY),
        (987654, 400, RequestError, D.FIX),
        (None, 404, RequestError, D.FIX),
        (None, 401, AuthError, D.ALERT),
        (None, 200, TransientError, D.RETRY),
        (987654, None, CloudAPIError, D.ALERT),
        (300, 400, RequestError, D.FIX),
    ],
    ids=["5xx", "unknown-5xx", "429", "unknown-4xx", "404", "401", "2xx", "async", "300"],
)
def test_unknown_codes_fall_back_on_the_status(
    code: int | None, status: int | None, cls: type[CloudAPIError], disposition: Disposition
) -> None:
    assert classify(code, status) == (cls, disposition)


def test_template_params_error_is_a_request_and_a_template_error() -> None:
    error = TemplateParamsError("body takes 2 parameters")
    assert isinstance(error, RequestError)
    assert isinstance(error, TemplateError)
    assert error.code == 132000
    assert error.disposition is D.FIX
    assert not error.retryable


# --- from_response ---------------------------------------------------------------------------


def meta_error(code: int, message: str, **extra: Any) -> bytes:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": f"details of {code}"},
        "fbtrace_id": "AbCdEfGh123",
        **extra,
    }
    return json.dumps({"error": error}).encode()


def test_rate_limit_body_with_retry_after() -> None:
    error = from_response(
        400, meta_error(130429, "(#130429) Rate limit hit"), {"Retry-After": "12"}
    )
    assert isinstance(error, RateLimited)
    assert error.code == 130429
    assert error.retry_after == 12.0
    assert error.http_status == 400
    assert error.message == "(#130429) Rate limit hit"
    assert error.details == "details of 130429"
    assert error.fbtrace_id == "AbCdEfGh123"
    assert error.error_type == "OAuthException"
    assert not error.outcome_unknown
    assert "130429" in str(error)


def test_expired_token_keeps_subcode() -> None:
    body = meta_error(190, "Error validating access token: Session has expired", error_subcode=463)
    error = from_response(401, body, {})
    assert isinstance(error, AuthError)
    assert error.subcode == 463
    assert error.disposition is D.ALERT
    assert not error.retryable


def test_window_closed_body() -> None:
    body = meta_error(131047, "(#131047) Re-engagement message")
    error = from_response(400, body, {})
    assert isinstance(error, WindowClosed)
    assert error.disposition is D.TEMPLATE


def test_code_as_string_and_error_data_as_json_string() -> None:
    body = {
        "error": {"code": "131056", "message": "pair", "error_data": '{"details": "slow down"}'}
    }
    error = from_response(400, body, {})
    assert isinstance(error, RateLimited)
    assert error.disposition is D.RETRY_PAIR
    assert error.details == "slow down"


def test_is_transient_marks_an_unknown_code_retryable() -> None:
    body = {"error": {"code": 987654, "message": "try again", "is_transient": True}}
    error = from_response(400, body, {})
    assert isinstance(error, TransientError)
    assert error.retryable


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", TransientError),
        (500, b"", TransientError),
        (503, None, TransientError),
        (400, b"{not json", RequestError),
        (400, b"[1, 2, 3]", RequestError),
        (400, b'{"error": "plain string"}', RequestError),
        (429, "Too Many Requests", RateLimited),
        (400, b"\xff\xfe\x00garbage", RequestError),
        (400, b"[" * 100_000, RequestError),
        (500, 12345, TransientError),
    ],
    ids=[
        "html",
        "empty",
        "none",
        "broken-json",
        "list",
        "error-str",
        "429-text",
        "binary",
        "deep",
        "int",
    ],
)
def test_odd_bodies_still_give_a_cloud_api_error(
    status: int, body: Any, cls: type[CloudAPIError]
) -> None:
    error = from_response(status, body, {})
    assert type(error) is cls
    assert error.code is None
    assert error.http_status == status
    assert error.message


def test_html_body_is_summarised_in_details() -> None:
    error = from_response(502, b"<html>\n  <h1>502 Bad Gateway</h1>\n</html>", {})
    assert error.message == "HTTP 502 with a non-JSON body"
    assert error.details == "<html> <h1>502 Bad Gateway</h1> </html>"


def test_success_status_without_message_id_means_outcome_unknown() -> None:
    error = from_response(200, b'{"messaging_product": "whatsapp"}', {})
    assert isinstance(error, TransientError)
    assert error.outcome_unknown


@settings(max_examples=200, deadline=None)
@given(status=st.integers(100, 599), body=st.binary(max_size=300))
def test_any_bytes_give_a_cloud_api_error(status: int, body: bytes) -> None:
    assert isinstance(from_response(status, body, {}), CloudAPIError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
error_objects = st.fixed_dictionaries(
    {},
    optional={
        "code": json_values,
        "message": json_values,
        "error_subcode": json_values,
        "error_data": json_values,
        "fbtrace_id": json_values,
        "is_transient": json_values,
        "type": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(status=st.integers(400, 599), error=error_objects | json_values)
def test_any_json_gives_a_cloud_api_error(status: int, error: Any) -> None:
    assert isinstance(from_response(status, {"error": error}, {}), CloudAPIError)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": " 5 "}, 5.0),
        ({"RETRY-AFTER": "0"}, 0.0),
        ({"Retry-After": "-3"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        (
            {
                "Retry-After": "Wed, 21 Oct 2026 07:28:40 GMT",
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
            40.0,
        ),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:40 GMT"}, None),
        ({}, None),
    ],
    ids=["seconds", "lowercase", "upper", "negative", "word", "nan", "date", "date-no-ref", "none"],
)
def test_retry_after_header(headers: dict[str, str], expected: float | None) -> None:
    assert from_response(429, meta_error(4, "slow"), headers).retry_after == expected


# --- failed status webhooks ------------------------------------------------------------------


def status_errors(relative: str) -> list[dict[str, Any]]:
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"sample {relative} not present")
    doc = json.loads(path.read_text())
    return [
        error
        for entry in doc["entry"]
        for change in entry["changes"]
        for status in change["value"].get("statuses", [])
        for error in status.get("errors", [])
    ]


@pytest.mark.parametrize(
    ("sample", "cls", "code"),
    [
        ("whatsapp-business-java-api/reEngagementMessageError.json", WindowClosed, 131047),
        (
            "other-projects/whatsapp-business-rs/06-status-failed-131050.json",
            RecipientSuppressed,
            131050,
        ),
        ("other-projects/netflie/14-status-failed-131053.json", RequestError, 131053),
    ],
    ids=["131047", "131050", "131053"],
)
def test_failed_status_samples(sample: str, cls: type[CloudAPIError], code: int) -> None:
    (raw,) = status_errors(sample)
    error = from_status_error(raw)
    assert type(error) is cls
    assert error.code == code
    assert error.http_status is None
    assert error.title


def test_status_error_fields() -> None:
    error = from_status_error(
        {
            "code": 131049,
            "title": "This message was not delivered to maintain healthy ecosystem engagement.",
            "message": "This message was not delivered to maintain healthy ecosystem engagement.",
            "error_data": {"details": "In order to maintain a healthy ecosystem engagement ..."},
            "href": "/documentation/business-messaging/whatsapp/support/error-codes",
        }
    )
    assert isinstance(error, RateLimited)
    assert error.disposition is D.RETRY_LATER
    assert error.details == "In order to maintain a healthy ecosystem engagement ..."
    assert error.retry_after is None


@pytest.mark.parametrize("raw", [{}, {"code": None}, {"code": "x"}, {"code": 987654}])
def test_unknown_status_errors_alert(raw: dict[str, Any]) -> None:
    error = from_status_error(raw)
    assert type(error) is CloudAPIError
    assert error.disposition is D.ALERT


# --- backoff ---------------------------------------------------------------------------------


def test_full_jitter_stays_within_the_exponential_envelope() -> None:
    rng = random.Random(42)
    error = from_status_error({"code": 130429})
    for attempt in range(15):
        for _ in range(50):
            delay = backoff_seconds(error, attempt, rng=rng)
            assert 0.0 <= delay <= min(300.0, 2.0**attempt)


def test_full_jitter_is_reproducible_and_spread() -> None:
    error = TransientError("boom")
    first = [backoff_seconds(error, 8, rng=random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1  # same seed, same delay
    rng = random.Random(7)
    delays = [backoff_seconds(error, 8, rng=rng) for _ in range(200)]
    assert min(delays) < 64 < max(delays) <= 256


def test_huge_attempts_are_capped() -> None:
    rng = random.Random(1)
    assert backoff_seconds(TransientError(), 10_000, rng=rng) <= 300.0
    pair = from_status_error({"code": 131056})
    assert backoff_seconds(pair, 10_000, rng=rng) == 256.0


def test_pair_rate_limit_follows_four_to_the_x() -> None:
    error = from_response(400, meta_error(131056, "pair rate limit"), {})
    rng = random.Random(0)
    assert [backoff_seconds(error, n, rng=rng) for n in range(7)] == [1, 4, 16, 64, 256, 256, 256]


@pytest.mark.parametrize(("code", "seconds"), [(131057, 60.0), (131049, 86_400.0)])
def test_retry_later_pauses(code: int, seconds: float) -> None:
    error = from_status_error({"code": code})
    assert backoff_seconds(error, 0, rng=random.Random(0)) == seconds
    assert backoff_seconds(error, 5, rng=random.Random(0)) == seconds


@pytest.mark.parametrize("code", [130429, 131056, 131057])
def test_retry_after_header_wins(code: int) -> None:
    error = from_response(400, meta_error(code, "x"), {"Retry-After": "7"})
    assert backoff_seconds(error, 3, rng=random.Random(0)) == 7.0


@pytest.mark.parametrize("code", [131047, 131050, 190, 132000, 130472])
def test_permanent_errors_have_no_schedule(code: int) -> None:
    with pytest.raises(ValueError, match="not retried"):
        backoff_seconds(from_status_error({"code": code}), 0, rng=random.Random(0))


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_seconds(TransientError(), -1, rng=random.Random(0))
