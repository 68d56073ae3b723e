"""The SQLite backend (aiosqlite): one file under DATA_DIR, the default for a single copy of the bot."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.sql import Row, SqlStore

BUSY_TIMEOUT_MS = 2000     # two copies on one file wait this long for each other's write lock


class SqliteStore(SqlStore):
    backend = "sqlite"

    def __init__(self, path: Path, clock: Any = time.time):
        super().__init__(clock)
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()    # one statement or transaction at a time on the one connection

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    async def open(self) -> None:
        """Connect (creating the folder and the file) and migrate. Called again after a failure, it reconnects."""
        async with self._lock:
            await self._reopen()

    async def migrate(self) -> int:
        async with self._lock:
            await self._connection()
        return await self.schema_version()

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    async def _reopen(self) -> None:
        await self._close()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connecting = aiosqlite.connect(self.path, isolation_level=None)   # autocommit; transactions say BEGIN
        # aiosqlite runs the connection in a non-daemon thread: one left open (a shutdown cut short) would keep
        # the process from exiting after SIGTERM. SQLite is crash-safe, so a daemon thread loses nothing committed.
        thread = getattr(connecting, "_thread", None)
        if thread is not None:
            thread.daemon = True
        db = await connecting
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")    # readers do not wait for a writer (two copies)
            await db.execute("PRAGMA synchronous = NORMAL")
            self._db = db
            await self._migrate_locked(self._apply_pending)
        except BaseException:
            self._db = None
            await db.close()
            raise

    async def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):   # a connection that broke closes as best it can
                await db.close()

    async def _connection(self) -> aiosqlite.Connection:
        """The connection, opened on first use (and again after a failure closed it); the caller holds the lock."""
        if self._db is None:
            await self._reopen()
        assert self._db is not None
        return self._db

    async def _fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            db = await self._connection()
            async with db.execute(sql, args) as cursor:
                return list(await cursor.fetchall())

    async def _execute(self, sql: str, *args: Any) -> int:
        async with self._lock:
            db = await self._connection()
            async with db.execute(sql, args) as cursor:
                return cursor.rowcount

    async def _transaction(self, work: Sequence[tuple[str, Sequence[Any]]]) -> None:
        async with self._lock:
            db = await self._connection()
            await self._run_in_transaction(db, work)

    @staticmethod
    async def _run_in_transaction(db: aiosqlite.Connection, work: Sequence[tuple[str, Sequence[Any]]]) -> None:
        await db.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in work:
                await db.execute(sql, tuple(args))
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")

    async def _migrate_locked(self, pending: Any) -> None:
        # BEGIN IMMEDIATE takes the file's write lock: a second copy starting at once waits, then sees the versions.
        # The caller holds the lock.
        db = self._db
        assert db is not None
        await db.execute("BEGIN IMMEDIATE")
        try:
            async def fetch(sql: str) -> list[Row]:
                async with db.execute(sql) as cursor:
                    return list(await cursor.fetchall())

            async def run(script: list[str], then: Sequence[tuple[str, Sequence[Any]]]) -> None:
                for sql in script:
                    await db.execute(sql)
                for sql, args in then:
                    await db.execute(sql, tuple(args))

            await pending(fetch, run)
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
