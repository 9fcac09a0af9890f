"""The sender's way to the Cloud API: an httpx transport over aiohttp's client.

httpx's own stack (AsyncClient over httpcore, h11 and anyio) costs 2-4 ms of CPU per request on
the 2-core benchmark machine, most of it pool bookkeeping; at 1,000 sends/s that is more than
both cores. aiohttp's client (C parser, its own keep-alive pool) does the same exchange for
about a tenth of that. CloudAPI keeps speaking httpx (requests, responses, respx in tests);
this adapter only carries the bytes.

What matters most here is the mapping of failures, because CloudAPI decides from the httpx
exception whether a request may have reached Meta: ConnectError and ConnectTimeout mean it never
left (a retry cannot duplicate it); ReadTimeout, ReadError and RemoteProtocolError mean it may
have, and the send's outcome is reconciled from status webhooks instead of being retried.
aiohttp never resends a POST on its own (it retries a reused connection for idempotent methods
only), so each call is at most one request on the wire.
"""

from __future__ import annotations

import ssl
import urllib.request

import aiohttp
import httpx

__all__ = ["AiohttpTransport"]


class AiohttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over aiohttp's pooled keep-alive connections.

    Idle connections are reused for `keepalive_expiry` seconds, a little less than servers
    commonly keep them (uvicorn 5 s): reusing one as the server closes it costs that send an
    unknown outcome. Timeouts come from the request's "timeout" extension
    (httpx.Timeout.as_dict()): `pool` bounds the wait for a connection (free or new), `connect`
    the connecting itself and `read` each wait for bytes of the answer; their sum bounds the
    whole exchange. HTTP_PROXY / HTTPS_PROXY / NO_PROXY are read once, when it is made.
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
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        # Made on first use: an aiohttp session belongs to the event loop it was made on.
        self._session: aiohttp.ClientSession | None = None
        # Read once rather than by aiohttp on every request (its trust_env looks the
        # environment and ~/.netrc up per request, off the event loop).
        self._proxies = urllib.request.getproxies()
        self._proxy_by_origin: dict[tuple[str, str], str | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"unsupported scheme {request.url.scheme!r}", request=request
            )
        # The names as the caller cased them (httpx keeps them in .raw).
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        for name, value in headers:
            # Checked before any connection is taken: such a header could smuggle a request.
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise httpx.LocalProtocolError(
                    f"header {name!r} holds a line break", request=request
                )
        body = await request.aread()
        timeouts = request.extensions.get("timeout", {})
        parts = [timeouts.get("pool"), timeouts.get("write"), timeouts.get("read")]
        total = sum(p for p in parts if p is not None) if None not in parts else None
        try:
            async with self._session_now().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                proxy=self._proxy_for(request.url),
                timeout=aiohttp.ClientTimeout(
                    total=total,
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            ) as answer:
                content = await answer.read()
        except aiohttp.ClientError as exc:
            raise _as_httpx(exc, request) from exc
        return httpx.Response(
            answer.status,
            headers=list(answer.raw_headers),
            content=content,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _proxy_for(self, url: httpx.URL) -> str | None:
        origin = (url.scheme, url.host)
        if origin not in self._proxy_by_origin:
            proxy = self._proxies.get(url.scheme)
            if proxy and urllib.request.proxy_bypass(url.host):
                proxy = None
            self._proxy_by_origin[origin] = proxy
        return self._proxy_by_origin[origin]

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    keepalive_timeout=self._keepalive_expiry,
                    ssl=self._ssl,
                ),
                # httpx decodes by Content-Encoding when the body is read; decoding here too
                # would hand it plain bytes labelled gzip.
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session


def _as_httpx(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception that says as much about where the request got as aiohttp's does."""
    message = f"{type(exc).__name__}: {exc}"
    # Never left: nothing was written to a connection to Meta.
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        # The proxy refused to open the tunnel (it is raised as a response error).
        return httpx.ProxyError(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # Either no pooled connection came free or connecting took too long.
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        return httpx.UnsupportedProtocol(message, request=request)
    # May have arrived: the request was (or may have been) written.
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)
