"""The store on both backends, for any test that needs one: `store_backend` is parametrized over SQLite and
PostgreSQL. PostgreSQL runs when DATABASE_URL points at a server (.ci/run starts one); each test gets a schema of
its own, dropped after. Locally without DATABASE_URL the PostgreSQL half is skipped; under CI it fails instead.

`Outage` takes either database away and brings it back: PostgreSQL through a TCP proxy on 127.0.0.1 that drops every
connection and refuses new ones (what a stopped server looks like to the bot), SQLite by breaking the open
connection and putting a folder where the file was (what a lost volume looks like).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore

BACKENDS = ("sqlite", "postgresql")


def database_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("CI must run the store's tests on PostgreSQL too: .ci/run sets DATABASE_URL")
    pytest.skip("PostgreSQL: set DATABASE_URL=postgresql://... (as .ci/run does) to run this half")
    return None


class TcpProxy:
    """127.0.0.1:port → target; `cut()` closes every connection and stops listening, `restore()` listens again on
    the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()


class Outage:
    def __init__(self, backend: str, *, proxy: TcpProxy | None = None, path: Path | None = None,
                 stores: list[Any] | None = None):
        self.backend, self.proxy, self.path, self.stores = backend, proxy, path, stores or []

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.cut()
            return
        assert self.path is not None
        self.path.rename(self.path.with_suffix(".away"))
        self.path.mkdir()              # nothing can open the database there now...
        for store in self.stores:      # ...and the open connection breaks, as when its volume goes away
            inner = getattr(store, "inner", store)
            if isinstance(inner, SqliteStore) and inner._db is not None:
                await inner._db.close()

    async def start(self) -> None:
        if self.proxy is not None:
            await self.proxy.restore()
            return
        assert self.path is not None
        self.path.rmdir()
        self.path.with_suffix(".away").rename(self.path)


class Backend:
    """Where a test's database lives: `make()` builds a new backend store on it (two calls: two copies of the bot
    sharing the database); `url` / `data_dir` are what the bot process would be given."""

    def __init__(self, name: str, tmp_path: Path, url: str | None = None, proxy: TcpProxy | None = None):
        self.name, self.tmp_path, self.url, self.proxy = name, tmp_path, url, proxy
        self.data_dir = tmp_path / "data"
        self.made: list[Any] = []

    def make(self, **kwargs: Any) -> SqliteStore | PostgresStore:
        store: SqliteStore | PostgresStore
        if self.name == "sqlite":
            store = SqliteStore(self.data_dir / "who-handles.sqlite3", **kwargs)
        else:
            assert self.url is not None
            store = PostgresStore(self.url, **kwargs)
        self.made.append(store)
        return store

    def outage(self, *stores: Any) -> Outage:
        if self.name == "sqlite":
            return Outage("sqlite", path=self.data_dir / "who-handles.sqlite3", stores=list(stores))
        assert self.proxy is not None
        return Outage("postgresql", proxy=self.proxy)

    def environment(self) -> dict[str, str]:
        """The settings a bot process needs to use this database."""
        if self.name == "sqlite":
            return {"DATA_DIR": str(self.data_dir)}
        assert self.url is not None
        return {"DATABASE_URL": self.url, "DATA_DIR": str(self.data_dir)}


def _with_schema(url: str, schema: str, port: int | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if port is not None:
        credentials, _, _host = netloc.rpartition("@")
        netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    query = "&".join(filter(None, [parts.query, f"search_path={schema}"]))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@pytest.fixture(params=BACKENDS)
async def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        backend = Backend("sqlite", tmp_path)
        yield backend
        for store in backend.made:
            await store.close()
        shutil.rmtree(backend.data_dir, ignore_errors=True)
        return
    import asyncpg

    url = database_url()
    assert url is not None
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    backend = Backend("postgresql", tmp_path, _with_schema(url, schema, proxy.port), proxy)
    try:
        yield backend
    finally:
        for store in backend.made:
            await store.close()
        await proxy.cut()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
