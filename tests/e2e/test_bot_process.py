"""The real bot, started as `who-handles run` in its own process, against the local fake Discord: real HTTP client,
real gateway websocket with zlib-stream, real command tree. Each test waits on events with timeouts; nothing sleeps."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `fakediscord`; see tests/fakediscord/README.md
from fakediscord import FakeDiscord
from fakediscord.botprocess import BotProcess, run_once, sync_commands

WAIT = 20.0            # generous: CI machines are slow; a pass never waits this long
EPHEMERAL = 1 << 6
PIN_ROUTE = "/channels/{channel_id}/messages/pins/{message_id}"
DISCORD_DEADLINE = 3.0  # seconds Discord gives for the first response to an interaction
KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.interaction_deadline = DISCORD_DEADLINE   # a late answer fails as it would on Discord (10062)
        await sync_commands(server, tmp_path)
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = await BotProcess.start(fake, tmp_path)
    try:
        await fake.wait_for_ready(timeout=WAIT)
        yield process
    finally:
        status = await process.stop()
        assert status == 0, process.output()
    assert fake.token not in process.output()
    assert "voice will NOT be supported" not in process.output()   # no alarming noise about features we never use


def embed_text(embed: dict) -> str:
    parts = [embed.get("title", ""), embed.get("description", ""), embed.get("author", {}).get("name", "")]
    parts += [f"{field['name']}\n{field['value']}" for field in embed.get("fields", [])]
    return "\n".join(parts)


def custom_ids(message: dict) -> list[str]:
    return [component["custom_id"] for row in message.get("components", []) for component in row["components"]
            if "custom_id" in component]


async def ask(fake: FakeDiscord, command: str, options: dict, **kw: object) -> dict:
    interaction = await fake.send_command(command, options, **kw)
    callback = await interaction.wait_for_callback(timeout=WAIT)
    assert callback.type == 4
    return callback.data | {"id": callback.message_id}


async def test_who_trafficking_is_a_public_cited_embed_with_a_pin_button(fake: FakeDiscord, bot: BotProcess) -> None:
    answer = await ask(fake, "who", {"topic": "trafficking"})
    assert not answer.get("flags", 0) & EPHEMERAL
    assert answer["allowed_mentions"] == {"parse": []}
    [embed] = answer["embeds"]
    text = embed_text(embed)
    assert "Homeland Security Investigations" in text
    assert re.search(r"`\[1\]` \[[^]]+\]\(https://[^)]+\)", text) and "[1]" in embed["description"]
    assert "general information, not legal advice" in embed["footer"]["text"].lower()
    assert "who:pin:human-trafficking" in custom_ids(answer)
    assert fake.messages[answer["id"]]["embeds"][0]["title"] == embed["title"]


async def test_ice_mission_answers_with_the_mission_topic(fake: FakeDiscord, bot: BotProcess) -> None:
    answer = await ask(fake, "ice", {"aspect": "mission"})
    [embed] = answer["embeds"]
    assert "Immigration and Customs Enforcement" in embed_text(embed)
    assert "who:pin:ice-mission" in custom_ids(answer)


@pytest.mark.parametrize(("typed", "expected", "locale"), [
    ("traf", "human-trafficking", "en-US"),
    ("deport", "deportation", "en-US"),
    ("tarjeta", "green-card", "es-419"),
])
async def test_autocomplete_ranks_topics_within_discords_deadline(fake: FakeDiscord, bot: BotProcess, typed: str,
                                                                  expected: str, locale: str) -> None:
    interaction = await fake.send_autocomplete("who", {"topic": typed}, focused="topic", locale=locale)
    callback = await interaction.wait_for_callback(timeout=WAIT)
    assert callback.type == 8      # accepted: the fake refuses a callback later than Discord's deadline
    choices = callback.data["choices"]
    assert 1 <= len(choices) <= 25 and all(len(choice["name"]) <= 100 for choice in choices)
    assert expected in [choice["value"] for choice in choices[:3]], choices


async def test_an_ambiguous_question_offers_buttons_and_a_pick_after_a_restart_is_answered(
        fake: FakeDiscord, tmp_path: Path) -> None:
    first = await BotProcess.start(fake, tmp_path)
    await fake.wait_for_ready(timeout=WAIT)
    question = await fake.send_command("who", {"topic": "student"})
    picker = await question.wait_for_callback(timeout=WAIT)
    assert picker.data["flags"] & EPHEMERAL and "Is this what you mean?" in picker.data["content"]
    [row] = picker.data["components"]
    offered = {button["custom_id"] for button in row["components"]}
    sevp = f"who:pick:sevp:{question.user_id}:s"
    assert sevp in offered and 2 <= len(offered) <= 3
    assert await first.stop() == 0, first.output()

    second = await BotProcess.start(fake, tmp_path)
    try:
        await fake.wait_for_ready(timeout=WAIT)
        pick = await fake.send_component(sevp, message_id=picker.message_id, user_id=question.user_id)
        stepped_aside = await pick.wait_for_callback(timeout=WAIT)
        assert stepped_aside.type == 7                     # the picker makes way...
        answer = await pick.wait_for_followup(timeout=WAIT)   # ...for the public answer
        assert not answer.get("flags", 0) & EPHEMERAL
        assert "Student and Exchange Visitor Program" in embed_text(answer["embeds"][0])
    finally:
        assert await second.stop() == 0, second.output()


async def test_pin_button_pins_for_a_moderator_with_the_reason_and_refuses_a_member(fake: FakeDiscord,
                                                                                    bot: BotProcess) -> None:
    answer = await ask(fake, "who", {"topic": "trafficking"})
    button = "who:pin:human-trafficking"

    refused = await fake.send_component(button, message_id=answer["id"])   # the default invoker: a plain member
    callback = await refused.wait_for_callback(timeout=WAIT)
    assert callback.data["flags"] & EPHEMERAL and "Only members who may pin" in callback.content
    assert fake.requests_to("PUT", PIN_ROUTE) == []

    moderator = fake.guild.member_named("moderator")
    pressed = await fake.send_component(button, message_id=answer["id"], user_id=moderator.id)
    pin = await fake.wait_for_request("PUT", PIN_ROUTE, timeout=WAIT)
    assert pin.status == 204 and "moderator" in pin.audit_log_reason and str(moderator.id) in pin.audit_log_reason
    assert (await pressed.wait_for_followup(timeout=WAIT))["content"] == "Pinned."
    assert fake.pinned() == [answer["id"]]


async def test_a_pin_refused_for_the_channel_limit_gets_a_clear_private_message(fake: FakeDiscord,
                                                                                bot: BotProcess) -> None:
    answer = await ask(fake, "who", {"topic": "trafficking"})
    fake.fill_pins()
    moderator = fake.guild.member_named("moderator")
    pressed = await fake.send_component("who:pin:human-trafficking", message_id=answer["id"], user_id=moderator.id)
    told = await pressed.wait_for_followup(timeout=WAIT)
    assert "limit of pinned messages" in told["content"] and told["flags"] & EPHEMERAL
    assert answer["id"] not in fake.pinned()


async def test_the_pin_button_of_an_old_answer_works_after_a_restart(fake: FakeDiscord, tmp_path: Path) -> None:
    first = await BotProcess.start(fake, tmp_path)
    await fake.wait_for_ready(timeout=WAIT)
    answer = await ask(fake, "who", {"topic": "trafficking"})
    assert await first.stop() == 0, first.output()

    second = await BotProcess.start(fake, tmp_path)
    try:
        await fake.wait_for_ready(timeout=WAIT)
        moderator = fake.guild.member_named("moderator")
        pressed = await fake.send_component("who:pin:human-trafficking", message_id=answer["id"],
                                            user_id=moderator.id)
        assert (await pressed.wait_for_followup(timeout=WAIT))["content"] == "Pinned."
        assert fake.pinned() == [answer["id"]]
        assert len(fake.identifies) == 2
    finally:
        assert await second.stop() == 0, second.output()


async def test_a_dropped_gateway_is_resumed_and_answers_continue(fake: FakeDiscord, bot: BotProcess) -> None:
    await ask(fake, "who", {"topic": "trafficking"})
    await fake.drop_gateway(code=4000)
    after = await fake.send_command("who", {"topic": "deportation order"})   # live, or replayed on RESUME
    resume = await fake.wait_for_resume(timeout=WAIT)
    callback = await after.wait_for_callback(timeout=WAIT)
    assert resume.resumed and len(fake.identifies) == 1
    assert callback.data["embeds"]


async def test_a_rate_limited_answer_is_retried_after_the_wait(fake: FakeDiscord, bot: BotProcess) -> None:
    limit = fake.rate_limit("POST", "/interactions/*/callback", retry_after=0.2)
    interaction = await fake.send_command("who", {"topic": "trafficking"})
    callback = await interaction.wait_for_callback(timeout=WAIT)
    assert callback.data["embeds"]
    assert [r.status for r in interaction.requests() if r.path.endswith("/callback")] == [429, 200]
    assert len(limit.hits) == 1


async def test_a_bad_token_exits_non_zero_without_printing_the_token(fake: FakeDiscord, tmp_path: Path) -> None:
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.wrong-token.abcdefghijklmnopqrstuvwxyz0123"
    status, output = await run_once(fake, tmp_path, ["run"], token=wrong)
    assert status == 3
    assert "refused the token" in output
    assert wrong not in output and "wrong-token" not in output
    assert fake.identifies == []


async def test_a_broken_knowledge_file_stops_the_start_with_file_and_line(fake: FakeDiscord, tmp_path: Path) -> None:
    table = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, table)
    broken = table / "topics" / "hsi.yaml"
    lines = broken.read_text(encoding="utf-8").splitlines()
    assert lines[4] == "    handler: ice-hsi"
    lines[4] = "    handler: ice-hsx"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    requests_before = len(fake.requests)

    status, output = await run_once(fake, tmp_path, ["run"], env={"KNOWLEDGE_DIR": str(table)})
    assert status == 1
    assert "hsi.yaml:5: topic 'hsi'.handler: unknown agency 'ice-hsx'" in output, output
    assert "Traceback" not in output
    assert len(fake.requests) == requests_before and fake.identifies == []   # never connected


async def test_a_spanish_speaking_member_gets_spanish_answers_end_to_end(fake: FakeDiscord, bot: BotProcess) -> None:
    answer = await ask(fake, "who", {"topic": "orden de deportacion"}, locale="es-419")
    [embed] = answer["embeds"]
    text = embed_text(embed)
    assert "Operaciones de Control y Deportación" in text
    assert "deportación" in embed["description"] and "[1]" in embed["description"]
    assert "no asesoría legal" in embed["footer"]["text"].lower()
    assert re.search(r"\]\(https://[^)]+\)", text)          # the sources stay as they are, linked
    mission = await ask(fake, "ice", {"aspect": "mission"}, locale="es-ES")
    assert "Servicio de Inmigración y Control de Aduanas" in embed_text(mission["embeds"][0])


@pytest.mark.parametrize("malformed", [
    {"id": "abc", "type": 2, "application_id": "1", "token": "x", "version": 1},
    {"id": "1", "type": 2, "application_id": "1", "token": "x", "version": 1, "member": "someone",
     "guild_id": "1", "channel_id": "1", "data": {"id": "1", "name": "who", "type": 1}},
    ["not", "an", "object"],
])
async def test_a_malformed_gateway_event_is_dropped_and_the_bot_keeps_answering(fake: FakeDiscord, bot: BotProcess,
                                                                                malformed: object) -> None:
    session = fake.session_for_guild(fake.guild.id)
    assert session is not None
    await fake.dispatch_event(session, "INTERACTION_CREATE", malformed)
    answer = await ask(fake, "who", {"topic": "trafficking"})
    assert answer["embeds"] and bot.process.returncode is None
    assert len(fake.identifies) == 1                     # the same connection: no restart, no new session
    assert "dropped a malformed INTERACTION_CREATE event" in bot.output()
