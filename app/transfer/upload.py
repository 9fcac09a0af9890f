"""Reading an uploaded CSV body: the file itself as the body, up to a limit, checked before
anything else so an oversized upload costs neither memory nor a database lock."""

from __future__ import annotations

from fastapi import Request

from app.errors import AppError, PayloadTooLarge

MAX_BYTES = 20 * 1024 * 1024
# A form upload or JSON would parse as nonsense rows; any other type is taken as the file's bytes
# (curl --data-binary sends application/x-www-form-urlencoded unless told otherwise).
REFUSED_TYPES = ("multipart/", "application/json")


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


async def csv_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(REFUSED_TYPES):
        raise UnsupportedMediaType(
            "send the CSV file itself as the body with Content-Type: text/csv "
            "(curl --data-binary @contacts.csv), not as a form upload or JSON"
        )
    too_large = PayloadTooLarge(
        f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it into several files"
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
