"""The same bot against SimCord's simulated Discord (server-side permission checks, real gateway events, restarts).

SimCord comes with the test extra (`pip install -e .[test]`, which ./dev does); where it is not installed these
tests are skipped. Where it lags Discord (pinning needs Manage Messages, not Pin Messages; no pin limit; every
member's locale is en-US), tests/test_discord_pin.py and tests/test_discord_commands.py cover the difference with
the fake HTTP layer of conftest.py.
"""

from __future__ import annotations

import discord
import pytest
from conftest import MINI, FakeClock

from bot.core.router import Router
from bot.discord.client import build_bot

simcord = pytest.importorskip("simcord")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def new_bot(clock: FakeClock, router: Router | None = None):
    return build_bot(router or Router.load(MINI), clock=clock)


async def world(env):
    await env.bot.tree.sync()            # as `who-handles sync` would have; SimCord refuses unsynced commands
    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    member = guild.add_member(env.create_user("alice"))
    mods = guild.create_role("Mods", permissions=discord.Permissions(manage_messages=True, pin_messages=True))
    moderator = guild.add_member(env.create_user("mod"), roles=[mods])
    return channel, member, moderator


async def test_ask_pin_refused_restart_pin(clock):
    async with simcord.run(new_bot(clock)) as env:
        channel, member, moderator = await world(env)

        choices = await member.autocomplete(channel, "who", "topic", "traf")
        assert choices == [{"name": "Human trafficking — HSI", "value": "human-trafficking"}]

        result = await member.slash(channel, "who", topic="human-trafficking")
        assert not result.ephemeral
        answer = channel.last_message
        assert answer.embeds[0].title == "Human trafficking"
        assert answer.embeds[0].author.name == "DHS › ICE › HSI"

        refused = await member.click(answer, custom_id="who:pin:human-trafficking")
        assert refused.ephemeral and refused.response.content.startswith("Only members who may pin")
        assert channel.pinned_messages() == []

        await env.restart_bot(new_bot(clock))                 # a new process: only the custom_id carries over
        await moderator.click(answer, custom_id="who:pin:human-trafficking")
        assert [message.id for message in channel.pinned_messages()] == [answer.id]
        reasons = [entry.reason for entry in env.http_requests if entry.path.endswith(f"/pins/{answer.id}")]
        assert reasons == [f"Pinned with the who-handles Pin button by mod ({moderator.id})"]


async def test_a_repeat_gets_a_pointer_and_one_public_copy(clock):
    async with simcord.run(new_bot(clock)) as env:
        channel, member, moderator = await world(env)
        await member.slash(channel, "who", topic="detention")
        first = channel.last_message
        pointer = await moderator.slash(channel, "who", topic="which jail is he held in")
        assert pointer.ephemeral
        assert pointer.response.content.endswith(f"/{channel.id}/{first.id}")
        assert channel.last_message.id == first.id


async def test_the_context_menu_pins_only_the_bots_answers(clock):
    async with simcord.run(new_bot(clock)) as env:
        channel, member, moderator = await world(env)
        chatter = await member.send(channel, "who handles this?")
        refused = await moderator.context_menu(channel, "Pin answer", chatter)
        assert refused.ephemeral and refused.response.content == "I can only pin my own answers."
        await member.slash(channel, "ice", aspect="hsi")
        await moderator.context_menu(channel, "Pin answer", channel.last_message)
        assert len(channel.pinned_messages()) == 1


async def test_browsing_the_real_table(clock):
    async with simcord.run(new_bot(clock, Router.load())) as env:
        channel, member, _ = await world(env)
        shown = await member.slash(channel, "topics")
        assert shown.ephemeral
        buttons = shown.response.components[0]["components"]
        assert buttons[1]["label"].startswith("1/")
        await member.click(shown.response, custom_id=buttons[2]["custom_id"])   # ▶
        assert shown.response.components[0]["components"][1]["label"].startswith("2/")
        about = await member.slash(channel, "about")
        assert "keeps nothing about members" in str(about.response.embeds[0].to_dict())
