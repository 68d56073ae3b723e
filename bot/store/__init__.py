"""What each server owns: settings, local help notes, aliases, feedback, statistics, unanswered questions, pins.

One small async interface (`Store`), two backends: SQLite (aiosqlite) in a file under DATA_DIR by default, and
PostgreSQL (asyncpg) when DATABASE_URL=postgresql://..., so that several copies of the bot share one database.
The bot talks to a `SafeStore`, which never raises: see safe.py. Schema changes are the numbered SQL files in
migrations/, applied at start (sql.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from bot.store.models import EVERY_TOPIC, GuildSettings, HelpNote, Pin, Stats, TopicWeek
from bot.store.safe import SafeStore

__all__ = ["EVERY_TOPIC", "GuildSettings", "HelpNote", "Pin", "SafeStore", "Stats", "Store", "TopicWeek",
           "backend_for", "open_store"]

SQLITE_FILE = "who-handles.sqlite3"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Store(Protocol):
    """The interface both backends implement (and SafeStore wraps). Writes return True when written."""

    backend: str

    async def open(self) -> Any: ...
    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...

    async def guild_settings(self, guild_id: int) -> GuildSettings: ...
    async def update_guild_settings(self, guild_id: int, **changes: Any) -> bool: ...
    async def set_answer_channel(self, guild_id: int, channel_id: int, allowed: bool) -> bool: ...
    async def clear_answer_channels(self, guild_id: int) -> bool: ...

    async def help_notes(self, guild_id: int, topic_id: str | None = None) -> list[HelpNote]: ...
    async def add_help_note(self, guild_id: int, topic_id: str, body: str) -> int | None: ...
    async def remove_help_note(self, guild_id: int, note_id: int) -> bool | None: ...

    async def aliases(self, guild_id: int) -> dict[str, str]: ...
    async def add_alias(self, guild_id: int, alias: str, topic_id: str) -> bool: ...
    async def remove_alias(self, guild_id: int, alias: str) -> bool | None: ...

    async def record_answer(self, guild_id: int, topic_id: str | None, status: str,
                            question: str | None = None) -> bool: ...
    async def record_answers(self, answers: Iterable[tuple[int, str | None, str, str | None]]) -> bool: ...
    async def record_feedback(self, guild_id: int, topic_id: str, kind: str) -> bool: ...
    async def forget_unanswered(self, guild_id: int) -> bool: ...
    async def stats(self, guild_id: int | None = None, weeks: int = 8, limit: int = 20) -> Stats | None: ...

    async def record_pin(self, pin: Pin) -> bool: ...
    async def pins(self, guild_id: int | None = None) -> list[Pin] | None: ...
    async def set_pin_version(self, message_id: int, table_version: str) -> bool: ...
    async def forget_pin(self, message_id: int) -> bool | None: ...


def backend_for(data_dir: Path, database_url: str | None = None, *, memory: bool = False) -> Store:
    """PostgreSQL for a postgresql:// URL, else SQLite in DATA_DIR (imports only the driver in use); with memory,
    a SQLite database that lives as long as the process (tests, `who-handles sync`)."""
    if database_url:
        if not database_url.startswith(POSTGRES_SCHEMES):
            raise ValueError("DATABASE_URL must start with postgresql://")
        from bot.store.postgres import PostgresStore
        return PostgresStore(database_url)
    from bot.store.sqlite import SqliteStore
    return SqliteStore(Path(":memory:") if memory else Path(data_dir) / SQLITE_FILE)


async def open_store(data_dir: Path, database_url: str | None = None) -> SafeStore:
    """The store the bot uses, opened and migrated; when the database is down it is still returned (and logs it)."""
    store = SafeStore(backend_for(data_dir, database_url))
    await store.open()
    return store
