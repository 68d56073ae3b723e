"""Two real bot processes, each on its own shard of one application, on one PostgreSQL database: what a server
owns (its /server settings and help notes) and the statistics live in the database, not in whichever process
happened to serve the interaction (issue 13). Waits are on the fake's events, with timeouts."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `fakediscord` and `storefixtures`
from fakediscord import FakeDiscord, guild_id_for_shard
from fakediscord.botprocess import BotProcess, run_once, sync_commands
from storefixtures import _with_schema, database_url

from bot.discord.local import LOCAL_HEADING

WAIT = 20.0
EPHEMERAL = 64


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        await sync_commands(server, tmp_path)
        yield server


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    """DATABASE_URL narrowed to a schema of this test's own, dropped after (skipped without DATABASE_URL unless
    CI is set, as the store's tests are)."""
    import asyncpg

    url = database_url()
    assert url is not None
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _with_schema(url, schema)
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def server_command(fake: FakeDiscord, guild_id: int, subcommand: str, **options: object) -> str:
    """/server SUBCOMMAND by the guild's owner (Manage Server); the text of the bot's reply."""
    owner = fake.guilds[guild_id].member_named("owner")
    interaction = await fake.send_command("server", options, subcommand=subcommand, guild_id=guild_id,
                                          user_id=owner.id)
    callback = await interaction.wait_for_callback(timeout=WAIT)
    return callback.data.get("content") or ""


async def ask(fake: FakeDiscord, guild_id: int, topic: str) -> dict:
    """/who TOPIC by a plain member; the callback's data (the answer, or its first message)."""
    interaction = await fake.send_command("who", {"topic": topic}, guild_id=guild_id)
    callback = await interaction.wait_for_callback(timeout=WAIT)
    return callback.data


def local_notes(answer: dict) -> list[str]:
    return [field["value"] for embed in answer.get("embeds", []) for field in embed.get("fields", [])
            if field["name"] == LOCAL_HEADING["en"]]


async def test_two_shard_processes_share_each_servers_settings_notes_and_statistics(
        fake: FakeDiscord, tmp_path: Path, shared_database: str) -> None:
    a = fake.make_guild(guild_id=guild_id_for_shard(0, 2), name="Guild A (shard 0)").id
    b = fake.make_guild(guild_id=guild_id_for_shard(1, 2), name="Guild B (shard 1)").id
    env = {"SHARD_COUNT": "2", "DATABASE_URL": shared_database}
    bots = {shard: await BotProcess.start(fake, tmp_path, env={**env, "SHARD_IDS": str(shard)},
                                          name=f"shard{shard}") for shard in (0, 1)}
    successor: BotProcess | None = None
    try:
        for shard in (0, 1):
            await fake.wait_for_ready(shard, timeout=WAIT)

        # Guild A's settings and note, through the shard-0 process; guild B's note, through the shard-1 process.
        assert (await server_command(fake, a, "help add", topic="all", text="Clinic A: Tuesdays, https://a.example")
                ).startswith("Note 1 added")
        assert await server_command(fake, a, "private", private=True) == "Answers are now private by default."
        assert (await server_command(fake, a, "keep-questions", keep=True)).startswith("Unanswered questions are kept")
        assert (await server_command(fake, b, "help add", topic="all", text="Clinic B: Fridays, https://b.example")
                ).startswith("Note 1 added")
        routed = {i.guild_id: i.session.shard_id for i in fake.interactions.values()}
        assert routed == {a: 0, b: 1}   # each server's commands reached only its own shard's process

        answer_a = await ask(fake, a, "trafficking")            # served by the shard-0 process
        answer_b = await ask(fake, b, "asylum")                 # served by the shard-1 process
        assert local_notes(answer_a) == ["• Clinic A: Tuesdays, https://a.example"]
        assert answer_a.get("flags", 0) & EPHEMERAL
        assert local_notes(answer_b) == ["• Clinic B: Fridays, https://b.example"]   # each server its own
        assert not answer_b.get("flags", 0) & EPHEMERAL

        # The shard-0 process goes; a new process takes shard 0 over with nothing in memory. Guild A's note, its
        # private default and its choice to keep unanswered questions all come from the database.
        first = fake.session_for_shard(0)
        assert await bots[0].stop() == 0, bots[0].output()
        successor = await BotProcess.start(fake, tmp_path, env={**env, "SHARD_IDS": "0"}, name="shard0-successor")
        await fake.wait_until(lambda: fake.session_for_shard(0) not in (None, first), timeout=WAIT,
                              what="the successor's IDENTIFY on shard 0")
        await fake.wait_for_ready(0, timeout=WAIT)
        assert len(fake.identifies) == 3
        again = await ask(fake, a, "trafficking")
        assert local_notes(again) == ["• Clinic A: Tuesdays, https://a.example"]
        assert again.get("flags", 0) & EPHEMERAL
        await ask(fake, a, "zebra accordion lessons")   # its text is kept: guild A turned that on through the first
        assert local_notes(await ask(fake, b, "where is my green card")) == ["• Clinic B: Fridays, https://b.example"]
    finally:
        statuses = [await bot.stop() for bot in (*bots.values(), *([successor] if successor else []))]
    outputs = [bot.output() for bot in (*bots.values(), *([successor] if successor else []))]
    assert statuses == [0] * len(statuses), outputs

    # The operator's report, from the same database: the answers of all three processes together.
    status, output = await run_once(fake, tmp_path, ["stats"], env={"DATABASE_URL": shared_database})
    assert status == 0, output
    assert "Answers by week and topic (all servers, last 8 week(s)): 5 in all" in output, output
    assert re.search(r"^ +2  human-trafficking$", output, re.MULTILINE), output   # shard 0, before and after
    assert re.search(r"^ +1  asylum$", output, re.MULTILINE), output              # shard 1
    assert re.search(r"^ +1  green-card$", output, re.MULTILINE), output          # shard 1
    assert re.search(r"^ +1  zebra accordion lessons$", output, re.MULTILINE), output
    status, only_b = await run_once(fake, tmp_path, ["stats", "--guild", str(b)], env={"DATABASE_URL": shared_database})
    assert status == 0 and f"(server {b}, last 8 week(s)): 2 in all" in only_b, only_b
