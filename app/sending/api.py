"""The Cloud API client for this process: the real one with a token, the dry run without."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.config import Settings
from app.sending.transport import AiohttpTransport
from app.whatsapp.client import CloudAPI, CloudAPIPort, DryRunCloudAPI


@asynccontextmanager
async def cloud_api(settings: Settings) -> AsyncIterator[CloudAPIPort]:
    """Built once per process and closed at shutdown, so connections are pooled across sends."""
    if settings.whatsapp_access_token is None or not settings.whatsapp_phone_number_id:
        yield DryRunCloudAPI()
        return
    transport = AiohttpTransport()
    try:
        yield CloudAPI(
            transport,
            settings.whatsapp_phone_number_id,
            base_url=settings.whatsapp_api_base_url,
            access_token=settings.whatsapp_access_token.get_secret_value(),
        )
    finally:
        await transport.aclose()
