"""CloudAPI against a mocked Graph API (respx at the HTTP boundary only) and the dry-run twin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from app.whatsapp.client import (
    ButtonSpec,
    CloudAPI,
    CloudAPIPort,
    DryRunCloudAPI,
    TemplateParams,
    TemplateParamsError,
    TemplateSpec,
    check_params,
    text_payload,
)
from app.whatsapp.errors import (
    AuthError,
    CloudAPIError,
    Disposition,
    ExperimentHoldout,
    RateLimited,
    RecipientSuppressed,
    RequestError,
    TransientError,
    WindowClosed,
)

BASE_URL = "https://graph.example.test/v26.0"
TOKEN = "test-access-token"
PHONE_ID = "106540352242922"
MESSAGES = f"/{PHONE_ID}/messages"
WA_ID = "491701234567"
BSUID = "US.13491208655302741918"

PROMO = TemplateSpec(
    name="discount_followup",
    language="de",
    category="marketing",
    header_params=1,
    header_format="text",
    body_params=2,
    buttons=(
        ButtonSpec("copy_code", 0, 1),
        ButtonSpec("url", 1, 1),
        ButtonSpec("quick_reply", 2, 1),
    ),
)
PROMO_PARAMS = TemplateParams(
    header=("Anna",),
    body=("Anna", "15 %"),
    buttons={0: ("SAVE15",), 1: ("cart/8812",), 2: ("STOP_PROMO",)},
)


def accepted(wamid: str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI", **message: Any) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": f"+{WA_ID}", "wa_id": WA_ID}],
            "messages": [{"id": wamid, **message}],
        },
    )


def meta_error(status: int, code: int, message: str, **headers: str) -> httpx.Response:
    body = {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": f"details of {code}"},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def meta() -> Iterator[respx.MockRouter]:
    # Anything not routed here raises, so the suite never reaches the network.
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def messages(meta: respx.MockRouter) -> respx.Route:
    return meta.post(MESSAGES, name="messages")


@pytest.fixture
async def transport() -> AsyncIterator[httpx.AsyncBaseTransport]:
    # httpx's own transport, which respx intercepts; the sender's lean one is tested against a
    # real server in tests/sending/test_transport.py.
    async with httpx.AsyncHTTPTransport() as transport:
        yield transport


@pytest.fixture
def api(transport: httpx.AsyncBaseTransport) -> CloudAPI:
    return CloudAPI(transport, PHONE_ID, base_url=BASE_URL, access_token=TOKEN)


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# --- requests --------------------------------------------------------------------------------


async def test_text_request_is_exact(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted("wamid.T1"))
    result = await api.send_text(
        WA_ID, "Hallo Anna", preview_url=True, reply_to="wamid.IN1", callback_data="outbox=42"
    )
    assert sent_json(messages) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+491701234567",
        "type": "text",
        "text": {"preview_url": True, "body": "Hallo Anna"},
        "context": {"message_id": "wamid.IN1"},
        "biz_opaque_callback_data": "outbox=42",
    }
    assert result.wamid == "wamid.T1"
    assert result.message_status is None
    assert result.raw["contacts"][0]["wa_id"] == WA_ID


async def test_bearer_header_and_url(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted())
    await api.send_text(WA_ID, "hi")
    request = messages.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/{PHONE_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize("to", [WA_ID, f"+{WA_ID}", f" {WA_ID} "])
async def test_phone_numbers_are_sent_with_plus(
    api: CloudAPI, messages: respx.Route, to: str
) -> None:
    messages.mock(return_value=accepted())
    await api.send_text(to, "hi")
    body = sent_json(messages)
    assert body["to"] == "+491701234567"
    assert "recipient" not in body
    assert "biz_opaque_callback_data" not in body
    assert "context" not in body
    assert body["text"] == {"preview_url": False, "body": "hi"}


async def test_bsuid_goes_in_recipient(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted())
    await api.send_text(BSUID, "hi")
    body = sent_json(messages)
    assert body["recipient"] == BSUID
    assert "to" not in body


async def test_media_by_id(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted())
    await api.send_media(WA_ID, "image", media_id="1003383421387256", caption="Neu da")
    assert sent_json(messages) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+491701234567",
        "type": "image",
        "image": {"id": "1003383421387256", "caption": "Neu da"},
    }


async def test_media_by_link(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted())
    await api.send_media(
        WA_ID,
        "document",
        link="https://cdn.example.test/specs.pdf",
        caption="Datenblatt",
        filename="specs.pdf",
        callback_data="outbox=9",
    )
    assert sent_json(messages) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+491701234567",
        "type": "document",
        "document": {
            "link": "https://cdn.example.test/specs.pdf",
            "caption": "Datenblatt",
            "filename": "specs.pdf",
        },
        "biz_opaque_callback_data": "outbox=9",
    }


async def test_template_request_is_exact(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted("wamid.P1", message_status="accepted"))
    result = await api.send_template(WA_ID, PROMO, "de", PROMO_PARAMS, callback_data="outbox=7")
    assert sent_json(messages) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+491701234567",
        "type": "template",
        "biz_opaque_callback_data": "outbox=7",
        "template": {
            "name": "discount_followup",
            "language": {"code": "de"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "Anna"}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Anna"},
                        {"type": "text", "text": "15 %"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "copy_code",
                    "index": "0",
                    "parameters": [{"type": "coupon_code", "coupon_code": "SAVE15"}],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "1",
                    "parameters": [{"type": "text", "text": "cart/8812"}],
                },
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "2",
                    "parameters": [{"type": "payload", "payload": "STOP_PROMO"}],
                },
            ],
        },
    }
    assert result.wamid == "wamid.P1"
    assert result.message_status == "accepted"


async def test_media_header_and_static_buttons(api: CloudAPI, messages: respx.Route) -> None:
    spec = TemplateSpec(
        name="new_arrivals",
        language="en",
        category="marketing",
        header_format="image",
        buttons=(ButtonSpec("quick_reply", 0, 0), ButtonSpec("url", 1, 0)),
    )
    messages.mock(return_value=accepted(message_status="held_for_quality_assessment"))
    result = await api.send_template(WA_ID, spec, "en_US", TemplateParams(header_media_id="1234"))
    assert sent_json(messages)["template"] == {
        "name": "new_arrivals",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "1234"}}]}
        ],
    }
    assert result.message_status == "held_for_quality_assessment"


async def test_template_without_parameters_has_no_components(
    api: CloudAPI, messages: respx.Route
) -> None:
    spec = TemplateSpec(name="hello_world", language="en_US", category="utility")
    messages.mock(return_value=accepted())
    await api.send_template(BSUID, spec, "en_US", TemplateParams())
    body = sent_json(messages)
    assert body["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    assert body["recipient"] == BSUID


async def test_callback_data_limit_is_512_bytes(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted())
    await api.send_text(WA_ID, "hi", callback_data="ä" * 256)  # 512 bytes in UTF-8
    assert messages.call_count == 1
    with pytest.raises(ValueError, match="512 bytes"):
        await api.send_text(WA_ID, "hi", callback_data="ä" * 256 + "x")
    assert messages.call_count == 1


BAD_DATA: list[tuple[str, Any, str, int]] = [
    ("letters", lambda api: api.send_text("not-a-number", "hi"), "not a WhatsApp id", 131009),
    ("too-short", lambda api: api.send_text("12", "hi"), "not a WhatsApp id", 131009),
    ("too-long", lambda api: api.send_text("1" * 16, "hi"), "not a WhatsApp id", 131009),
    ("bad-bsuid", lambda api: api.send_text("US.bad id", "hi"), "not a BSUID", 131009),
    ("empty-text", lambda api: api.send_text(WA_ID, " "), "text body", 100),
    ("long-text", lambda api: api.send_text(WA_ID, "x" * 4097), "text body", 100),
]


@pytest.mark.parametrize(
    ("call", "fragment", "code"), [c[1:] for c in BAD_DATA], ids=[c[0] for c in BAD_DATA]
)
async def test_bad_data_is_a_request_error_before_any_request(
    api: CloudAPI, meta: respx.MockRouter, call: Any, fragment: str, code: int
) -> None:
    with pytest.raises(RequestError, match=fragment) as caught:
        await call(api)
    assert caught.value.code == code
    assert caught.value.disposition is Disposition.FIX
    assert meta.calls.call_count == 0


BAD_CALLS: list[tuple[str, Any, str]] = [
    (
        "audio-caption",
        lambda api: api.send_media(WA_ID, "audio", media_id="1", caption="no"),
        "audio takes no caption",
    ),
    (
        "image-filename",
        lambda api: api.send_media(WA_ID, "image", media_id="1", filename="a.png"),
        "only documents",
    ),
    ("no-media", lambda api: api.send_media(WA_ID, "image"), "exactly one"),
    (
        "both-media",
        lambda api: api.send_media(WA_ID, "image", media_id="1", link="https://x.test/a.png"),
        "exactly one",
    ),
    (
        "ftp-link",
        lambda api: api.send_media(WA_ID, "image", link="ftp://x.test/a.png"),
        "http",
    ),
    ("sticker", lambda api: api.send_media(WA_ID, "sticker", media_id="1"), "media kind"),
]


@pytest.mark.parametrize(
    ("call", "fragment"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
async def test_bad_arguments_fail_before_any_request(
    api: CloudAPI, meta: respx.MockRouter, call: Any, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        await call(api)
    assert meta.calls.call_count == 0


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "cls", "disposition"),
    [
        (meta_error(400, 131047, "(#131047) Re-engagement message"), WindowClosed, "template"),
        (meta_error(400, 131050, "(#131050) Stopped marketing"), RecipientSuppressed, "suppress"),
        (
            meta_error(400, 131026, "(#131026) Message undeliverable"),
            RecipientSuppressed,
            "suppress",
        ),
        (meta_error(400, 130429, "(#130429) Rate limit hit"), RateLimited, "retry"),
        (meta_error(400, 131056, "(#131056) Pair rate limit hit"), RateLimited, "retry_pair"),
        (
            meta_error(400, 131057, "(#131057) Account in maintenance"),
            TransientError,
            "retry_later",
        ),
        (meta_error(401, 190, "Error validating access token"), AuthError, "alert"),
        (meta_error(400, 132000, "(#132000) Number of parameters"), TemplateParamsError, "fix"),
        (meta_error(400, 130472, "(#130472) Experiment"), ExperimentHoldout, "drop"),
        (httpx.Response(500, html="<html><h1>Internal Error</h1></html>"), TransientError, "retry"),
        (httpx.Response(503, content=b""), TransientError, "retry"),
    ],
    ids=[
        "131047",
        "131050",
        "131026",
        "130429",
        "131056",
        "131057",
        "190",
        "132000",
        "130472",
        "500-html",
        "503-empty",
    ],
)
async def test_error_responses_raise_their_class(
    api: CloudAPI,
    messages: respx.Route,
    response: httpx.Response,
    cls: type[CloudAPIError],
    disposition: str,
) -> None:
    messages.mock(return_value=response)
    with pytest.raises(cls) as caught:
        await api.send_text(WA_ID, "hi")
    error = caught.value
    assert type(error) is cls
    assert error.disposition == Disposition(disposition)
    assert error.http_status == response.status_code
    assert not error.outcome_unknown


async def test_opt_out_is_flagged(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=meta_error(400, 131050, "(#131050) Stopped marketing"))
    with pytest.raises(RecipientSuppressed) as caught:
        await api.send_template(WA_ID, PROMO, "de", PROMO_PARAMS)
    assert caught.value.stops_marketing
    assert caught.value.details == "details of 131050"
    assert caught.value.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"


async def test_rate_limit_carries_retry_after(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(
        return_value=meta_error(429, 130429, "(#130429) Rate limit hit", **{"Retry-After": "30"})
    )
    with pytest.raises(RateLimited) as caught:
        await api.send_text(WA_ID, "hi")
    assert caught.value.retry_after == 30.0
    assert caught.value.retryable


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"messaging_product": "whatsapp"}),
        httpx.Response(200, json={"messages": [{"id": ""}]}),
        httpx.Response(200, json={"messages": []}),
        httpx.Response(200, content=b"OK"),
    ],
    ids=["no-messages", "empty-id", "empty-list", "not-json"],
)
async def test_success_without_wamid_is_an_unknown_outcome(
    api: CloudAPI, messages: respx.Route, response: httpx.Response
) -> None:
    messages.mock(return_value=response)
    with pytest.raises(TransientError) as caught:
        await api.send_text(WA_ID, "hi")
    assert caught.value.outcome_unknown


@pytest.mark.parametrize(
    ("failure", "unknown"),
    [
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.ReadTimeout, True),
        (httpx.WriteTimeout, True),
        (httpx.ReadError, True),
        (httpx.RemoteProtocolError, True),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else str(value),
)
async def test_transport_failures(
    api: CloudAPI, messages: respx.Route, failure: type[httpx.TransportError], unknown: bool
) -> None:
    messages.mock(side_effect=failure)
    with pytest.raises(TransientError) as caught:
        await api.send_text(WA_ID, "hi")
    error = caught.value
    assert error.outcome_unknown is unknown
    assert error.disposition is Disposition.RETRY
    assert error.http_status is None
    assert isinstance(error.__cause__, failure)


async def test_unrouted_requests_never_leave_the_machine(
    transport: httpx.AsyncBaseTransport, meta: respx.MockRouter
) -> None:
    other = CloudAPI(transport, "999", base_url=BASE_URL, access_token=TOKEN)
    with pytest.raises(AssertionError):
        await other.send_text(WA_ID, "hi")


# --- template parameters ---------------------------------------------------------------------


def params(**over: Any) -> TemplateParams:
    values: dict[str, Any] = {
        "header": PROMO_PARAMS.header,
        "body": PROMO_PARAMS.body,
        "buttons": PROMO_PARAMS.buttons,
    }
    return TemplateParams(**{**values, **over})


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (params(body=("Anna",)), "body takes 2"),
        (params(body=("Anna", "15 %", "extra")), "body takes 2"),
        (params(body=("Anna", "  ")), "empty"),
        (params(body=("Anna", "x" * 1025)), "longer than 1024"),
        (params(body=("Anna", "line\nbreak")), "newline"),
        (params(body=("Anna", "a     b")), "spaces"),
        (params(header=()), "header takes 1"),
        (params(header=("x" * 61,)), "longer than 60"),
        (params(buttons={1: ("cart/1",), 2: ("STOP",)}), "lacks its coupon code"),
        (params(buttons={0: ("SAVE15SAVE15SAVE",), 1: ("c",), 2: ("S",)}), "coupon code"),
        (params(buttons={0: ("SAVE-15",), 1: ("c",), 2: ("S",)}), "coupon code"),
        (params(buttons={0: ("SAVE15",), 1: ("c" * 2001,), 2: ("S",)}), "URL suffix"),
        (params(buttons={0: ("SAVE15",), 1: ("c",), 2: ("S",), 5: ("?",)}), "button 5 takes no"),
        (params(buttons={0: ("SAVE15",), 1: ("c", "d"), 2: ("S",)}), "takes 1, got 2"),
        (params(header_media_id="1234"), "text header takes no media"),
    ],
    ids=[
        "body-short",
        "body-long",
        "body-empty",
        "body-too-long",
        "newline",
        "five-spaces",
        "header-missing",
        "header-too-long",
        "no-coupon",
        "coupon-too-long",
        "coupon-symbol",
        "url-too-long",
        "unknown-button",
        "button-count",
        "media-on-text",
    ],
)
async def test_parameter_mismatch_fails_before_any_request(
    api: CloudAPI, meta: respx.MockRouter, bad: TemplateParams, fragment: str
) -> None:
    with pytest.raises(TemplateParamsError, match=fragment) as caught:
        await api.send_template(WA_ID, PROMO, "de", bad)
    assert caught.value.code == 132000
    assert caught.value.disposition is Disposition.FIX
    assert isinstance(caught.value, RequestError)
    assert meta.calls.call_count == 0


def test_check_params_accepts_a_full_set() -> None:
    check_params(PROMO, PROMO_PARAMS)


@pytest.mark.parametrize(
    "bad",
    [
        TemplateParams(),
        TemplateParams(header_media_id="1", header_media_link="https://x.test/a.jpg"),
    ],
    ids=["no-media", "both"],
)
def test_media_header_needs_exactly_one_source(bad: TemplateParams) -> None:
    spec = TemplateSpec(name="promo", language="en", category="marketing", header_format="video")
    with pytest.raises(TemplateParamsError, match="exactly one"):
        check_params(spec, bad)


async def test_authentication_template_to_bsuid_fails_before_any_request(
    api: CloudAPI, meta: respx.MockRouter
) -> None:
    otp = TemplateSpec(
        name="otp",
        language="en",
        category="authentication",
        body_params=1,
        buttons=(ButtonSpec("url", 0, 1),),
    )
    with pytest.raises(RequestError) as caught:
        await api.send_template(
            BSUID, otp, "en", TemplateParams(body=("123456",), buttons={0: ("123456",)})
        )
    assert caught.value.code == 131062
    assert meta.calls.call_count == 0


BAD_SPECS: list[tuple[str, Any, str]] = [
    (
        "coupon-without-param",
        lambda: TemplateSpec("t", "en", "marketing", buttons=(ButtonSpec("copy_code", 0, 0),)),
        "copy_code button takes",
    ),
    (
        "two-coupons",
        lambda: TemplateSpec(
            "t",
            "en",
            "marketing",
            buttons=(ButtonSpec("copy_code", 0, 1), ButtonSpec("copy_code", 1, 1)),
        ),
        "at most one copy_code",
    ),
    (
        "same-index",
        lambda: TemplateSpec(
            "t", "en", "marketing", buttons=(ButtonSpec("url", 0, 1), ButtonSpec("url", 0, 1))
        ),
        "unique",
    ),
    (
        "index-10",
        lambda: TemplateSpec("t", "en", "marketing", buttons=(ButtonSpec("url", 10, 1),)),
        "unique",
    ),
    (
        "two-header-params",
        lambda: TemplateSpec("t", "en", "marketing", header_params=2),
        "parameter counts",
    ),
    ("no-name", lambda: TemplateSpec("", "en", "marketing"), "name and a language"),
]


@pytest.mark.parametrize(
    ("build", "fragment"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_impossible_template_specs_are_refused(build: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        build()


# --- the HTTP client and the dry run -------------------------------------------------------


async def test_client_settings(transport: httpx.AsyncBaseTransport) -> None:
    api = CloudAPI(transport, PHONE_ID, base_url=BASE_URL + "/", access_token=f" {TOKEN} ")
    assert api.headers["authorization"] == f"Bearer {TOKEN}"
    assert api.timeout.connect == 5.0
    assert api.timeout.read == 15.0
    assert str(api.url) == f"{BASE_URL}/{PHONE_ID}/messages"
    with pytest.raises(ValueError, match="access token"):
        CloudAPI(transport, PHONE_ID, base_url=BASE_URL, access_token=" ")
    with pytest.raises(ValueError, match="phone_number_id"):
        CloudAPI(transport, " ", base_url=BASE_URL, access_token=TOKEN)


async def test_requests_carry_the_timeouts(api: CloudAPI, messages: respx.Route) -> None:
    messages.mock(return_value=accepted())
    await api.send_text(WA_ID, "hi")
    timeouts = messages.calls.last.request.extensions["timeout"]
    assert timeouts == {"connect": 5.0, "read": 15.0, "write": 15.0, "pool": 15.0}


async def test_dry_run_records_and_returns_synthetic_ids(meta: respx.MockRouter) -> None:
    dry = DryRunCloudAPI(PHONE_ID)
    text = await dry.send_text(WA_ID, "hi", callback_data="outbox=1")
    template = await dry.send_template(BSUID, PROMO, "de", PROMO_PARAMS)
    media = await dry.send_media(WA_ID, "video", link="https://cdn.example.test/a.mp4")

    assert [r.wamid for r in (text, template, media)] == [
        "wamid.dryrun.1",
        "wamid.dryrun.2",
        "wamid.dryrun.3",
    ]
    assert [r.message_status for r in (text, template, media)] == [None, "accepted", None]
    assert text.raw["contacts"] == [{"input": f"+{WA_ID}", "wa_id": WA_ID}]
    assert template.raw["contacts"] == [{"input": BSUID, "user_id": BSUID}]
    assert [r.wamid for r in dry.sent] == ["wamid.dryrun.1", "wamid.dryrun.2", "wamid.dryrun.3"]
    assert {r.path for r in dry.sent} == {MESSAGES}
    assert dry.sent[0].payload == text_payload(WA_ID, "hi", callback_data="outbox=1")
    assert dry.sent[1].payload["template"]["components"][2]["parameters"] == [
        {"type": "coupon_code", "coupon_code": "SAVE15"}
    ]
    assert dry.sent[2].payload["video"] == {"link": "https://cdn.example.test/a.mp4"}
    assert meta.calls.call_count == 0


async def test_dry_run_payload_equals_the_real_request(
    api: CloudAPI, messages: respx.Route
) -> None:
    messages.mock(return_value=accepted())
    dry = DryRunCloudAPI(PHONE_ID)
    await api.send_template(WA_ID, PROMO, "de", PROMO_PARAMS, callback_data="outbox=3")
    await dry.send_template(WA_ID, PROMO, "de", PROMO_PARAMS, callback_data="outbox=3")
    assert dry.sent[0].payload == sent_json(messages)


async def test_dry_run_validates_like_the_real_client() -> None:
    dry = DryRunCloudAPI()
    with pytest.raises(TemplateParamsError):
        await dry.send_template(WA_ID, PROMO, "de", TemplateParams())
    with pytest.raises(ValueError, match="512"):
        await dry.send_text(WA_ID, "hi", callback_data="x" * 513)
    assert dry.sent == []


def test_both_clients_satisfy_the_port(api: CloudAPI) -> None:
    ports: list[CloudAPIPort] = [api, DryRunCloudAPI()]
    assert all(callable(p.send_text) for p in ports)
