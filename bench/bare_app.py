"""The benchmark's ceiling: a FastAPI app whose POST /webhook only reads the body and answers 200.

It runs under the same uvicorn options as `python -m app serve` (see app/cli.py), so the ratio
service / ceiling measures what the service does per request, not a difference in server setup.

    python bench/bare_app.py --host 127.0.0.1 --port 8001 --workers 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

ACCEPTED = b'{"status":"received"}'

app = FastAPI(title="bare webhook ceiling")


@app.post("/webhook")
async def receive(request: Request) -> Response:
    await request.body()
    return Response(ACCEPTED, media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # Mirrors app.cli.serve: loop and HTTP parser are uvicorn's "auto" there too, which picks
    # uvloop and httptools whenever uvicorn[standard] is installed.
    uvicorn.run(
        "bare_app:app",
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
