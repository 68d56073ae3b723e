"""The fake Discord against a real discord.py client in this process: real HTTP client, real gateway websocket
(zlib-stream), real CommandTree. Every wait is an event or future with a timeout; nothing sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import pytest
from discord import app_commands

# tests/ on sys.path for `fakediscord`. Deliberately no tests/e2e/conftest.py: the unit tests do
# `from conftest import ...`, which a second, non-package conftest.py would shadow.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakediscord import (
    FakeDiscord,
    Intents,
    Permissions,
    guild_id_for_shard,
    pointed_at,
    transport_compression,
)
from fakediscord.records import clone, from_json, to_json

WAIT = 10.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord on 127.0.0.1 (random port) with one guild; stopped after the test."""
    async with FakeDiscord() as server:
        yield server


@pytest.fixture(autouse=True)
def discord_py_at_fake(fake: FakeDiscord) -> Iterator[None]:
    with pointed_at(fake):
        yield


class Bot(discord.Client):
    """A minimal slash-command bot: /echo (with autocomplete) and /pinme."""

    def __init__(self, **options: object) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, guild_ready_timeout=0.05, **options)
        self.tree = app_commands.CommandTree(self)
        self.handled: list[tuple[str, int | None]] = []
        self.resumed = asyncio.Event()

        @self.tree.command(name="echo", description="Say it back")
        async def echo(interaction: discord.Interaction, word: str) -> None:
            self.handled.append(("echo", interaction.guild_id))
            await interaction.response.send_message(f"echo {word}")
            await interaction.followup.send(f"and again: {word}", ephemeral=True)

        @echo.autocomplete("word")
        async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=w, value=w) for w in ("alpha", "alpine", "beta") if w.startswith(current)]

        @self.tree.command(name="pinme", description="Answer and pin the answer")
        async def pinme(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("worth pinning")
            message = await interaction.original_response()
            try:
                await message.pin(reason=f"pinned for {interaction.user.name}")
            except discord.HTTPException as error:
                await interaction.followup.send(f"pin failed {error.code}")
            else:
                await interaction.followup.send("pinned")

    async def on_resumed(self) -> None:
        self.resumed.set()


@contextlib.asynccontextmanager
async def running(bot: Bot, token: str) -> AsyncIterator[Bot]:
    await bot.login(token)
    task = asyncio.create_task(bot.connect(), name="selftest-connect")
    try:
        await asyncio.wait_for(bot.wait_until_ready(), WAIT)
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, WAIT)


async def test_login_ready_guild_create_and_heartbeat(fake: FakeDiscord) -> None:
    async with running(Bot(), fake.token) as bot:
        # login: GET /users/@me then GET /oauth2/applications/@me, both with "Bot <token>"
        assert [(r.method, r.path) for r in fake.requests[:2]] == [("GET", "/users/@me"),
                                                                   ("GET", "/oauth2/applications/@me")]
        assert all(r.bot_auth and "Authorization" not in r.headers for r in fake.requests[:2])
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        assert bot.application_id == fake.application_id

        identify = fake.identifies[0]
        assert identify.accepted and identify.token_ok and "token" not in identify.payload
        assert identify.intents == Intents.GUILDS == bot.intents.value
        # zlib-stream, or zstd-stream when zstandard is importable (discord.py picks by what it can decompress)
        assert identify.transport_compression == transport_compression() in ("zlib-stream", "zstd-stream")
        assert identify.path == "/gateway"

        guild = bot.get_guild(fake.guild.id)
        assert guild is not None and guild.name == fake.guild.name
        assert guild.get_channel(fake.channel.id) is not None
        assert guild.me is not None and guild.me.guild_permissions.pin_messages
        assert not guild.me.guild_permissions.manage_messages
        events = [d.event for d in fake.dispatched]
        assert events[:2] == ["READY", "GUILD_CREATE"] and all(d.delivered for d in fake.dispatched)

        # discord.py heartbeats as soon as HELLO arrives; the ACK precedes READY, so it has been processed.
        beat = await fake.wait_for_heartbeat(timeout=WAIT)
        assert beat.acked
        assert bot.latency != float("inf")


async def test_slash_command_autocomplete_and_followup(fake: FakeDiscord) -> None:
    async with running(Bot(), fake.token) as bot:
        synced = await bot.tree.sync()
        put = fake.requests_to("PUT", "/applications/{application_id}/commands")[0]
        assert {c["name"] for c in put.json} == {"echo", "pinme"} and put.bot_auth
        assert {c.name: c.id for c in synced} == {c["name"]: int(c["id"]) for c in fake.global_commands}

        typing = await fake.send_autocomplete("echo", {"word": "al"}, focused="word")
        choices = await typing.wait_for_callback(timeout=WAIT)
        assert choices.type == 8
        assert [c["value"] for c in choices.data["choices"]] == ["alpha", "alpine"]

        interaction = await fake.send_command("echo", {"word": "hello"})
        assert interaction.payload["data"]["id"] == fake.global_commands[0]["id"]
        callback = await interaction.wait_for_callback(timeout=WAIT)
        assert (callback.type, callback.content, callback.with_response) == (4, "echo hello", True)
        assert interaction.original is not None and interaction.original["content"] == "echo hello"
        followup = await interaction.wait_for_followup(timeout=WAIT)
        assert followup["content"] == "and again: hello" and followup["flags"] & 64
        assert bot.handled == [("echo", fake.guild.id)]
        assert fake.unhandled == []


async def test_gateway_drop_resumes_and_interactions_still_arrive(fake: FakeDiscord) -> None:
    async with running(Bot(), fake.token) as bot:
        first = await fake.send_command("echo", {"word": "before"})
        await first.wait_for_callback(timeout=WAIT)
        session = fake.session_for_shard(0)
        assert session is not None
        seq_before_drop = session.seq

        await fake.drop_gateway(code=4000)
        after = await fake.send_command("echo", {"word": "after"})   # live or replayed on RESUME
        resume = await fake.wait_for_resume(timeout=WAIT)
        callback = await after.wait_for_callback(timeout=WAIT)
        await asyncio.wait_for(bot.resumed.wait(), WAIT)

        assert resume.resumed and resume.token_ok
        assert resume.session_id == session.session_id
        assert resume.seq == seq_before_drop      # the last sequence number the client had seen
        assert resume.path == "/gateway/resume"   # discord.py used READY's resume_gateway_url
        assert len(fake.identifies) == 1          # resumed, not re-identified
        assert callback.content == "echo after"
        seqs = [d.seq for d in fake.dispatched if d.session_id == session.session_id]
        assert seqs == list(range(1, len(seqs) + 1))
        assert bot.ws is not None and bot.ws.sequence == session.seq


async def test_rate_limits_are_retried_and_pin_errors_reach_the_bot(fake: FakeDiscord) -> None:
    async with running(Bot(), fake.token) as bot:
        commands_limit = fake.rate_limit("PUT", "/applications/*/commands", retry_after=0.05)
        await bot.tree.sync()                               # bot-token REST: discord.http retries the 429
        assert [r.status for r in fake.requests_to("PUT", "/applications/*/commands")] == [429, 200]
        assert commands_limit.hits[0].response["retry_after"] == 0.05

        callback_limit = fake.rate_limit("POST", "/interactions/*/callback", retry_after=0.05)
        interaction = await fake.send_command("echo", {"word": "patience"})
        callback = await interaction.wait_for_callback(timeout=WAIT)   # webhook adapter retries the 429
        assert callback.content == "echo patience"
        assert [r.status for r in interaction.requests() if r.path.endswith("/callback")] == [429, 200]
        assert len(callback_limit.hits) == 1 and len(fake.callbacks) == 1

        fake.fail_next_pin()                                          # 30003: maximum number of pins
        full = await fake.send_command("pinme")
        assert (await full.wait_for_followup(timeout=WAIT))["content"] == "pin failed 30003"
        assert fake.pinned() == []

        moderator = fake.guild.member_named("moderator")
        ok = await fake.send_command("pinme", user_id=moderator.id)
        assert (await ok.wait_for_followup(timeout=WAIT))["content"] == "pinned"
        pin = fake.requests_to("PUT", "/channels/{channel_id}/messages/pins/{message_id}")[-1]
        assert pin.status == 204 and pin.bot_auth and pin.audit_log_reason == "pinned for moderator"
        assert fake.pinned() == [ok.original_message_id]


async def test_bad_token_fails_login_and_revoked_token_fails_identify(fake: FakeDiscord) -> None:
    rejected = Bot()
    try:
        with pytest.raises(discord.LoginFailure):
            await rejected.login("not-the-token")
    finally:
        await rejected.close()
    refused = fake.requests[-1]
    assert (refused.path, refused.status, refused.bot_auth) == ("/users/@me", 401, False)
    assert refused.response == {"message": "401: Unauthorized", "code": 0}

    bot = Bot()
    await bot.login(fake.token)
    fake.token_revoked = True          # the token is reset between login and IDENTIFY
    try:
        with pytest.raises(discord.ConnectionClosed) as closed:
            await asyncio.wait_for(bot.connect(), WAIT)
        assert closed.value.code == 4004
    finally:
        await bot.close()
    identify = fake.identifies[-1]
    assert not identify.token_ok and not identify.accepted and identify.close_code == 4004


async def test_two_processes_with_disjoint_shards_get_their_own_guilds(fake: FakeDiscord) -> None:
    first, second = (fake.make_guild(guild_id=guild_id_for_shard(n, 2), name=f"Shard {n} guild") for n in (0, 1))
    async with running(Bot(shard_id=0, shard_count=2), fake.token) as bot0, \
            running(Bot(shard_id=1, shard_count=2), fake.token) as bot1:
        assert sorted(identify.shard for identify in fake.identifies) == [(0, 2), (1, 2)]
        on_0 = {g.id for g in bot0.guilds}
        on_1 = {g.id for g in bot1.guilds}
        assert first.id in on_0 and second.id in on_1 and not on_0 & on_1
        assert on_0 | on_1 == set(fake.guilds)

        for guild, expected, other in ((first, bot0, bot1), (second, bot1, bot0)):
            interaction = await fake.send_command("echo", {"word": guild.name}, guild_id=guild.id)
            callback = await interaction.wait_for_callback(timeout=WAIT)
            assert callback.content == f"echo {guild.name}"
            assert interaction.shard_id == (guild.id >> 22) % 2
            assert expected.handled[-1] == ("echo", guild.id) and ("echo", guild.id) not in other.handled
        assert Permissions.PIN_MESSAGES & int(interaction.payload["app_permissions"])


async def test_a_wait_that_times_out_names_what_it_waited_for_and_spoils_nothing(fake: FakeDiscord) -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError, match=r"no the callback within 0.01s \(last requests: none\)"):
        await fake.wait_for_future(future, timeout=0.01, what="the callback")
    assert not future.cancelled()               # a result arriving late is still seen by the next wait
    future.set_result(3)
    assert await fake.wait_for_future(future, timeout=0.01) == 3
    assert await fake.wait_until(lambda: "already", timeout=0.01) == "already"


async def test_records_are_deep_copies_and_json_is_what_discord_sends(fake: FakeDiscord) -> None:
    data = {"embeds": [{"title": "Trata › HSI", "fields": [{"name": "a", "value": "b"}]}], "flags": None}
    copied = clone(data)
    assert copied == data
    copied["embeds"][0]["fields"][0]["value"] = "changed"
    assert data["embeds"][0]["fields"][0]["value"] == "b"
    assert clone({1: "an int key", "big": 2**70}) == {1: "an int key", "big": 2**70}   # not JSON: copied exactly
    assert to_json({"t": "›", "n": [1, None]}) == '{"t":"›","n":[1,null]}'.encode()   # compact UTF-8
    assert from_json(to_json(data)) == data
    with pytest.raises(ValueError):
        from_json(b"not json")
