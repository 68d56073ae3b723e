"""The queries, written once for both backends.

`SqlStore` implements the Store interface on three primitives its backends supply (`_fetch`, `_execute` and a
transaction that runs a list of statements); statements use `?` placeholders, which the PostgreSQL backend numbers.
Migrations are the numbered files in `migrations/`, applied in order at start inside one transaction each, and
recorded in `schema_version`; both backends take a lock first, so two copies starting together apply each once.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from bot.store.models import (
    EVERY_TOPIC,
    QUESTION_LIMIT,
    SETTING_FIELDS,
    GuildSettings,
    HelpNote,
    Pin,
    Stats,
    TopicWeek,
    iso_week,
    normalise_alias,
    weeks_back,
)

Row = Sequence[Any]
AnswerCount = tuple[int, str | None, str, str | None]   # guild id, topic id, status, question
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
FEEDBACK_KINDS = ("helpful", "unhelpful", "report")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every numbered file in migrations/, in order."""
    found = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, ... without gaps; found {versions}")
    return found


def statements(script: str) -> list[str]:
    """A migration file split into statements (comments dropped; no statement of ours contains a semicolon)."""
    text = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [part.strip() for part in text.split(";") if part.strip()]


def _flag(value: Any) -> bool:
    return bool(value)


class SqlStore(abc.ABC):
    backend = "sql"

    def __init__(self, clock: Any = time.time):
        self.clock = clock

    # --- what a backend supplies -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def _fetch(self, sql: str, *args: Any) -> list[Row]: ...

    @abc.abstractmethod
    async def _execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed."""

    @abc.abstractmethod
    async def _transaction(self, work: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run statements together: all or none."""

    @abc.abstractmethod
    async def _migrate_locked(self, pending: Any) -> None:
        """Take the backend's migration lock, then call `await pending(fetch, execute_script)`."""

    # --- migrations ----------------------------------------------------------------------------------------------

    async def migrate(self) -> int:
        """Apply the migrations not applied yet; the schema version after."""
        await self._migrate_locked(self._apply_pending)
        return await self.schema_version()

    async def _apply_pending(self, fetch: Any, run: Any) -> None:
        await run(["CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT "
                   "NULL, name TEXT NOT NULL)"], [])
        applied = {row[0] for row in await fetch("SELECT version FROM schema_version")}
        for version, name, script in migrations():
            if version not in applied:
                await run(statements(script),
                          [("INSERT INTO schema_version (version, applied_at, name) VALUES (?, ?, ?)",
                            (version, int(self.clock()), name))])

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # --- settings --------------------------------------------------------------------------------------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        rows = await self._fetch(f"SELECT {', '.join(SETTING_FIELDS)} FROM guild_settings WHERE guild_id = ?",
                                 guild_id)
        channels = frozenset(row[0] for row in await self._fetch(
            "SELECT channel_id FROM answer_channels WHERE guild_id = ?", guild_id))
        if not rows:
            return GuildSettings(channels=channels)
        values = dict(zip(SETTING_FIELDS, rows[0], strict=True))
        values["private_default"] = _flag(values["private_default"])
        values["keep_unanswered_text"] = _flag(values["keep_unanswered_text"])
        return GuildSettings(channels=channels, **values)

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> bool:
        unknown = set(changes) - set(SETTING_FIELDS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        values = {name: int(value) if isinstance(value, bool) else value for name, value in changes.items()}
        names = list(values)
        updates = ", ".join(f"{name} = excluded.{name}" for name in names) or "guild_id = excluded.guild_id"
        columns = ", ".join(["guild_id", *names])
        marks = ", ".join("?" * (len(names) + 1))
        await self._execute(f"INSERT INTO guild_settings ({columns}) VALUES ({marks}) "
                            f"ON CONFLICT (guild_id) DO UPDATE SET {updates}", guild_id, *values.values())
        return True

    async def set_answer_channel(self, guild_id: int, channel_id: int, allowed: bool) -> bool:
        if allowed:
            await self._execute("INSERT INTO answer_channels (guild_id, channel_id) VALUES (?, ?) "
                                "ON CONFLICT (guild_id, channel_id) DO NOTHING", guild_id, channel_id)
        else:
            await self._execute("DELETE FROM answer_channels WHERE guild_id = ? AND channel_id = ?",
                                guild_id, channel_id)
        return True

    async def clear_answer_channels(self, guild_id: int) -> bool:
        await self._execute("DELETE FROM answer_channels WHERE guild_id = ?", guild_id)
        return True

    # --- local help --------------------------------------------------------------------------------------------

    async def help_notes(self, guild_id: int, topic_id: str | None = None) -> list[HelpNote]:
        """A topic's notes and the notes for every answer; with no topic, every note of the server."""
        if topic_id is None:
            rows = await self._fetch("SELECT note_id, topic_id, body FROM help_notes WHERE guild_id = ? "
                                     "ORDER BY note_id", guild_id)
        else:
            rows = await self._fetch("SELECT note_id, topic_id, body FROM help_notes WHERE guild_id = ? AND "
                                     "topic_id IN (?, ?) ORDER BY note_id", guild_id, topic_id, EVERY_TOPIC)
        return [HelpNote(int(row[0]), row[1], row[2]) for row in rows]

    async def add_help_note(self, guild_id: int, topic_id: str, body: str) -> int:
        """Its number in this server. Two copies adding at once collide on the key and one is retried."""
        await self._execute("INSERT INTO help_notes (guild_id, note_id, topic_id, body) "
                            "SELECT CAST(? AS BIGINT), COALESCE(MAX(note_id), 0) + 1, CAST(? AS TEXT), "
                            "CAST(? AS TEXT) FROM help_notes WHERE guild_id = ?",
                            guild_id, topic_id, body, guild_id)
        rows = await self._fetch("SELECT MAX(note_id) FROM help_notes WHERE guild_id = ?", guild_id)
        return int(rows[0][0])

    async def remove_help_note(self, guild_id: int, note_id: int) -> bool:
        return await self._execute("DELETE FROM help_notes WHERE guild_id = ? AND note_id = ?", guild_id,
                                   note_id) > 0

    # --- aliases -----------------------------------------------------------------------------------------------

    async def aliases(self, guild_id: int) -> dict[str, str]:
        rows = await self._fetch("SELECT alias, topic_id FROM aliases WHERE guild_id = ? ORDER BY alias", guild_id)
        return {row[0]: row[1] for row in rows}

    async def add_alias(self, guild_id: int, alias: str, topic_id: str) -> bool:
        await self._execute("INSERT INTO aliases (guild_id, alias, topic_id) VALUES (?, ?, ?) "
                            "ON CONFLICT (guild_id, alias) DO UPDATE SET topic_id = excluded.topic_id",
                            guild_id, normalise_alias(alias), topic_id)
        return True

    async def remove_alias(self, guild_id: int, alias: str) -> bool:
        return await self._execute("DELETE FROM aliases WHERE guild_id = ? AND alias = ?", guild_id,
                                   normalise_alias(alias)) > 0

    # --- statistics and feedback ---------------------------------------------------------------------------

    def _week(self) -> str:
        return iso_week(dt.datetime.fromtimestamp(self.clock(), dt.UTC).date())

    async def record_answer(self, guild_id: int, topic_id: str | None, status: str,
                            question: str | None = None) -> bool:
        """Count one answer (see record_answers)."""
        return await self.record_answers([(guild_id, topic_id, status, question)])

    async def record_answers(self, answers: Iterable[AnswerCount]) -> bool:
        """Count answers, each (guild id, topic id, status, question), in one transaction however many: one
        statement for each server, topic and status, and one for each question kept. The question's text is kept
        only for a miss, and only when the server turned that on (checked here, in the same statement, so no
        caller can keep it by mistake). The statements go in a fixed order, so that two copies of the bot writing
        at once on PostgreSQL take the rows' locks in the same order and never deadlock."""
        week = self._week()
        counts: Counter[tuple[int, str, str]] = Counter()
        kept: Counter[tuple[int, str]] = Counter()
        for guild_id, topic_id, status, question in answers:
            counts[(guild_id, topic_id or "", status)] += 1
            if status == "none" and question and question.strip():
                kept[(guild_id, " ".join(question.split())[:QUESTION_LIMIT])] += 1
        work: list[tuple[str, Sequence[Any]]] = [(
            "INSERT INTO answer_stats (guild_id, week, topic_id, status, n) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, week, topic_id, status) DO UPDATE SET n = answer_stats.n + excluded.n",
            (guild_id, week, topic_id, status, n)) for (guild_id, topic_id, status), n in sorted(counts.items())]
        work += [(
            "INSERT INTO unanswered (guild_id, week, question, n) "
            "SELECT CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT) FROM guild_settings "
            "WHERE guild_id = ? AND keep_unanswered_text = 1 "
            "ON CONFLICT (guild_id, week, question) DO UPDATE SET n = unanswered.n + excluded.n",
            (guild_id, week, text, n, guild_id)) for (guild_id, text), n in sorted(kept.items())]
        if work:
            await self._transaction(work)
        return True

    async def record_feedback(self, guild_id: int, topic_id: str, kind: str) -> bool:
        if kind not in FEEDBACK_KINDS:
            raise ValueError(f"feedback is one of {FEEDBACK_KINDS}, not {kind!r}")
        await self._execute("INSERT INTO feedback (guild_id, week, topic_id, kind, n) VALUES (?, ?, ?, ?, 1) "
                            "ON CONFLICT (guild_id, week, topic_id, kind) DO UPDATE SET n = feedback.n + 1",
                            guild_id, self._week(), topic_id, kind)
        return True

    async def forget_unanswered(self, guild_id: int) -> bool:
        await self._execute("DELETE FROM unanswered WHERE guild_id = ?", guild_id)
        return True

    async def stats(self, guild_id: int | None = None, weeks: int = 8, limit: int = 20) -> Stats:
        """For one server, or (None) across every server: the operator's view."""
        since = weeks_back(dt.datetime.fromtimestamp(self.clock(), dt.UTC).date(), weeks)
        where, args = ("week >= ?", [since]) if guild_id is None else ("guild_id = ? AND week >= ?",
                                                                      [guild_id, since])
        answers = await self._fetch(f"SELECT week, topic_id, status, SUM(n) FROM answer_stats WHERE {where} "
                                    "GROUP BY week, topic_id, status ORDER BY week DESC, SUM(n) DESC, topic_id",
                                    *args)
        feedback = await self._fetch(f"SELECT topic_id, kind, SUM(n) FROM feedback WHERE {where} "
                                     "GROUP BY topic_id, kind", *args)
        unanswered = await self._fetch(f"SELECT question, SUM(n) FROM unanswered WHERE {where} GROUP BY question "
                                       "ORDER BY SUM(n) DESC, question LIMIT ?", *args, limit)
        by_topic: dict[str, list[int]] = {}
        for topic_id, kind, count in feedback:
            by_topic.setdefault(topic_id, [0, 0, 0])[FEEDBACK_KINDS.index(kind)] += int(count)
        totals = [sum(counts[i] for counts in by_topic.values()) for i in range(3)]
        return Stats(
            answers=tuple(TopicWeek(row[0], row[1], row[2], int(row[3])) for row in answers),
            helpful=totals[0], unhelpful=totals[1], reports=totals[2],
            unanswered=tuple((row[0], int(row[1])) for row in unanswered),
            feedback_by_topic={topic: (c[0], c[1], c[2]) for topic, c in by_topic.items()},
        )

    # --- pins ----------------------------------------------------------------------------------------------

    async def record_pin(self, pin: Pin) -> bool:
        await self._execute(
            "INSERT INTO pins (message_id, guild_id, channel_id, topic_id, lang, table_version, via, pinned_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET topic_id = excluded.topic_id, "
            "lang = excluded.lang, table_version = excluded.table_version, via = excluded.via",
            pin.message_id, pin.guild_id, pin.channel_id, pin.topic_id, pin.lang, pin.table_version, pin.via,
            pin.pinned_at or int(self.clock()))
        return True

    async def pins(self, guild_id: int | None = None) -> list[Pin]:
        columns = "message_id, guild_id, channel_id, topic_id, lang, table_version, via, pinned_at"
        if guild_id is None:
            rows = await self._fetch(f"SELECT {columns} FROM pins ORDER BY pinned_at, message_id")
        else:
            rows = await self._fetch(f"SELECT {columns} FROM pins WHERE guild_id = ? ORDER BY pinned_at, message_id",
                                     guild_id)
        return [Pin(int(r[0]), int(r[1]), int(r[2]), r[3], r[4], r[5], r[6], int(r[7])) for r in rows]

    async def set_pin_version(self, message_id: int, table_version: str) -> bool:
        await self._execute("UPDATE pins SET table_version = ? WHERE message_id = ?", table_version, message_id)
        return True

    async def forget_pin(self, message_id: int) -> bool:
        return await self._execute("DELETE FROM pins WHERE message_id = ?", message_id) > 0
