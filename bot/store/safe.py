"""The store as the bot sees it: a database that is down never stops an answer.

Every call has a time limit. A write that fails is tried once more (a pooled connection may have died with a
restart); a read that fails, or a write that fails twice, falls back: a read returns its default (a server's
settings as if it had never set any, no notes, no aliases) and a write is dropped. The first failure logs one
line and the store then stays out of the way for `RETRY_AFTER_SECONDS` (no call waits on a dead database
meanwhile); the first success after it logs one line with the number of writes dropped. Nothing raises to the
caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.store.models import GuildSettings, HelpNote, Pin, Stats
from bot.store.sql import AnswerCount

log = logging.getLogger("who_handles.store")

T = TypeVar("T")
CALL_TIMEOUT_SECONDS = 1.0    # Discord gives an answer 3 s; a read must leave room for the reply
RETRY_AFTER_SECONDS = 5.0
COUNTERS = frozenset({"record_answer", "record_answers", "record_feedback", "forget_unanswered", "record_pin",
                      "set_pin_version", "forget_pin"})   # writes that change nothing an answer reads
CACHE_SECONDS = 5.0    # a server's settings, notes and aliases are read on every answer: kept this long


class SafeStore:
    """Wraps a backend (SqliteStore, PostgresStore) with the policy above; same methods, never raises."""

    def __init__(self, inner: Any, *, clock: Callable[[], float] = time.monotonic,
                 timeout: float = CALL_TIMEOUT_SECONDS, retry_after: float = RETRY_AFTER_SECONDS,
                 cache_seconds: float = CACHE_SECONDS):
        self.inner, self.clock, self.timeout, self.retry_after = inner, clock, timeout, retry_after
        # What every answer reads (settings, notes, aliases), kept a few seconds: another copy of the bot sees a
        # change within that; this copy's own changes clear it at once.
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self.backend: str = inner.backend
        self.down_since: float | None = None
        self._skip_until = 0.0
        self.dropped = 0
        self._counts: list[AnswerCount] = []   # answers counted and not written yet (see count_answer)
        self._writing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SafeStore({self.inner!r})"

    @property
    def available(self) -> bool:
        return self.down_since is None

    async def _cached(self, key: tuple[Any, ...], make: Callable[[], Awaitable[T]], default: T) -> T:
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await self._call(key[0], make, default, write=False)
        if self.cache_seconds > 0 and self.available:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.cache_seconds, value)
        return value

    async def _call(self, name: str, make: Callable[[], Awaitable[T]], default: T, *, write: bool,
                    writes: int = 1) -> T:
        if write and name not in COUNTERS:
            self._cache.clear()
        if self.down_since is not None and self.clock() < self._skip_until:
            return self._fallback(name, default, write, writes)
        error: BaseException | None = None
        for _attempt in range(2 if write else 1):    # a read falls back at once: an answer is waiting on it
            try:
                result = await asyncio.wait_for(make(), self.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as failure:    # the point of this class: nothing reaches the caller
                error = failure
                await self._reset()
                continue
            self._recovered()
            return result
        self._went_down(name, error)
        return self._fallback(name, default, write, writes)

    def _fallback(self, name: str, default: T, write: bool, writes: int = 1) -> T:
        if write:
            self.dropped += writes
            log.debug("store unavailable: dropped %s", name)
        return default

    def _went_down(self, name: str, error: BaseException | None) -> None:
        self._skip_until = self.clock() + self.retry_after
        if self.down_since is None:
            self.down_since = self.clock()
            detail = f"{type(error).__name__}: {error}"[:300] if error else "unknown error"
            log.warning("database unavailable (%s, in %s): answering from the table with default settings and "
                        "dropping writes until it is back", detail, name)

    def _recovered(self) -> None:
        if self.down_since is not None:
            log.warning("database back after %.0f s; %d writes were dropped meanwhile",
                        self.clock() - self.down_since, self.dropped)
            self.down_since, self.dropped = None, 0

    async def _reset(self) -> None:
        with contextlib.suppress(Exception):   # a connection that broke closes as best it can
            await asyncio.wait_for(self.inner.close(), self.timeout)

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def open(self) -> bool:
        """Connect and migrate; False (logged) when the database cannot be reached: the bot starts anyway."""
        async def opened() -> bool:
            await self.inner.open()
            return True
        return await self._call("open", opened, False, write=False)

    async def close(self) -> None:
        """Write the answers still counted in memory, then close."""
        await self.settled()
        await self._reset()

    async def schema_version(self) -> int:
        return await self._call("schema_version", self.inner.schema_version, 0, write=False)

    # --- reads: a default when down ------------------------------------------------------------------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        return await self._cached(("guild_settings", guild_id), lambda: self.inner.guild_settings(guild_id),
                                  GuildSettings())

    async def help_notes(self, guild_id: int, topic_id: str | None = None) -> list[HelpNote]:
        return list(await self._cached(("help_notes", guild_id, topic_id),
                                       lambda: self.inner.help_notes(guild_id, topic_id), []))

    async def aliases(self, guild_id: int) -> dict[str, str]:
        return dict(await self._cached(("aliases", guild_id), lambda: self.inner.aliases(guild_id), {}))

    async def stats(self, guild_id: int | None = None, weeks: int = 8, limit: int = 20) -> Stats | None:
        """None when down: a moderator asking for statistics is told, not shown zeros. The answers counted so far
        are in them."""
        await self.settled()
        return await self._call("stats", lambda: self.inner.stats(guild_id, weeks, limit), None, write=False)

    async def pins(self, guild_id: int | None = None) -> list[Pin] | None:
        return await self._call("pins", lambda: self.inner.pins(guild_id), None, write=False)

    # --- writes: True (or the new note's number) when written, False/None when dropped ------------------------

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> bool:
        return await self._call("update_guild_settings", lambda: self.inner.update_guild_settings(guild_id, **changes),
                                False, write=True)

    async def set_answer_channel(self, guild_id: int, channel_id: int, allowed: bool) -> bool:
        return await self._call("set_answer_channel",
                                lambda: self.inner.set_answer_channel(guild_id, channel_id, allowed), False, write=True)

    async def clear_answer_channels(self, guild_id: int) -> bool:
        return await self._call("clear_answer_channels", lambda: self.inner.clear_answer_channels(guild_id), False,
                                write=True)

    async def add_help_note(self, guild_id: int, topic_id: str, body: str) -> int | None:
        return await self._call("add_help_note", lambda: self.inner.add_help_note(guild_id, topic_id, body), None,
                                write=True)

    async def remove_help_note(self, guild_id: int, note_id: int) -> bool | None:
        return await self._call("remove_help_note", lambda: self.inner.remove_help_note(guild_id, note_id), None,
                                write=True)

    async def add_alias(self, guild_id: int, alias: str, topic_id: str) -> bool:
        return await self._call("add_alias", lambda: self.inner.add_alias(guild_id, alias, topic_id), False,
                                write=True)

    async def remove_alias(self, guild_id: int, alias: str) -> bool | None:
        return await self._call("remove_alias", lambda: self.inner.remove_alias(guild_id, alias), None, write=True)

    async def record_answer(self, guild_id: int, topic_id: str | None, status: str,
                            question: str | None = None) -> bool:
        return await self._call("record_answer", lambda: self.inner.record_answer(guild_id, topic_id, status, question),
                                False, write=True)

    def count_answer(self, guild_id: int, topic_id: str | None, status: str, question: str | None = None) -> None:
        """Count an answer (as record_answer does) without waiting for the database. The answers counted while a
        write is on its way go together in the next one, one transaction however many: at full load the writes
        neither queue up one an answer nor hold up the reads that answers wait on (settings, notes), which
        otherwise timed out behind them; a quiet bot writes each at once. settled() waits for them."""
        self._counts.append((guild_id, topic_id, status, question))
        if self._writing is None:
            self._writing = asyncio.ensure_future(self._write_counts())

    async def _write_counts(self) -> None:
        try:
            while self._counts:
                counted, self._counts = self._counts, []
                await self._call("record_answers", functools.partial(self.inner.record_answers, counted), False,
                                 write=True, writes=len(counted))
        finally:
            self._writing = None

    async def settled(self) -> None:
        """Until every answer counted so far has been written (or dropped, as any write while the database is
        down)."""
        while self._writing is not None:
            await asyncio.shield(self._writing)

    async def record_feedback(self, guild_id: int, topic_id: str, kind: str) -> bool:
        return await self._call("record_feedback", lambda: self.inner.record_feedback(guild_id, topic_id, kind), False,
                                write=True)

    async def forget_unanswered(self, guild_id: int) -> bool:
        return await self._call("forget_unanswered", lambda: self.inner.forget_unanswered(guild_id), False,
                                write=True)

    async def record_pin(self, pin: Pin) -> bool:
        return await self._call("record_pin", lambda: self.inner.record_pin(pin), False, write=True)

    async def set_pin_version(self, message_id: int, table_version: str) -> bool:
        return await self._call("set_pin_version", lambda: self.inner.set_pin_version(message_id, table_version),
                                False, write=True)

    async def forget_pin(self, message_id: int) -> bool | None:
        return await self._call("forget_pin", lambda: self.inner.forget_pin(message_id), None, write=True)
