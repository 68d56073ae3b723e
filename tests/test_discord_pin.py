"""The 📌 Pin button (a persistent DynamicItem) and the "Pin answer" context menu."""

from __future__ import annotations

import re

import discord
import pytest
from conftest import (
    CHANNEL_ID,
    MEMBER_BITS,
    PIN_BITS,
    interaction_payload,
    message_payload,
    slash,
    user_payload,
)

from bot.core.router import Router
from bot.discord.views import OpenTopicSelect, PinButton, can_pin

EPHEMERAL = 64
MODERATOR = MEMBER_BITS | discord.Permissions(manage_messages=True).value
PINNER = MEMBER_BITS | discord.Permissions(pin_messages=True).value
ADMIN = MEMBER_BITS | discord.Permissions(administrator=True).value


def pins(fake) -> list:
    return [c for c in fake.calls if c.path == "/channels/{channel_id}/messages/pins/{message_id}"]


def told(fake) -> str:
    """The text of the last private message (a response or, after a defer, a follow-up)."""
    call = fake.replies()[-1]
    data = call.json.get("data", call.json)
    assert data.get("flags", 0) & EPHEMERAL
    return data["content"]


async def answer(bot, fake, topic: str = "human-trafficking") -> dict:
    """Post a public answer and return the message Discord stored for it."""
    await fake.interact(bot, interaction_payload(2, slash("who", topic=topic)))
    return fake.messages[max(fake.messages)]


def press(message: dict, **kwargs) -> dict:
    custom_id = message["components"][0]["components"][0]["custom_id"]
    return interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, message=message, **kwargs)


# --- the custom_id ----------------------------------------------------------------------------------------------------

async def test_the_custom_id_carries_the_topic_and_round_trips():
    button = PinButton("human-trafficking")
    assert button.custom_id == "who:pin:human-trafficking"
    match = PinButton.__discord_ui_compiled_template__.fullmatch(button.custom_id)
    assert match is not None
    again = await PinButton.from_custom_id(None, button.item, match)   # type: ignore[arg-type]
    assert again.topic_id == "human-trafficking" and again.custom_id == button.custom_id
    assert button.is_persistent()


def test_every_real_topic_id_makes_a_valid_custom_id():
    for topic_id in Router.load().knowledge.topics:
        custom_id = PinButton(topic_id).custom_id
        assert len(custom_id) <= 100 and re.fullmatch(PinButton.__discord_ui_compiled_template__, custom_id)
    select = OpenTopicSelect("ice-hsi", [("Human trafficking — HSI", "human-trafficking")])
    assert select.custom_id == "who:open:ice-hsi"


async def test_the_button_survives_a_restart(start_bot, mini_router: Router):
    """A message posted by one bot process is pinned by a fresh one: nothing but the custom_id is remembered."""
    old, fake = await start_bot(mini_router)
    message = await answer(old, fake)
    await old.close()
    new, _ = await start_bot(Router.load(mini_router.knowledge.directory), fake)
    await fake.interact(new, press(message, user_id=11, permissions=MODERATOR))
    assert len(pins(fake)) == 1
    assert pins(fake)[0].url.endswith(f"/channels/{CHANNEL_ID}/messages/pins/{message['id']}")
    assert told(fake) == "Pinned."


# --- who may pin ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("permissions", [MODERATOR, PINNER, ADMIN])
async def test_members_allowed_to_pin_can_pin_and_the_audit_log_names_them(discord_env, permissions: int):
    bot, fake = discord_env
    message = await answer(bot, fake)
    await fake.interact(bot, press(message, user_id=11, permissions=permissions))
    assert [call.reason for call in pins(fake)] == ["Pinned with the who-handles Pin button by member11 (11)"]
    assert told(fake) == "Pinned."


async def test_anyone_else_gets_a_private_refusal_and_nothing_happens(discord_env):
    bot, fake = discord_env
    message = await answer(bot, fake)
    await fake.interact(bot, press(message, user_id=12, permissions=MEMBER_BITS, locale="es-419"))
    assert pins(fake) == []
    assert told(fake).startswith("Solo los miembros que pueden fijar mensajes")


async def test_a_bot_without_the_permission_says_so_before_trying(discord_env):
    bot, fake = discord_env
    message = await answer(bot, fake)
    await fake.interact(bot, press(message, permissions=MODERATOR, app_permissions=MEMBER_BITS))
    assert pins(fake) == []
    assert told(fake).startswith("I am not allowed to pin messages here")


@pytest.mark.parametrize(("status", "code", "text"), [
    (403, 50013, "I am not allowed to pin messages here"),
    (400, 30003, "This channel has reached Discord's limit of pinned messages"),
    (404, 10008, "That message no longer exists."),
])
async def test_discords_refusals_become_clear_private_answers(discord_env, status: int, code: int, text: str):
    bot, fake = discord_env
    message = await answer(bot, fake)
    fake.pin_error = (status, code, "refused")
    await fake.interact(bot, press(message, permissions=MODERATOR))
    assert len(pins(fake)) == 1
    assert told(fake).startswith(text)


async def test_an_already_pinned_answer_is_not_pinned_again(discord_env):
    bot, fake = discord_env
    message = dict(await answer(bot, fake), pinned=True)
    await fake.interact(bot, press(message, permissions=MODERATOR))
    assert pins(fake) == []
    assert told(fake) == "This answer is already pinned."


async def test_an_unexpected_failure_gets_an_error_id_not_a_traceback(discord_env, caplog):
    bot, fake = discord_env
    message = await answer(bot, fake)
    fake.pin_error = (500, 0, "boom")
    with caplog.at_level("ERROR", logger="who_handles.discord"):
        await fake.interact(bot, press(message, permissions=MODERATOR))
    text = told(fake)
    error_id = re.search(r"error id `([0-9a-f]{8})`", text)
    assert error_id and "Traceback" not in text
    record = next(r for r in caplog.records if error_id.group(1) in r.getMessage())
    assert record.exc_info and record.exc_info[0] is discord.DiscordServerError   # the whole story, in the log


def test_can_pin_reads_manage_messages_or_pin_messages():
    assert can_pin(discord.Permissions(manage_messages=True))
    assert can_pin(discord.Permissions(pin_messages=True))
    assert not can_pin(discord.Permissions(send_messages=True, view_channel=True))


# --- the context menu -------------------------------------------------------------------------------------------------

def context_menu(message: dict, **kwargs) -> dict:
    data = {"id": "500000000000000009", "name": "Pin answer", "type": 3, "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}}}
    return interaction_payload(2, data, **kwargs)


async def test_the_context_menu_pins_the_bots_own_answer_and_the_audit_log_says_how(discord_env):
    bot, fake = discord_env
    message = await answer(bot, fake)
    await fake.interact(bot, context_menu(message, user_id=11, permissions=PINNER))
    assert [call.reason for call in pins(fake)] == ["Pinned with the who-handles Pin answer menu by member11 (11)"]
    assert told(fake) == "Pinned."


async def test_the_context_menu_refuses_other_peoples_messages(discord_env):
    bot, fake = discord_env
    someone = dict(message_payload(fake.snowflake(), {"content": "hello"}), author=user_payload(5, "someone"))
    await fake.interact(bot, context_menu(someone, permissions=MODERATOR))
    assert pins(fake) == [] and told(fake) == "I can only pin my own answers."


async def test_the_button_on_a_message_that_is_not_the_bots_refuses_like_the_menu(discord_env):
    """Discord only sends presses of the bot's own buttons, but a forged payload carried the button on a member's
    message and pinned it for a moderator."""
    bot, fake = discord_env
    message = await answer(bot, fake)
    forged = dict(message, id=str(fake.snowflake()), author=user_payload(5, "someone"))
    await fake.interact(bot, press(forged, permissions=MODERATOR))
    assert pins(fake) == [] and told(fake) == "I can only pin my own answers."


async def test_the_context_menu_is_for_servers_and_for_those_who_may_pin(discord_env):
    bot, _ = discord_env
    menu = bot.tree.get_command("Pin answer", type=discord.AppCommandType.message)
    assert menu is not None and menu.guild_only
    assert menu.default_permissions == discord.Permissions(pin_messages=True)
    assert PIN_BITS & menu.default_permissions.value
