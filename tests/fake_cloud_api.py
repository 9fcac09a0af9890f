"""A stand-in for the Cloud API's send endpoint, served by uvicorn in a process of its own.

    python -m tests.fake_cloud_api --port 8123 --log sends.tsv

POST /{phone_number_id}/messages answers 200 with a unique wamid, as Meta does, after appending
one line to the log: arrival (monotonic seconds), biz_opaque_callback_data, recipient. A bare
ASGI callable rather than a Starlette app: on a small machine the fake shares the CPU with the
workers it measures, so it should cost as little as possible per request.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ROOT = Path(__file__).resolve().parents[1]
JSON_HEADERS = [(b"content-type", b"application/json")]


def make_app(log_path: Path) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    numbers = itertools.count(1)
    prefix = f"wamid.fake.{os.getpid()}."
    # Line-buffered: every line is in the file before its answer leaves, so a reader that has
    # all the answers also has all the lines.
    log = log_path.open("a", buffering=1)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            log.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] != "POST" or not scope["path"].endswith("/messages"):
            await _answer(send, 404, {"error": {"message": "unknown path", "code": 100}})
            return
        arrived = time.monotonic()
        try:
            payload = json.loads(body)
            to = str(payload.get("to") or payload.get("recipient") or "")
            callback = str(payload.get("biz_opaque_callback_data") or "")
        except (ValueError, AttributeError):
            await _answer(send, 400, {"error": {"message": "invalid JSON", "code": 100}})
            return
        log.write(f"{arrived:.6f}\t{callback}\t{to}\n")
        wamid = f"{prefix}{next(numbers)}"
        await _answer(
            send,
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            },
        )

    return app


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


@dataclass(frozen=True)
class Arrival:
    at: float
    callback_data: str
    to: str


def read_log(path: Path) -> list[Arrival]:
    arrivals = []
    for line in path.read_text().splitlines():
        at, callback, to = line.split("\t")
        arrivals.append(Arrival(float(at), callback, to))
    return sorted(arrivals, key=lambda a: a.at)


def busiest_second(times: list[float], window: float = 1.0) -> int:
    """The most arrivals in any window [t, t + window), over every start t (sorted input)."""
    return max(
        (bisect.bisect_left(times, t + window, lo=i) - i for i, t in enumerate(times)), default=0
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Running:
    url: str
    pid: int


@contextlib.contextmanager
def serving(log_path: Path) -> Iterator[Running]:
    """Runs the fake in a subprocess for the duration."""
    port = free_port()
    log_path.touch()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_cloud_api", "--port", str(port), "--log", str(log_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if proc.poll() is not None:
                raise RuntimeError("the fake Cloud API exited during start-up")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the fake Cloud API did not start")
        yield Running(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.log),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
