"""The store (bot/store): the same tests on SQLite and PostgreSQL (see tests/storefixtures.py)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.store import EVERY_TOPIC, GuildSettings, Pin, SafeStore, backend_for
from bot.store.models import iso_week
from bot.store.sql import migrations
from bot.store.sqlite import SqliteStore

GUILD, OTHER = 800000000000000001, 800000000000000002
CHANNEL = 700000000000000001
WEEK_49 = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC).timestamp()   # a Friday of ISO week 2026-W49


class WallClock:
    def __init__(self, now: float = WEEK_49):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Monotonic(WallClock):
    def __init__(self) -> None:
        super().__init__(1000.0)


async def opened(backend, **kwargs):
    store = backend.make(**kwargs)
    await store.open()
    return store


# --- migrations -------------------------------------------------------------------------------------------------

async def test_migrations_are_applied_at_start_once_and_recorded(store_backend):
    first = await opened(store_backend)
    assert await first.schema_version() == len(migrations()) >= 1
    second = await opened(store_backend)          # a second copy starting on the same database: nothing to do
    assert await second.schema_version() == len(migrations())
    rows = await first._fetch("SELECT version, name FROM schema_version ORDER BY version")
    assert [(row[0], row[1]) for row in rows] == [(version, name) for version, name, _ in migrations()]


async def test_no_table_has_a_column_for_a_user(store_backend):
    store = await opened(store_backend)
    if store_backend.name == "sqlite":
        tables = [row[0] for row in await store._fetch("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = [row[1] for table in tables for row in await store._fetch(f"PRAGMA table_info({table})")]
    else:
        columns = [row[0] for row in await store._fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()")]
    assert "guild_id" in columns and "topic_id" in columns
    assert not [column for column in columns if "user" in column or "member" in column or "author" in column]


# --- settings ---------------------------------------------------------------------------------------------------

async def test_a_server_that_set_nothing_gets_the_defaults(store_backend):
    store = await opened(store_backend)
    assert await store.guild_settings(GUILD) == GuildSettings()


async def test_settings_round_trip_per_server(store_backend):
    store = await opened(store_backend)
    assert await store.update_guild_settings(GUILD, language="es", private_default=True, pin_role_id=555,
                                             repeat_window_seconds=120, rate_count=3, rate_seconds=60,
                                             report_channel_id=CHANNEL, keep_unanswered_text=True)
    await store.update_guild_settings(GUILD, language=None)      # back to the server's locale
    await store.set_answer_channel(GUILD, CHANNEL, True)
    await store.set_answer_channel(GUILD, CHANNEL + 1, True)
    await store.set_answer_channel(GUILD, CHANNEL + 1, False)
    settings = await store.guild_settings(GUILD)
    assert settings == GuildSettings(language=None, private_default=True, channels=frozenset({CHANNEL}),
                                     pin_role_id=555, repeat_window_seconds=120, rate_count=3, rate_seconds=60,
                                     report_channel_id=CHANNEL, keep_unanswered_text=True)
    assert await store.guild_settings(OTHER) == GuildSettings()
    with pytest.raises(ValueError, match="unknown settings"):
        await store.update_guild_settings(GUILD, user_id=1)


# --- local help and aliases -------------------------------------------------------------------------------------

async def test_help_notes_are_numbered_per_server_and_shown_for_their_topic_or_every_answer(store_backend):
    store = await opened(store_backend)
    assert await store.add_help_note(GUILD, EVERY_TOPIC, "Our clinic: Tuesdays 6 pm") == 1
    assert await store.add_help_note(GUILD, "detention", "Rapid response: https://example.org/rr") == 2
    assert await store.add_help_note(OTHER, "detention", "Another server's note") == 1
    assert [n.note_id for n in await store.help_notes(GUILD, "detention")] == [1, 2]
    assert [n.body for n in await store.help_notes(GUILD, "asylum")] == ["Our clinic: Tuesdays 6 pm"]
    assert await store.remove_help_note(GUILD, 1) is True
    assert await store.remove_help_note(GUILD, 1) is False
    assert [n.note_id for n in await store.help_notes(GUILD)] == [2]
    assert await store.add_help_note(GUILD, EVERY_TOPIC, "Third") == 3


async def test_aliases_are_normalised_replaced_and_removed(store_backend):
    store = await opened(store_backend)
    await store.add_alias(GUILD, "  La   MIGRA ", "ice-ero")
    await store.add_alias(GUILD, "la migra", "detention")          # the same words again: now another topic
    await store.add_alias(GUILD, "Ñandú   court", "immigration-court")
    assert await store.aliases(GUILD) == {"la migra": "detention", "ñandú court": "immigration-court"}
    assert await store.aliases(OTHER) == {}
    assert await store.remove_alias(GUILD, "LA MIGRA") is True
    assert await store.aliases(GUILD) == {"ñandú court": "immigration-court"}


# --- statistics, feedback, unanswered ---------------------------------------------------------------------------

async def test_answers_are_counted_by_topic_and_week_and_feedback_gives_the_ratio(store_backend):
    clock = WallClock()
    store = await opened(store_backend, clock=clock)
    for _ in range(3):
        await store.record_answer(GUILD, "detention", "match")
    await store.record_answer(GUILD, None, "none", "something we never heard of")
    clock.now += 7 * 86400                                       # the next week
    await store.record_answer(GUILD, "detention", "match")
    await store.record_answer(OTHER, "asylum", "match")
    await store.record_feedback(GUILD, "detention", "helpful")
    await store.record_feedback(GUILD, "detention", "helpful")
    await store.record_feedback(GUILD, "detention", "helpful")
    await store.record_feedback(GUILD, "detention", "unhelpful")
    await store.record_feedback(GUILD, "detention", "report")
    stats = await store.stats(GUILD)
    rows = {(row.week, row.topic_id, row.status): row.answers for row in stats.answers}
    assert rows == {("2026-W49", "detention", "match"): 3, ("2026-W49", "", "none"): 1,
                    ("2026-W50", "detention", "match"): 1}
    assert stats.answers[0].week == "2026-W50"                   # newest first
    assert (stats.helpful, stats.unhelpful, stats.reports) == (3, 1, 1) and stats.helpful_ratio == 0.75
    assert stats.feedback_by_topic == {"detention": (3, 1, 1)}
    everywhere = await store.stats(None)
    assert everywhere.total_answers == 6 and {row.topic_id for row in everywhere.answers} == {"detention", "", "asylum"}
    assert (await store.stats(GUILD, weeks=1)).total_answers == 1
    with pytest.raises(ValueError):
        await store.record_feedback(GUILD, "detention", "angry")


async def test_answers_counted_together_are_written_in_one_transaction_as_if_one_by_one(store_backend):
    store = await opened(store_backend, clock=WallClock())
    await store.update_guild_settings(GUILD, keep_unanswered_text=True)
    await store.record_answer(GUILD, "detention", "match")
    transactions: list[int] = []
    write = store._transaction

    async def counted(work):   # the real store's transaction, counted
        transactions.append(len(work))
        await write(work)

    store._transaction = counted
    safe = SafeStore(store, cache_seconds=0)
    for _ in range(3):
        safe.count_answer(GUILD, "detention", "match")
    safe.count_answer(GUILD, None, "none", "who handles   my goat")
    safe.count_answer(GUILD, None, "none", "who handles my goat")
    safe.count_answer(GUILD, "asylum", "match", "asylum")          # matched questions never keep text
    safe.count_answer(OTHER, None, "none", "another server's question")
    stats = await safe.stats(GUILD)                                # with every answer counted so far
    assert {(row.topic_id, row.status): row.answers for row in stats.answers} == {
        ("detention", "match"): 4, ("", "none"): 2, ("asylum", "match"): 1}
    assert stats.unanswered == (("who handles my goat", 2),)
    assert (await safe.stats(OTHER)).total_answers == 1 and (await safe.stats(OTHER)).unanswered == ()
    # One transaction: a statement for each server, topic and status (4) and for each question (2; the statement
    # itself keeps only those of a server that turned it on).
    assert transactions == [6]


async def test_answers_counted_while_the_database_is_down_are_dropped_and_told(store_backend, caplog):
    clock = Monotonic()
    safe = SafeStore(store_backend.make(), clock=clock, timeout=2.0, cache_seconds=0)
    assert await safe.open()
    outage = store_backend.outage(safe)
    caplog.set_level(logging.WARNING, logger="who_handles.store")
    await outage.stop()
    for _ in range(3):
        safe.count_answer(GUILD, "asylum", "match")
    await safe.settled()
    assert not safe.available and safe.dropped == 3
    await outage.start()
    clock.now += 5.0
    assert await safe.stats(GUILD) is not None
    assert "3 writes were dropped" in caplog.records[-1].getMessage()


async def test_the_text_of_unanswered_questions_is_kept_only_when_the_server_turned_it_on(store_backend):
    store = await opened(store_backend, clock=WallClock())
    await store.record_answer(GUILD, None, "none", "who handles my neighbour's goat")
    assert (await store.stats(GUILD)).unanswered == ()            # not turned on: counted, text not kept
    await store.update_guild_settings(GUILD, keep_unanswered_text=True)
    await store.record_answer(GUILD, None, "none", "who handles   my neighbour's goat")
    await store.record_answer(GUILD, None, "none", "who handles my neighbour's goat")
    await store.record_answer(GUILD, None, "none", "x" * 5000)
    await store.record_answer(GUILD, "asylum", "match", "asylum")  # matched questions never keep text
    await store.record_answer(OTHER, None, "none", "another server's question")
    stats = await store.stats(GUILD)
    assert stats.unanswered == (("who handles my neighbour's goat", 2), ("x" * 300, 1))
    assert (await store.stats(OTHER)).unanswered == ()
    assert (await store.stats(None)).unanswered == stats.unanswered
    await store.forget_unanswered(GUILD)
    assert (await store.stats(GUILD)).unanswered == ()


# --- pins -----------------------------------------------------------------------------------------------------

async def test_pins_are_recorded_with_topic_and_table_version(store_backend):
    store = await opened(store_backend, clock=WallClock())
    pin = Pin(message_id=1_000_000_000_000_000_001, guild_id=GUILD, channel_id=CHANNEL, topic_id="asylum",
              lang="es", table_version="2026-12-01", via="button")
    await store.record_pin(pin)
    await store.record_pin(Pin(1_000_000_000_000_000_002, OTHER, CHANNEL, "detention", "en", "2026-12-01", "menu"))
    [saved] = await store.pins(GUILD)
    assert saved == Pin(pin.message_id, GUILD, CHANNEL, "asylum", "es", "2026-12-01", "button", int(WEEK_49))
    await store.set_pin_version(pin.message_id, "2026-12-04")
    assert [p.table_version for p in await store.pins(GUILD)] == ["2026-12-04"]
    assert len(await store.pins()) == 2
    assert await store.forget_pin(pin.message_id) is True
    assert await store.pins(GUILD) == []


# --- several copies, one database ----------------------------------------------------------------------------

async def test_two_copies_of_the_bot_share_one_database(store_backend):
    one, two = await opened(store_backend), await opened(store_backend)
    await one.update_guild_settings(GUILD, private_default=True)
    await one.add_help_note(GUILD, EVERY_TOPIC, "Clinic")
    await two.add_help_note(GUILD, EVERY_TOPIC, "Hotline")
    await one.record_answer(GUILD, "asylum", "match")
    await two.record_answer(GUILD, "asylum", "match")
    assert (await two.guild_settings(GUILD)).private_default is True
    assert [n.body for n in await one.help_notes(GUILD)] == ["Clinic", "Hotline"]
    assert (await one.stats(GUILD)).total_answers == 2


# --- the database goes away --------------------------------------------------------------------------------------

async def test_a_database_that_goes_down_never_raises_reads_default_and_one_line_is_logged(store_backend, caplog):
    clock = Monotonic()
    store = SafeStore(store_backend.make(), clock=clock, timeout=2.0, retry_after=5.0, cache_seconds=0)
    assert await store.open()
    await store.update_guild_settings(GUILD, private_default=True)
    await store.add_help_note(GUILD, EVERY_TOPIC, "Clinic")
    assert (await store.guild_settings(GUILD)).private_default is True
    outage = store_backend.outage(store)
    caplog.set_level(logging.DEBUG, logger="who_handles.store")

    await outage.stop()
    assert await store.guild_settings(GUILD) == GuildSettings()     # defaults, at once
    assert await store.help_notes(GUILD, "asylum") == []
    assert await store.aliases(GUILD) == {}
    assert await store.record_answer(GUILD, "asylum", "match") is False
    assert await store.add_help_note(GUILD, EVERY_TOPIC, "lost") is None
    assert await store.stats(GUILD) is None and await store.pins(GUILD) is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "database unavailable" in warnings[0].getMessage()
    assert not store.available and store.dropped == 2

    await outage.start()
    assert await store.guild_settings(GUILD) == GuildSettings()     # still within the back-off: not asked yet
    clock.now += 5.0
    assert (await store.guild_settings(GUILD)).private_default is True
    assert store.available
    back = [r for r in caplog.records if r.levelno >= logging.WARNING][1:]
    assert len(back) == 1 and "2 writes were dropped" in back[0].getMessage()
    assert await store.record_answer(GUILD, "asylum", "match") is True
    assert [n.body for n in await store.help_notes(GUILD)] == ["Clinic"]


async def test_a_database_down_at_start_does_not_stop_the_bot(store_backend):
    clock = Monotonic()
    store = SafeStore(store_backend.make(), clock=clock, timeout=2.0, cache_seconds=0)
    outage = store_backend.outage(store)
    if store_backend.name == "sqlite":
        store_backend.data_dir.mkdir(parents=True)
        (store_backend.data_dir / "who-handles.sqlite3").touch()
    await outage.stop()
    assert await store.open() is False
    assert await store.guild_settings(GUILD) == GuildSettings()
    await outage.start()
    clock.now += 60
    assert await store.update_guild_settings(GUILD, language="es") is True   # connects and migrates on first use
    assert (await store.guild_settings(GUILD)).language == "es"


# --- which backend ----------------------------------------------------------------------------------------------

def test_the_backend_is_sqlite_under_data_dir_unless_database_url_is_postgresql(tmp_path):
    sqlite = backend_for(tmp_path)
    assert isinstance(sqlite, SqliteStore) and sqlite.path == tmp_path / "who-handles.sqlite3"
    postgres = backend_for(tmp_path, "postgresql://bot:hunter2@db:5432/whohandles")
    assert postgres.backend == "postgresql" and "hunter2" not in repr(postgres)
    with pytest.raises(ValueError, match="postgresql://"):
        backend_for(tmp_path, "mysql://db/whohandles")


def test_weeks_are_iso_weeks():
    assert iso_week(dt.date(2026, 1, 1)) == "2026-W01" and iso_week(dt.date(2027, 1, 1)) == "2026-W53"


async def test_what_every_answer_reads_is_cached_briefly_and_a_change_here_clears_it(store_backend):
    clock = Monotonic()
    one = SafeStore(store_backend.make(), clock=clock, cache_seconds=5.0)
    two = SafeStore(store_backend.make(), clock=clock, cache_seconds=5.0)     # another copy of the bot
    assert await one.open() and await two.open()
    assert (await one.guild_settings(GUILD)).private_default is False
    await two.update_guild_settings(GUILD, private_default=True)
    assert (await one.guild_settings(GUILD)).private_default is False       # the other copy's change: not yet
    assert (await two.guild_settings(GUILD)).private_default is True        # its own: at once
    clock.now += 5.0
    assert (await one.guild_settings(GUILD)).private_default is True
    await one.record_answer(GUILD, "asylum", "match")                     # counting clears nothing
    await one.inner.update_guild_settings(GUILD, private_default=False)
    assert (await one.guild_settings(GUILD)).private_default is True
