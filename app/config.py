"""Settings from the environment (the SPEC's names), with defaults that run on a fresh machine."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://graph.facebook.com/v26.0"
LOCAL_SECRETS_DIR = Path(".local-secrets")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./followup.db"
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_api_base_url: str = DEFAULT_API_BASE_URL
    admin_token: SecretStr | None = None
    # Meta caps a webhook body at 3 MB; a little headroom, then 413.
    webhook_max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # How often stored-but-unprocessed webhooks are swept up (crash recovery).
    inbox_sweep_seconds: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"
    # The operator's copy of app/tagging/rules.yaml; unset: the shipped defaults.
    rules_file: Path | None = None
    # How often the periodic job looks for contacts whose time-based tags fall due.
    tag_job_seconds: float = Field(default=30.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the URLs people paste (postgres://, postgresql://, sqlite://) and pick the async driver."""
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        return value

    @field_validator(
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        "whatsapp_access_token",
        "admin_token",
        "whatsapp_phone_number_id",
        "rules_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`FOO=` in an env file or a compose file means "not set", not "the empty secret"."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def dry_run(self) -> bool:
        return self.whatsapp_access_token is None or not self.whatsapp_phone_number_id


def with_local_secrets(settings: Settings, directory: Path = LOCAL_SECRETS_DIR) -> Settings:
    """Fill unset webhook secret, verify token and admin token from files in `directory`.

    The webhook never accepts unsigned posts, so a newcomer without Meta credentials still needs a
    secret: one is generated once, kept in a file only the owner can read, and never logged.
    """
    updates: dict[str, SecretStr] = {}
    for name in ("whatsapp_app_secret", "whatsapp_verify_token", "admin_token"):
        if getattr(settings, name) is None:
            updates[name] = SecretStr(_read_or_create(directory / name))
    return settings.model_copy(update=updates) if updates else settings


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value
