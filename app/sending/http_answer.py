"""Parsing one HTTP/1.1 response as its bytes arrive, for app.sending.transport.

Framing by Content-Length, chunks or the end of the connection; interim 1xx answers skipped;
anything else a server could send that is not a valid answer raises Violation.
"""

from __future__ import annotations

__all__ = ["MAX_BODY_BYTES", "MAX_HEAD_BYTES", "Answer", "Violation"]

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


class Violation(Exception):
    """The server's bytes are not a valid HTTP/1.1 answer."""


class Answer:
    """Parses one response as its bytes arrive."""

    def __init__(self, *, head_request: bool) -> None:
        self.head_request = head_request
        self.buffer = bytearray()
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = True
        self.body = bytearray()
        # None until the head is in; then "length", "chunked", "close" or "done".
        self.framing: str | None = None
        self.remaining = 0  # body bytes still due ("length"), or of the current chunk
        self.in_chunk = False

    def feed(self, data: bytes) -> bool:
        """Takes more bytes; True once the answer is complete."""
        self.buffer += data
        while self.framing is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    raise Violation("response head too large")
                return False
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            self._head(head)
        if self.framing == "length":
            take = min(self.remaining, len(self.buffer))
            self.body += self.buffer[:take]
            del self.buffer[:take]
            self.remaining -= take
            if self.remaining == 0:
                self.framing = "done"
        elif self.framing == "chunked":
            self._chunks()
        elif self.framing == "close":
            self.body += self.buffer
            self.buffer.clear()
        if len(self.body) > MAX_BODY_BYTES:
            raise Violation("response body too large")
        if self.framing == "done" and self.buffer:
            # Bytes beyond the answer: nothing was asked for them, so the connection is spent.
            self.keep_alive = False
        return self.framing == "done"

    def feed_eof(self) -> bool:
        """The server closed the connection; True if that completes the answer."""
        if self.framing == "close":
            self.framing = "done"
            self.keep_alive = False
            return True
        return self.framing == "done"

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code, _, self.reason = rest.partition(b" ")
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise Violation(f"bad status line {lines[0][:80]!r}")
        self.status = int(code)
        self.headers = []
        length: int | None = None
        chunked = False
        connection = b""
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise Violation(f"bad header line {line[:80]!r}")
            value = value.strip()
            self.headers.append((name, value))
            lowered = name.lower()
            if lowered == b"content-length":
                if not value.isdigit() or (length is not None and length != int(value)):
                    raise Violation(f"bad Content-Length {value[:40]!r}")
                length = int(value)
            elif lowered == b"transfer-encoding":
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
                if not chunked:
                    raise Violation(f"unsupported Transfer-Encoding {value[:40]!r}")
            elif lowered == b"connection":
                connection += b"," + value.lower()
        if 100 <= self.status < 200:
            if self.status == 101:
                raise Violation("unexpected protocol switch")
            return  # an interim answer: the real one follows
        tokens = {t.strip() for t in connection.split(b",")}
        self.keep_alive = version == b"HTTP/1.1" and b"close" not in tokens
        if self.head_request or self.status in _NO_BODY_STATUSES:
            self.framing = "done"
        elif chunked:
            self.framing = "chunked"
        elif length is not None:
            self.framing, self.remaining = ("length", length) if length else ("done", 0)
        else:
            self.framing, self.keep_alive = "close", False

    def _chunks(self) -> None:
        buffer = self.buffer
        while True:
            if self.in_chunk:
                if len(buffer) < self.remaining + 2:
                    return
                if buffer[self.remaining : self.remaining + 2] != b"\r\n":
                    raise Violation("chunk not followed by CRLF")
                self.body += buffer[: self.remaining]
                del buffer[: self.remaining + 2]
                self.in_chunk = False
                continue
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise Violation("chunk size line too long")
                return
            size_text = bytes(buffer[:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise Violation(f"bad chunk size {size_text[:20]!r}") from None
            if size < 0:
                raise Violation("negative chunk size")
            if size == 0:
                # The last chunk; then optional trailers, ended by an empty line.
                trailers_end = buffer.find(b"\r\n\r\n", line_end)
                if buffer[line_end : line_end + 4] == b"\r\n\r\n" or trailers_end >= 0:
                    del buffer[: (trailers_end if trailers_end >= 0 else line_end) + 4]
                    self.framing = "done"
                return
            del buffer[: line_end + 2]
            self.remaining, self.in_chunk = size, True
