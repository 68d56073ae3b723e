"""Pinned answers follow the table: a reload, or a start with a new table version, edits the pins whose message
changed, one edit a second at most, in the background; a pin whose message is gone is forgotten."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from conftest import GUILD_ID, MEMBER_BITS, MINI, PIN_BITS, interaction_payload, slash

from bot.core.router import Router
from bot.discord.pins import EDIT_INTERVAL_SECONDS
from bot.store import SafeStore

EDIT = "/channels/{channel_id}/messages/{message_id}"


class Pauses:
    """The refresh's pause between edits, recorded; `hold()` makes the next one wait until `release()`."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.gate: asyncio.Event | None = None
        self.waiting = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()

    def hold(self) -> None:
        self.gate = asyncio.Event()

    def release(self) -> None:
        assert self.gate is not None
        self.gate.set()


def table(tmp_path: Path) -> Path:
    target = tmp_path / "table"
    shutil.copytree(MINI, target)
    return target


def change(directory: Path, old: str, new: str) -> None:
    topics = directory / "topics" / "main.yaml"
    text = topics.read_text()
    assert old in text
    topics.write_text(text.replace(old, new, 1))


def edits(fake) -> list:
    return [call for call in fake.calls if call.method == "PATCH" and call.path == EDIT]


def edited_id(call) -> int:
    return int(call.url.rsplit("/", 1)[1])


async def pinned(bot, fake, topic: str) -> int:
    """Post a public answer on `topic`, pin it with its button, and wait until the pin is recorded."""
    await fake.interact(bot, interaction_payload(2, slash("who", topic=topic)))
    message = fake.messages[max(fake.messages)]
    custom_id = message["components"][0]["components"][0]["custom_id"]
    await fake.interact(bot, interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, message=message,
                                                 user_id=11, permissions=PIN_BITS | MEMBER_BITS))
    await asyncio.gather(*bot._writes)
    return int(message["id"])


async def test_a_reload_edits_the_changed_pins_one_a_second_without_delaying_answers(
        start_bot, store_backend, tmp_path, caplog):
    directory = table(tmp_path)
    pauses = Pauses()
    bot, fake = await start_bot(Router.load(directory), store=SafeStore(store_backend.make()), pin_pause=pauses)
    bot.knowledge_dir = directory
    await bot.pin_refresh   # at start: nothing pinned yet
    trafficking = await pinned(bot, fake, "human-trafficking")
    detention = await pinned(bot, fake, "detention")
    mission = await pinned(bot, fake, "ice-mission")
    change(directory, "title: Human trafficking", "title: Human trafficking (new)")
    change(directory, "title: Immigration detention", "title: Immigration detention (new)")
    change(directory, "checked: 2026-11-25", "checked: 2026-11-30")   # a new table version

    pauses.hold()
    with caplog.at_level("INFO", logger="who_handles.discord"):
        assert await bot.reload_knowledge() == []
        await asyncio.wait_for(pauses.waiting.wait(), 5)   # one edit out, the refresh waits before the next...
        assert [edited_id(call) for call in edits(fake)] == [trafficking]
        replies = len(fake.replies())
        await fake.interact(bot, interaction_payload(2, slash("who", topic="human-trafficking"), channel_id=5))
        assert len(fake.replies()) == replies + 1          # ...and answers go out meanwhile
        pauses.release()
        assert await bot.pin_refresh == 2

    assert pauses.seconds == [EDIT_INTERVAL_SECONDS]
    assert [edited_id(call) for call in edits(fake)] == [trafficking, detention]   # ice-mission did not change
    assert fake.messages[trafficking]["embeds"][0]["title"] == "Human trafficking (new)"
    assert fake.messages[detention]["embeds"][0]["title"] == "Immigration detention (new)"
    assert "who:pin:detention" in str(fake.messages[detention]["components"])   # its buttons kept
    version = bot.router.knowledge.version
    assert {(pin.message_id, pin.table_version) for pin in await bot.store.pins(GUILD_ID)} == {
        (trafficking, version), (detention, version), (mission, version)}
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refreshed pinned answer")]
    assert logged[0] == (f"refreshed pinned answer: guild {GUILD_ID} channel {fake.messages[trafficking]['channel_id']}"
                         f" message {trafficking} topic human-trafficking")
    assert len(logged) == 2 and not any("member11" in line or " 11 " in line for line in logged)


async def test_a_pin_whose_message_was_deleted_is_forgotten(start_bot, store_backend, tmp_path):
    directory = table(tmp_path)
    bot, fake = await start_bot(Router.load(directory), store=SafeStore(store_backend.make()))
    bot.knowledge_dir = directory
    gone = await pinned(bot, fake, "human-trafficking")
    kept = await pinned(bot, fake, "detention")
    del fake.messages[gone]
    change(directory, "title: Human trafficking", "title: Human trafficking (new)")
    change(directory, "title: Immigration detention", "title: Immigration detention (new)")
    bot.pin_pause = Pauses()
    assert await bot.reload_knowledge() == []
    await bot.pin_refresh
    assert [edited_id(call) for call in edits(fake)] == [gone, kept]
    assert [pin.message_id for pin in await bot.store.pins(GUILD_ID)] == [kept]


async def test_a_start_with_a_new_table_version_edits_the_pins_of_the_old_one(start_bot, store_backend, tmp_path):
    directory = table(tmp_path)
    old, fake = await start_bot(Router.load(directory), store=SafeStore(store_backend.make()))
    message_id = await pinned(old, fake, "human-trafficking")
    await old.close()

    same, _ = await start_bot(Router.load(directory), fake, store=SafeStore(store_backend.make()))
    assert await same.pin_refresh == 0 and edits(fake) == []    # same table: nothing to do
    await same.close()

    change(directory, "title: Human trafficking", "title: Human trafficking (new)")
    change(directory, "checked: 2026-11-25", "checked: 2026-11-30")
    new, _ = await start_bot(Router.load(directory), fake, store=SafeStore(store_backend.make()))
    assert await new.pin_refresh == 1
    assert [edited_id(call) for call in edits(fake)] == [message_id]
    assert fake.messages[message_id]["embeds"][0]["title"] == "Human trafficking (new)"
    [pin] = await new.store.pins(GUILD_ID)
    assert pin.table_version == new.router.knowledge.version != old.router.knowledge.version
