"""Discord's 3-second deadline for the first response, with the real bot process against the fake Discord, which
refuses a first response later than that (10062) as Discord does. Callbacks fail on demand (5xx, 429); each test
waits on events, or on the bot's own output, with timeouts; nothing sleeps."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `fakediscord`; see tests/fakediscord/README.md
from fakediscord import FakeDiscord
from fakediscord.botprocess import BotProcess, sync_commands, wait_for

WAIT = 20.0
EPHEMERAL = 1 << 6
DISCORD_DEADLINE = 3.0
CALLBACK = "/interactions/*/callback"
DEFERRED = 5           # "thinking…": the answer follows as a follow-up
MESSAGE = 4


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.interaction_deadline = DISCORD_DEADLINE
        await sync_commands(server, tmp_path)
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = await BotProcess.start(fake, tmp_path)
    try:
        await fake.wait_for_ready(timeout=WAIT)
        yield process
    finally:
        assert await process.stop() == 0, process.output()


def callback_statuses(interaction) -> list[int]:
    return [request.status for request in interaction.requests() if request.path.endswith("/callback")]


async def test_two_server_errors_on_the_first_response_defer_it_and_the_answer_follows(fake: FakeDiscord,
                                                                                       bot: BotProcess) -> None:
    # discord.py alone retries at +1 s and +4 s: past the deadline, and the member saw nothing
    fake.fail_next("POST", CALLBACK, code=0, status=500, message="Internal Server Error", count=2)
    interaction = await fake.send_command("who", {"topic": "trafficking"})
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert callback_statuses(interaction) == [500, 500, 200]      # the answer once, then the deferral, retried
    [accepted] = interaction.callbacks
    assert accepted.type == DEFERRED and not accepted.data.get("flags", 0) & EPHEMERAL
    assert answer["embeds"][0]["title"].startswith("Human trafficking") and not answer.get("flags", 0) & EPHEMERAL
    [sent] = [request for request in interaction.requests() if request.path.startswith("/webhooks/")]
    assert sent.json["allowed_mentions"] == {"parse": []}


async def test_a_rate_limit_longer_than_the_deadline_defers_and_the_answer_follows(fake: FakeDiscord,
                                                                                   bot: BotProcess) -> None:
    fake.rate_limit("POST", CALLBACK, retry_after=4.0)
    interaction = await fake.send_command("who", {"topic": "trafficking"})
    accepted = await interaction.wait_for_callback(timeout=WAIT)
    assert accepted.type == DEFERRED                    # at once, not after a 4 s wait that Discord would refuse
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert answer["embeds"][0]["title"].startswith("Human trafficking")
    assert callback_statuses(interaction) == [429, 200]


async def test_a_private_answer_is_deferred_privately(fake: FakeDiscord, bot: BotProcess) -> None:
    fake.fail_next("POST", CALLBACK, code=0, status=503, message="Service Unavailable")
    interaction = await fake.send_command("who", {"topic": "trafficking", "private": True})
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert interaction.callbacks[0].type == DEFERRED and interaction.callbacks[0].data["flags"] & EPHEMERAL
    assert answer["flags"] & EPHEMERAL and answer["embeds"]


async def test_a_member_asking_while_the_same_answer_is_still_being_sent_gets_it_in_full(fake: FakeDiscord,
                                                                                         bot: BotProcess) -> None:
    # Before, they were told "this is being answered right now; look just above", which led nowhere when that
    # answer failed.
    fake.rate_limit("POST", CALLBACK, retry_after=1.5)     # short enough to wait out within the deadline
    first = await fake.send_command("who", {"topic": "trafficking"})
    await first.wait_for_request("POST", "*/callback", timeout=WAIT)      # now waiting out its rate limit
    moderator = fake.guild.member_named("moderator")
    second = await fake.send_command("who", {"topic": "trafficking"}, user_id=moderator.id)
    copy = await second.wait_for_callback(timeout=WAIT)
    assert copy.type == MESSAGE and copy.data["flags"] & EPHEMERAL
    assert copy.data["embeds"][0]["title"].startswith("Human trafficking")
    assert not any("who:pin:" in str(row) for row in copy.data.get("components", []))   # no Pin on a private copy
    public = await first.wait_for_callback(timeout=WAIT)
    assert public.type == MESSAGE and not public.data.get("flags", 0) & EPHEMERAL


async def test_a_public_answer_that_failed_leaves_the_channel_free_for_the_next_member(fake: FakeDiscord,
                                                                                      bot: BotProcess) -> None:
    fake.fail_next("POST", CALLBACK, code=0, status=500, message="Internal Server Error", count=1000)
    lost = await fake.send_command("who", {"topic": "trafficking"})
    await wait_for(lambda: "could not tell the member" in bot.output(), "the failure to be given up on", WAIT)
    assert lost.callbacks == []                          # Discord never took any of it
    fake.clear_failures()
    moderator = fake.guild.member_named("moderator")
    later = await fake.send_command("who", {"topic": "trafficking"}, user_id=moderator.id)
    answer = await later.wait_for_callback(timeout=WAIT)
    assert answer.type == MESSAGE and not answer.data.get("flags", 0) & EPHEMERAL   # public, not a dead pointer
    assert answer.data["embeds"][0]["title"].startswith("Human trafficking")
