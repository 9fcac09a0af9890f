"""A lean HTTP/1.1 keep-alive transport for httpx: the sender's way to the Cloud API.

httpx's own stack (AsyncClient over httpcore, h11 and anyio) costs 2-4 ms of CPU per request on
the 2-core benchmark machine, most of it pool bookkeeping that polls every pooled socket on
every request; at 1,000 sends/s that is more than both cores. This transport speaks only what a
send needs: one request at a time per connection, answers framed by Content-Length, chunks or
the end of the connection, keep-alive, TLS. No proxies, no HTTP/2, no streamed request bodies.

With a pooled connection free, the request is written in the same step of the event loop as the
call, so a send leaves when the sender's slot says, not a few loop turns later.

Failures map to httpx's exceptions as httpcore's do, because CloudAPI decides from them whether a
request may have reached Meta: ConnectError, ConnectTimeout and PoolTimeout mean it never left;
ReadTimeout, ReadError and RemoteProtocolError mean it may have.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from typing import Any

import httpx

from app.sending.http_answer import Answer, Violation

__all__ = ["KeepAliveTransport"]


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._answer: Answer | None = None
        self._waiter: asyncio.Future[Answer] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def exchange(self, data: bytes, *, head_request: bool) -> asyncio.Future[Answer]:
        """Writes a request; the future holds its answer."""
        assert self.transport is not None
        assert self._waiter is None
        self._answer = Answer(head_request=head_request)
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        if self._answer is None:
            # Bytes nobody asked for: whatever the server thinks, this connection is done.
            self.close()
            return
        try:
            complete = self._answer.feed(data)
        except Violation as exc:
            self._fail(httpx.RemoteProtocolError(str(exc)))
            return
        if complete:
            self._finish()

    def eof_received(self) -> bool:
        if self._answer is not None and self._answer.feed_eof():
            self._finish()
        self._fail(httpx.RemoteProtocolError("server disconnected without a complete answer"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(httpx.ReadError(f"connection lost: {exc}" if exc else "connection lost"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self, error: httpx.TransportError) -> None:
        """Gives up on the answer in progress (a timeout): the connection cannot be reused."""
        self._fail(error)

    def _finish(self) -> None:
        answer, waiter = self._answer, self._waiter
        self._answer = self._waiter = None
        assert answer is not None
        assert waiter is not None
        if not answer.keep_alive:
            self.close()
        if not waiter.done():
            waiter.set_result(answer)

    def _fail(self, error: httpx.TransportError) -> None:
        waiter = self._waiter
        self._answer = self._waiter = None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def _expire(waiter: asyncio.Future[_Connection | None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.PoolTimeout("no connection free in time"))


class _Pool:
    """Connections to one origin: the most recently used idle one is reused first, so that the
    others age out when traffic drops."""

    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        *,
        max_connections: int,
        keepalive_expiry: float,
    ) -> None:
        self.host, self.port, self.ssl_context = host, port, ssl_context
        self.max_connections, self.keepalive_expiry = max_connections, keepalive_expiry
        self.idle: list[_Connection] = []
        self.closed = False
        self.size = 0  # open or opening
        # Each gets a connection, or None: "a place is free, open your own".
        self.waiters: deque[asyncio.Future[_Connection | None]] = deque()

    async def acquire(
        self, connect_timeout: float | None, pool_timeout: float | None
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive_expiry:
                return connection
            connection.close()
            self.size -= 1
        if self.size >= self.max_connections:
            found = await self._wait(loop, pool_timeout)
            if found is not None:
                return found
        else:
            self.size += 1
        try:
            return await self._connect(loop, connect_timeout)
        except BaseException:
            self._vacate()
            raise

    def release(self, connection: _Connection) -> None:
        if self.closed:
            connection.close()
        if connection.closed:
            self._vacate()
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connection.idle_since = asyncio.get_running_loop().time()
        self.idle.append(connection)

    def discard(self, connection: _Connection) -> None:
        connection.close()
        self._vacate()

    def close(self) -> None:
        self.closed = True
        for connection in self.idle:
            connection.close()
        self.idle.clear()
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(httpx.PoolTimeout("transport closed"))
        self.waiters.clear()

    def _vacate(self) -> None:
        """One connection fewer: a waiter, if any, may open its own."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.size -= 1

    async def _wait(
        self, loop: asyncio.AbstractEventLoop, seconds: float | None
    ) -> _Connection | None:
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self.waiters.append(waiter)
        timer = None
        if seconds is not None:
            timer = loop.call_later(seconds, _expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Handed a connection (or a place) just as the caller was cancelled: pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                found = waiter.result()
                if found is None:
                    self._vacate()
                else:
                    self.release(found)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _connect(self, loop: asyncio.AbstractEventLoop, seconds: float | None) -> _Connection:
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(
                    _Connection,
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"connecting to {self.host}:{self.port}: {exc}") from exc
        return connection


def _default_ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    with contextlib.suppress(NotImplementedError):
        context.set_alpn_protocols(["http/1.1"])
    return context


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over pooled keep-alive connections, per origin.

    Idle connections are reused for `keepalive_expiry` seconds, a little less than servers
    commonly keep them (uvicorn 5 s): reusing one as the server closes it costs that send an
    unknown outcome. Timeouts come from the request's "timeout" extension
    (httpx.Timeout.as_dict()): `connect`, `pool` (waiting for a free connection) and `read`, here
    the whole wait for the answer once the request is written.
    """

    def __init__(
        self,
        *,
        max_connections: int = 64,
        keepalive_expiry: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._max_connections, self._keepalive_expiry = max_connections, keepalive_expiry
        self._ssl_context = ssl_context
        self._pools: dict[tuple[str, str, int], _Pool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._exchange(request)
        except httpx.TransportError as exc:
            exc.request = request
            raise

    async def aclose(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        pool = self._pool(request.url)
        data = self._serialise(request, await request.aread())
        connection = await pool.acquire(timeouts.get("connect"), timeouts.get("pool"))
        try:
            waiter = connection.exchange(data, head_request=request.method == "HEAD")
            answer = await self._answer_of(connection, waiter, timeouts.get("read"))
        except BaseException:
            pool.discard(connection)
            raise
        pool.release(connection)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(bytes(answer.body)),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
        )

    @staticmethod
    async def _answer_of(
        connection: _Connection, waiter: asyncio.Future[Answer], seconds: float | None
    ) -> Answer:
        if seconds is None:
            return await waiter
        timer = asyncio.get_running_loop().call_later(
            seconds, connection.abort, httpx.ReadTimeout("no answer in time")
        )
        try:
            return await waiter
        finally:
            timer.cancel()

    def _pool(self, url: httpx.URL) -> _Pool:
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}")
        port = url.port or (443 if url.scheme == "https" else 80)
        key = (url.scheme, url.host, port)
        pool = self._pools.get(key)
        if pool is None:
            context = None
            if url.scheme == "https":
                context = self._ssl_context or _default_ssl_context()
            pool = self._pools[key] = _Pool(
                url.host,
                port,
                context,
                max_connections=self._max_connections,
                keepalive_expiry=self._keepalive_expiry,
            )
        return pool

    @staticmethod
    def _serialise(request: httpx.Request, body: bytes) -> bytes:
        parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
                raise httpx.LocalProtocolError(f"header {name!r} holds a line break")
            parts += (name, b": ", value, b"\r\n")
        parts += (b"\r\n", body)
        return b"".join(parts)
