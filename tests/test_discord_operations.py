"""Operating the bot: reloading the table without a restart, draining on shutdown, shard slices, latency metrics."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from pathlib import Path

import discord
from conftest import GUILD_ID, MEMBER_BITS, MINI, PIN_BITS, interaction_payload, slash
from discord.webhook.async_ import async_context
from fakediscord import FakeDiscord, pointed_at

from bot.core.router import Router
from bot.discord.client import ShardedWhoHandlesBot, WhoHandlesBot, build_bot
from bot.discord.deadline import DeadlineAdapter
from bot.observability import HealthServer
from bot.settings import Settings


def copy_table(tmp_path: Path) -> Path:
    target = tmp_path / "table"
    shutil.copytree(MINI, target)
    return target


async def test_reload_swaps_a_good_table_and_refuses_a_broken_one(start_bot, tmp_path: Path):
    table = copy_table(tmp_path)
    bot, _ = await start_bot(Router.load(table))
    bot.knowledge_dir = table
    before = bot.router

    topics = table / "topics" / "main.yaml"
    topics.write_text(topics.read_text().replace("title: Human trafficking", "title: Human trafficking (new)"))
    assert await bot.reload_knowledge() == []
    assert bot.router is not before
    assert bot.router.knowledge.topics["human-trafficking"].title == "Human trafficking (new)"

    good = bot.router
    topics.write_text("topics:\n  - id: [broken\n")
    problems = await bot.reload_knowledge()
    assert problems and f"{topics}:" in problems[0]
    assert bot.router is good                         # the old table keeps serving
    metrics = bot.metrics.render().decode()
    assert 'who_handles_reloads_total{result="ok"} 1.0' in metrics
    assert 'who_handles_reloads_total{result="refused"} 1.0' in metrics


async def test_overlapping_reloads_run_one_after_the_other_and_the_newest_table_wins(start_bot, tmp_path: Path,
                                                                                       monkeypatch, caplog):
    """A first reload has read the table and is still building it when the file changes and a second reload comes
    (SIGHUP twice, or SIGHUP and /reload). The second waits, then reads the new file; the first cannot land last."""
    table = copy_table(tmp_path)
    bot, _ = await start_bot(Router.load(table))
    bot.knowledge_dir = table
    topics = table / "topics" / "main.yaml"
    real_load = Router.load
    loads: list[str] = []                   # the trafficking title each load read, in the order loads began
    first_has_read, release_first = threading.Event(), threading.Event()

    def load(directory: Path | None = None) -> Router:   # runs in asyncio.to_thread, as in the bot
        router = real_load(directory)
        loads.append(router.knowledge.topics["human-trafficking"].title)
        if len(loads) == 1:
            first_has_read.set()
            release_first.wait(10)          # held until the test lets it finish
        return router

    monkeypatch.setattr(Router, "load", staticmethod(load))
    first = asyncio.create_task(bot.reload_knowledge())
    try:
        assert await asyncio.to_thread(first_has_read.wait, 10)
        topics.write_text(topics.read_text().replace("title: Human trafficking", "title: Human trafficking (v2)"))
        with caplog.at_level(logging.INFO, logger="who_handles"):
            second = asyncio.create_task(bot.reload_knowledge())
            await wait_until(lambda: "knowledge reload waits for the one in progress" in caplog.text)
        assert loads == ["Human trafficking"]             # the second has not begun to read
    finally:
        release_first.set()
    assert await first == [] and await second == []
    assert loads == ["Human trafficking", "Human trafficking (v2)"]
    assert bot.router.knowledge.topics["human-trafficking"].title == "Human trafficking (v2)"
    assert 'who_handles_reloads_total{result="ok"} 2.0' in bot.metrics.render().decode()


async def wait_until(condition, timeout: float = 5.0) -> None:
    """Until condition() holds, yielding to the event loop; fails after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def reload_command() -> dict:
    """/reload as Discord sends it: a command registered in one guild carries that guild's id."""
    return slash("reload") | {"guild_id": str(GUILD_ID)}


async def test_reload_is_only_in_the_operators_server(start_bot, mini_router: Router):
    bot, _ = await start_bot(mini_router, dev_guild_id=GUILD_ID)
    assert bot.tree.get_command("reload") is None                                # not in every server's list
    assert bot.tree.get_command("reload", guild=discord.Object(id=GUILD_ID)) is not None


async def test_reload_command_is_for_the_owner_only(start_bot, mini_router: Router, monkeypatch):
    bot, fake = await start_bot(mini_router, dev_guild_id=GUILD_ID)

    async def is_owner(user: discord.abc.User) -> bool:
        return user.id == 7

    monkeypatch.setattr(bot, "is_owner", is_owner)
    await fake.interact(bot, interaction_payload(2, reload_command(), user_id=42))
    assert "Only the bot's owner" in fake.last()["content"]
    await fake.interact(bot, interaction_payload(2, reload_command(), user_id=7))
    assert "Reloaded the knowledge table" in fake.last()["content"]


async def test_while_draining_new_commands_are_turned_away_politely(discord_env):
    bot, fake = discord_env
    bot.draining = True
    await fake.interact(bot, interaction_payload(2, slash("who", topic="human-trafficking")))
    reply = fake.last()
    assert "restarting" in reply["content"]
    assert reply["flags"] & 64                        # private
    assert "embeds" not in reply or not reply["embeds"]


def callbacks(fake) -> list[dict]:
    return [call.json for call in fake.calls if call.path.endswith("/callback")]


def components(message: dict) -> list[dict]:
    return [item for row in message.get("components", []) for item in row["components"]]


def press(component: dict, message: dict, **kwargs) -> dict:
    data = {"custom_id": component["custom_id"], "component_type": component["type"]}
    if component["type"] == 3:
        data["values"] = [component["options"][-1]["value"]]
    return interaction_payload(3, data, message=message, **kwargs)


def assert_told_restarting(fake) -> None:
    """The last thing sent was one private "restarting" message in answer to the interaction, nothing else."""
    body = callbacks(fake)[-1]
    assert body["type"] == 4, body                                    # CHANNEL_MESSAGE_WITH_SOURCE, not an edit
    assert "restarting" in body["data"]["content"] and body["data"]["flags"] & 64
    assert not body["data"].get("embeds")


async def test_while_draining_autocomplete_gets_an_empty_list_not_a_message(discord_env):
    bot, fake = discord_env
    bot.draining = True
    for command, option in (("who", "topic"), ("agency", "name")):
        await fake.interact(bot, interaction_payload(4, slash(command, **{option: "h", "focused": option})))
        assert callbacks(fake)[-1] == {"type": 8, "data": {"choices": []}}   # AUTOCOMPLETE_RESULT, no choices
    assert "who_handles_autocomplete_total{" not in bot.metrics.render().decode()   # nothing was suggested


async def test_while_draining_buttons_and_menus_are_turned_away_privately(discord_env):
    bot, fake = discord_env
    # Before the shutdown: a public answer (📌 Pin, related-topics menu), an agency's (📌 Pin, topic menu), and a
    # picker.
    await fake.interact(bot, interaction_payload(2, slash("who", topic="human-trafficking")))
    answer = fake.messages[max(fake.messages)]
    await fake.interact(bot, interaction_payload(2, slash("agency", name="ice")))
    agency = fake.messages[max(fake.messages)]
    await fake.interact(bot, interaction_payload(2, slash("who", topic="traffic jail"), user_id=7))
    picker = fake.messages[max(fake.messages)]
    pressed = [(c, answer) for c in components(answer)] + [(c, agency) for c in components(agency)] + [
        (c, picker) for c in components(picker)]
    assert sorted(c["custom_id"].split(":")[1] for c, _ in pressed) == ["del", "fb", "fb", "fb", "open", "open", "pick",
                                                                       "pick", "pin", "pin"]

    bot.draining = True
    sent_before = len(fake.calls)
    for component, message in pressed:
        await fake.interact(bot, press(component, message, user_id=7, permissions=PIN_BITS | MEMBER_BITS))
        assert_told_restarting(fake)
    new = fake.calls[sent_before:]
    assert [call.path.endswith("/callback") for call in new] == [True] * len(pressed)   # no pin, no picker removed


async def test_while_draining_page_buttons_are_turned_away_privately(start_bot):
    bot, fake = await start_bot(Router.load())                        # the real table: /topics has several pages
    await fake.interact(bot, interaction_payload(2, slash("topics"), user_id=5))
    pages = fake.messages[max(fake.messages)]
    forward = components(pages)[2]
    bot.draining = True
    await fake.interact(bot, press(forward, pages, user_id=5))
    assert_told_restarting(fake)


async def test_answers_feed_the_latency_histogram(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("who", topic="human-trafficking")))
    assert 'who_handles_answer_seconds_count{command="who"} 1.0' in bot.metrics.render().decode()


async def test_every_command_is_timed_until_its_reply_is_sent(discord_env, monkeypatch):
    """The histogram's help says "to reply sent": when Discord receives each reply, the answer has not been timed
    yet; once the interaction is handled, it has, once, under its command."""
    bot, fake = discord_env

    def timed(command: str) -> float:
        return bot.metrics.registry.get_sample_value("who_handles_answer_seconds_count", {"command": command}) or 0.0

    seen_at_send: list[tuple[str, float]] = []
    current = ""
    deliver = fake.webhook                     # where conftest sends interaction callbacks and follow-ups

    async def watching(route, session=None, *, payload=None, **kwargs):
        seen_at_send.append((current, timed(current)))
        return await deliver(route, session, payload=payload, **kwargs)

    monkeypatch.setattr(async_context.get(), "request", watching)
    monkeypatch.setattr(DeadlineAdapter, "request", lambda adapter, *args, **kwargs: watching(*args, **kwargs))
    asked = [("who", {"topic": "human-trafficking"}), ("ice", {"aspect": "ero"}), ("agency", {"name": "ice"}),
             ("agency", {"name": "no such office"}), ("topics", {}), ("sources", {}), ("about", {})]
    for user_id, (command, options) in enumerate(asked, start=100):   # one member each: no per-user rate limit
        before = timed(command)
        current = command
        seen_at_send.clear()
        await fake.interact(bot, interaction_payload(2, slash(command, **options), user_id=user_id))
        assert seen_at_send == [(command, before)], command     # one reply, and not timed before it went out
        assert timed(command) == before + 1, command            # timed once it had
    assert timed("agency") == 2


def test_shard_settings_choose_the_sharded_bot_with_its_slice(mini_router: Router):
    sharded = build_bot(mini_router, settings=Settings.from_env({"SHARD_COUNT": "4", "SHARD_IDS": "1,3"}))
    assert isinstance(sharded, ShardedWhoHandlesBot)
    assert (sharded.shard_count, sharded.shard_ids) == (4, [1, 3])
    assert isinstance(build_bot(mini_router, settings=Settings.from_env({})), WhoHandlesBot)
    assert not isinstance(build_bot(mini_router, settings=Settings.from_env({})), ShardedWhoHandlesBot)
    everything = build_bot(mini_router, settings=Settings.from_env({"SHARD_COUNT": "2"}))
    assert everything.shard_ids == [0, 1]


async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s before each IDENTIFY after the first (Discord's limit); the fake needs no wait."""


async def test_health_of_a_sharded_bot_needs_every_shard_of_its_slice_connected(mini_router: Router):
    """The real AutoShardedBot on two shards against the fake Discord: healthy once both heartbeat, unhealthy as
    soon as one of them is disconnected (discord.py's ShardInfo has no socket of its own to read)."""
    async with FakeDiscord() as fake:
        with pointed_at(fake):
            bot = build_bot(mini_router, settings=Settings.from_env({"SHARD_COUNT": "2"}), guild_ready_timeout=0.05)
            bot.before_identify_hook = identify_at_once       # the fake has no identify rate limit to respect
            health = HealthServer(bot.metrics, bot.last_heartbeat_ack, clock=time.perf_counter)
            assert not health.healthy()                       # not connected yet
            await bot.login(fake.token)
            connecting = asyncio.create_task(bot.connect())
            try:
                await asyncio.wait_for(bot.wait_until_ready(), 10)
                assert sorted(bot.shards) == [0, 1]
                assert health.healthy()
                shard = bot.get_shard(1)
                assert shard is not None
                await shard.disconnect()
                assert not health.healthy()                   # one shard of the slice is down
            finally:
                await bot.close()
                await asyncio.wait_for(connecting, 10)


async def test_a_reload_that_hangs_is_refused_in_time_and_does_not_wedge_the_next_or_the_owner(
        start_bot, tmp_path: Path, monkeypatch):
    """A read that never returns (a stuck network mount): the reload gives up, the owner's /reload still gets its
    follow-up, and the next reload goes through."""
    table = copy_table(tmp_path)
    bot, fake = await start_bot(Router.load(table), dev_guild_id=GUILD_ID)
    bot.knowledge_dir = table
    real_load, stuck = Router.load, threading.Event()

    def hanging_load(directory: Path | None = None) -> Router:
        stuck.wait(30)                     # released at the end of the test, so no thread outlives it
        return real_load(directory)

    monkeypatch.setattr(Router, "load", staticmethod(hanging_load))
    try:
        problems = await asyncio.wait_for(bot.reload_knowledge(timeout=0.2), 5)
        assert problems and "took longer than" in problems[0]

        async def is_owner(user: discord.abc.User) -> bool:
            return True

        monkeypatch.setattr(bot, "is_owner", is_owner)
        monkeypatch.setattr("bot.discord.client.RELOAD_TIMEOUT_SECONDS", 0.2)
        await asyncio.wait_for(fake.interact(bot, interaction_payload(2, reload_command())), 5)
        assert "problem" in fake.last()["content"]          # the follow-up came, with the reason

        monkeypatch.setattr(Router, "load", staticmethod(real_load))
        assert await asyncio.wait_for(bot.reload_knowledge(), 5) == []   # not wedged behind the stuck one
    finally:
        stuck.set()


async def test_a_loader_fault_that_is_not_a_knowledge_error_is_refused_not_raised(start_bot, mini_router: Router,
                                                                                   monkeypatch):
    bot, _ = await start_bot(mini_router)

    def exploding_load(directory: Path | None = None) -> Router:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(Router, "load", staticmethod(exploding_load))
    problems = await bot.reload_knowledge()
    assert problems and "RecursionError" in problems[0]
    assert bot.router is mini_router
