"""The sender's HTTP transport (aiohttp under httpx) against a real server on loopback that answers as scripted.

Each test scripts what the server writes back per request (raw bytes, so that framing, broken
answers and closed connections are exactly what a real server could send) and checks both what
arrived at the server and what the caller got.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.sending.transport import AiohttpTransport
from app.whatsapp.client import CloudAPI
from app.whatsapp.errors import TransientError

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
ACCEPTED = (
    b'{"messaging_product":"whatsapp","contacts":[{"input":"+4915112345678","wa_id":"4915112345678"}],'
    b'"messages":[{"id":"wamid.T1","message_status":"accepted"}]}'
)

# What the server does with one request: bytes to write back; the same, then hang up; "close"
# (hang up without an answer); or "hold" (never answer).
Reply = bytes | tuple[bytes, str] | str


def then_close(reply: bytes) -> tuple[bytes, str]:
    return (reply, "close")


@dataclass
class Server:
    replies: list[Reply]
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    handlers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v26.0/123/messages"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self.handlers.append(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                self.received.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0)
                if reply == "close":
                    break
                if reply == "hold":
                    await reader.read()  # until the client gives up and closes
                    break
                if isinstance(reply, tuple):
                    writer.write(reply[0])
                    await writer.drain()
                    break
                assert isinstance(reply, bytes)
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    scripted = Server(replies=[])
    listening = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield scripted
        # Every connection's handler ends here, on this loop: one left to the loop's shutdown
        # would close its socket after the loop, a ResourceWarning in some later test. Closing
        # its socket ends a handler's read; one that still holds on is cancelled.
        for writer in scripted.writers:
            writer.close()
        if scripted.handlers:
            _, stuck = await asyncio.wait(scripted.handlers, timeout=2)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*scripted.handlers, return_exceptions=True)
        for writer in scripted.writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def transports() -> AsyncIterator[Callable[..., AiohttpTransport]]:
    """Makes transports and closes them all at teardown, whatever the test's outcome: an
    unclosed aiohttp session would fail some later test with a ResourceWarning."""
    made: list[AiohttpTransport] = []

    def make(**options: Any) -> AiohttpTransport:
        made.append(AiohttpTransport(**options))
        return made[-1]

    yield make
    for transport in made:
        await transport.aclose()


@pytest.fixture
def transport(transports: Callable[..., AiohttpTransport]) -> AiohttpTransport:
    return transports()


def post(url: str, body: bytes = b"{}", **timeouts: float) -> httpx.Request:
    extensions = {"timeout": timeouts} if timeouts else None
    return httpx.Request(
        "POST",
        url,
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
        content=body,
        extensions=extensions,
    )


async def send(transport: AiohttpTransport, request: httpx.Request) -> httpx.Response:
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_request_bytes_and_answer(server: Server, transport: AiohttpTransport) -> None:
    server.replies = [OK]
    response = await send(transport, post(server.url, b'{"a":1}'))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["content-type"] == "application/json"
    assert response.extensions["reason_phrase"] == b"OK"
    head, _, body = server.received[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v26.0/123/messages HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Authorization: Bearer t" in lines
    assert b"Content-Type: application/json" in lines
    assert b"Content-Length: 7" in lines
    assert body == b'{"a":1}'


async def test_one_connection_serves_request_after_request(
    server: Server, transport: AiohttpTransport
) -> None:
    server.replies = [OK] * 5
    for _ in range(5):
        assert (await send(transport, post(server.url))).status_code == 200
    assert server.connections == 1


async def test_concurrent_requests_get_connections_of_their_own(
    server: Server, transport: AiohttpTransport
) -> None:
    server.replies = [OK] * 6
    answers = await asyncio.gather(*(send(transport, post(server.url)) for _ in range(3)))
    assert [a.status_code for a in answers] == [200] * 3
    assert server.connections == 3
    await asyncio.gather(*(send(transport, post(server.url)) for _ in range(3)))
    assert server.connections == 3  # all three were kept and reused


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'4;ext=1\r\n{"ok\r\n7\r\n":true}\r\n0\r\n\r\n',
            id="chunked",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'b\r\n{"ok":true}\r\n0\r\nX-Trailer: 1\r\n\r\n',
            id="chunked-with-trailer",
        ),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\n" + OK,
            id="interim-answer-first",
        ),
    ],
)
async def test_framings(server: Server, transport: AiohttpTransport, reply: bytes) -> None:
    server.replies = [reply, OK]
    assert (await send(transport, post(server.url))).json() == {"ok": True}
    # The connection is still in step: the next answer is read whole from the same one.
    assert (await send(transport, post(server.url))).json() == {"ok": True}
    assert server.connections == 1


async def test_answers_split_into_single_bytes(transport: AiohttpTransport) -> None:
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n{"ok":true}\r\n0\r\n\r\n'

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)
        for byte in chunked:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.001)
        writer.close()

    listening = await asyncio.start_server(trickle, "127.0.0.1", 0)
    async with listening:
        port = listening.sockets[0].getsockname()[1]
        response = await send(transport, post(f"http://127.0.0.1:{port}/x"))
    assert response.json() == {"ok": True}


async def test_an_answer_ended_by_closing_is_read_and_not_reused(
    server: Server, transport: AiohttpTransport
) -> None:
    server.replies = [then_close(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"), OK]
    assert (await send(transport, post(server.url))).content == b"all of it"
    assert (await send(transport, post(server.url))).status_code == 200
    assert server.connections == 2


async def test_connection_close_header_is_honoured(
    server: Server, transport: AiohttpTransport
) -> None:
    server.replies = [OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1), OK]
    await send(transport, post(server.url))
    await send(transport, post(server.url))
    assert server.connections == 2


async def test_an_idle_connection_the_server_closed_is_not_reused(
    server: Server, transport: AiohttpTransport
) -> None:
    server.replies = [OK, OK]
    await send(transport, post(server.url))
    for writer in server.writers:
        writer.close()
    await asyncio.sleep(0.05)
    assert (await send(transport, post(server.url))).status_code == 200
    assert server.connections == 2


async def test_idle_connections_expire(
    server: Server, transports: Callable[..., AiohttpTransport]
) -> None:
    transport = transports(keepalive_expiry=0.05)
    server.replies = [OK, OK]
    await send(transport, post(server.url))
    await asyncio.sleep(0.1)
    await send(transport, post(server.url))
    assert server.connections == 2
    await transport.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param("close", httpx.RemoteProtocolError, id="hung-up-without-answer"),
        pytest.param(
            then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"),
            httpx.RemoteProtocolError,
            id="hung-up-mid-body",
        ),
        pytest.param(b"NONSENSE\r\n\r\n", httpx.RemoteProtocolError, id="bad-status-line"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            httpx.RemoteProtocolError,
            id="bad-length",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            httpx.RemoteProtocolError,
            id="bad-chunk-size",
        ),
    ],
)
async def test_broken_answers(
    server: Server, transport: AiohttpTransport, reply: Reply, error: type[Exception]
) -> None:
    server.replies = [reply, OK]
    request = post(server.url)
    with pytest.raises(error) as caught:
        await send(transport, request)
    assert caught.value.request is request  # type: ignore[attr-defined]
    # The broken connection was dropped; the next request gets a good one.
    assert (await send(transport, post(server.url))).status_code == 200


async def test_no_answer_in_time_is_a_read_timeout(
    server: Server, transport: AiohttpTransport
) -> None:
    server.replies = ["hold", OK]
    with pytest.raises(httpx.ReadTimeout):
        await send(transport, post(server.url, read=0.1))
    assert (await send(transport, post(server.url))).status_code == 200
    assert server.connections == 2


async def test_refused_connection_is_a_connect_error(transport: AiohttpTransport) -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        await send(transport, post(f"http://127.0.0.1:{port}/x"))


async def test_a_full_pool_makes_callers_wait_then_times_out(
    server: Server, transports: Callable[..., AiohttpTransport]
) -> None:
    transport = transports(max_connections=1)
    server.replies = [OK, OK, "hold"]
    await asyncio.gather(*(send(transport, post(server.url)) for _ in range(2)))
    assert server.connections == 1
    holding = asyncio.create_task(send(transport, post(server.url)))
    await asyncio.sleep(0.05)
    # Nothing was written: a connect timeout, which CloudAPI counts as never sent.
    with pytest.raises(httpx.ConnectTimeout):
        await send(transport, post(server.url, pool=0.05))
    holding.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await holding
    await transport.aclose()


async def test_a_place_freed_by_a_failure_goes_to_a_waiter(
    server: Server, transports: Callable[..., AiohttpTransport]
) -> None:
    transport = transports(max_connections=1)
    server.replies = ["close", OK]
    # One connection for two requests: whichever goes first meets the hang-up, and the other
    # still gets the place it frees (and its answer).
    outcomes = await asyncio.gather(
        *(send(transport, post(server.url)) for _ in range(2)), return_exceptions=True
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    answered = [o for o in outcomes if isinstance(o, httpx.Response)]
    assert [type(e) for e in failed] == [httpx.RemoteProtocolError]
    assert [r.status_code for r in answered] == [200]


async def test_line_breaks_in_headers_never_reach_the_wire(
    server: Server, transport: AiohttpTransport
) -> None:
    bad = httpx.Request("POST", server.url, headers=[(b"X-Injected", b"a\r\nEvil: 1")])
    with pytest.raises(httpx.LocalProtocolError):
        await send(transport, bad)
    assert server.received == []


async def test_unsupported_scheme(transport: AiohttpTransport) -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        await send(transport, post("ftp://127.0.0.1/x"))


async def test_the_proxy_from_the_environment_is_used(
    server: Server, transports: Callable[..., AiohttpTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("NO_PROXY", "")
    server.replies = [OK]
    response = await send(transports(), post("http://graph.example.test/v26.0/123/messages"))
    assert response.status_code == 200
    # A plain-HTTP request to a proxy names the whole URL.
    assert server.received[0].startswith(
        b"POST http://graph.example.test/v26.0/123/messages HTTP/1.1\r\n"
    )


async def test_no_proxy_hosts_go_direct(
    server: Server, transports: Callable[..., AiohttpTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.replies = [OK]
    assert (await send(transports(), post(server.url))).status_code == 200


async def test_a_proxy_refusing_the_tunnel_is_a_proxy_error(
    server: Server, transports: Callable[..., AiohttpTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("NO_PROXY", "")
    server.replies = [b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"]
    api = CloudAPI(
        transports(), "123", base_url="https://graph.example.test/v26.0", access_token="t"
    )
    with pytest.raises(TransientError) as caught:
        await api.send_text("4915112345678", "Hallo")
    assert isinstance(caught.value.__cause__, httpx.ProxyError)
    # Nothing reached Meta: safe to send again.
    assert caught.value.outcome_unknown is False
    assert server.received[0].startswith(b"CONNECT graph.example.test:443 HTTP/1.1\r\n")


# -- through the Cloud API client ---------------------------------------------------------------


def api_on(server: Server, transport: AiohttpTransport) -> CloudAPI:
    return CloudAPI(
        transport, "123", base_url=f"http://127.0.0.1:{server.port}/v26.0", access_token="t"
    )


def answer(body: bytes, status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body


async def test_cloud_api_sends_through_it(server: Server, transport: AiohttpTransport) -> None:
    server.replies = [answer(ACCEPTED)]
    result = await api_on(server, transport).send_text(
        "4915112345678", "Hallo", callback_data="o:1"
    )
    assert result.wamid == "wamid.T1"
    head, _, body = server.received[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v26.0/123/messages HTTP/1.1\r\n")
    assert b"Authorization: Bearer t" in head
    assert body == (
        b'{"messaging_product":"whatsapp","recipient_type":"individual","to":"+4915112345678",'
        b'"type":"text","biz_opaque_callback_data":"o:1","text":{"preview_url":false,"body":"Hallo"}}'
    )


@pytest.mark.parametrize(
    ("reply", "unknown"),
    [
        pytest.param("close", True, id="hung-up: may have been sent"),
        pytest.param(answer(b'{"error":{"code":131000}}', b"500 Internal"), False, id="5xx"),
    ],
)
async def test_cloud_api_failures_through_it(
    server: Server, transport: AiohttpTransport, reply: Reply, unknown: bool
) -> None:
    server.replies = [reply]
    with pytest.raises(TransientError) as caught:
        await api_on(server, transport).send_text("4915112345678", "Hallo")
    assert caught.value.outcome_unknown is unknown


async def test_cloud_api_refused_connection_was_never_sent(transport: AiohttpTransport) -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = CloudAPI(transport, "123", base_url=f"http://127.0.0.1:{port}", access_token="t")
    with pytest.raises(TransientError) as caught:
        await api.send_text("4915112345678", "Hallo")
    assert caught.value.outcome_unknown is False


def test_needs_at_least_one_connection() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        AiohttpTransport(max_connections=0)
