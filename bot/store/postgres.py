"""The PostgreSQL backend (asyncpg), for DATABASE_URL=postgresql://...: several copies of the bot, each with its
slice of the gateway shards, share one database."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from bot.store.sql import Row, SqlStore

CONNECT_TIMEOUT_SECONDS = 3.0
COMMAND_TIMEOUT_SECONDS = 3.0
MIGRATION_LOCK = 0x77686F68   # pg_advisory_xact_lock key ("whoh"): one copy migrates at a time


@lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """`?` placeholders → `$1`, `$2`, ... (our SQL has no `?` inside a string literal)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresStore(SqlStore):
    backend = "postgresql"

    def __init__(self, url: str, clock: Any = time.time, *, max_connections: int = 5):
        super().__init__(clock)
        self.url = url
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    async def open(self) -> None:
        """Connect and migrate. Called again after a failure, it starts a fresh pool."""
        async with self._opening:
            await self.close()
            pool = await asyncpg.create_pool(self.url, min_size=0, max_size=self.max_connections,
                                             timeout=CONNECT_TIMEOUT_SECONDS, command_timeout=COMMAND_TIMEOUT_SECONDS)
            try:
                await self._migrate_with(pool)
            except BaseException:
                pool.terminate()
                raise
            self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()    # never waits on a database that went away

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                opened = self._pool is not None   # another caller opened it meanwhile
            if not opened:
                await self.open()
        assert self._pool is not None
        return self._pool

    async def _fetch(self, sql: str, *args: Any) -> list[Row]:
        pool = await self._get_pool()
        return [tuple(record) for record in await pool.fetch(numbered(sql), *args)]

    async def _execute(self, sql: str, *args: Any) -> int:
        pool = await self._get_pool()
        status = await pool.execute(numbered(sql), *args)
        count = status.rsplit(" ", 1)[-1]     # "INSERT 0 1", "DELETE 3", "UPDATE 0"
        return int(count) if count.isdigit() else 0

    async def _transaction(self, work: Sequence[tuple[str, Sequence[Any]]]) -> None:
        pool = await self._get_pool()
        async with pool.acquire() as connection, connection.transaction():
            for sql, args in work:
                await connection.execute(numbered(sql), *args)

    async def _migrate_locked(self, pending: Any) -> None:
        await self._migrate_with(await self._get_pool(), pending)

    async def _migrate_with(self, pool: asyncpg.Pool, pending: Any = None) -> None:
        pending = pending or self._apply_pending
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)

            async def fetch(sql: str) -> list[Row]:
                return [tuple(record) for record in await connection.fetch(sql)]

            async def run(script: list[str], then: Sequence[tuple[str, Sequence[Any]]]) -> None:
                for sql in script:
                    await connection.execute(sql)
                for sql, args in then:
                    await connection.execute(numbered(sql), *args)

            await pending(fetch, run)
