"""X-Hub-Signature-256: HMAC-SHA256 of the exact request bytes, keyed with the app secret."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send for `body`."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(app_secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(PREFIX):
        return False
    expected = sign(app_secret, body)
    # Compare as bytes: compare_digest rejects non-ASCII str, and a hostile header may carry some.
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode("utf-8", "replace"))
