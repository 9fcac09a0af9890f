"""Fresh test databases: migrate a template once per run, hand each test its own copy.

TEST_DATABASE_URL picks the backend: unset → SQLite files in a temp folder; a PostgreSQL URL →
databases created on that server (its database is only used for CREATE/DROP DATABASE).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.cli import run_migrations
from app.config import Settings


@dataclass
class DatabaseFactory:
    backend: str
    tmp: Path
    server_url: str | None = None
    template: str | None = None
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def create(cls, tmp: Path) -> DatabaseFactory:
        raw = os.environ.get("TEST_DATABASE_URL", "").strip()
        if not raw or raw.startswith("sqlite"):
            template = tmp / "template.db"
            run_migrations(f"sqlite+aiosqlite:///{template}")
            return cls(backend="sqlite", tmp=tmp, template=str(template))
        server_url = Settings(database_url=raw).database_url
        name = f"wafu_tpl_{os.getpid()}"
        asyncio.run(
            _admin_async(
                server_url,
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}"',
            )
        )
        run_migrations(_with_db(server_url, name))
        return cls(backend="postgresql", tmp=tmp, server_url=server_url, template=name)

    async def new(self) -> str:
        """A URL of a fresh, migrated database."""
        n = next(self._counter)
        if self.backend == "sqlite":
            assert self.template is not None
            path = self.tmp / f"test_{n}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite+aiosqlite:///{path}"
        assert self.server_url is not None
        name = f"wafu_{os.getpid()}_{n}"
        await _admin_async(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return _with_db(self.server_url, name)

    async def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(make_url(url).database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
            return
        assert self.server_url is not None
        await _admin_async(
            self.server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'
        )

    def close(self) -> None:
        if self.backend == "postgresql":
            assert self.server_url is not None
            asyncio.run(
                _admin_async(
                    self.server_url, f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'
                )
            )


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_async(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()
