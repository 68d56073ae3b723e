"""What each server owns, through the real bot and the in-process fake Discord: /server, local help notes, aliases,
feedback and reports, 🗑 and Share, pins recorded, "Answer this message", and answers while the database is down."""

from __future__ import annotations

import discord
import pytest
from conftest import (
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_BITS,
    PIN_BITS,
    interaction_payload,
    settle,
    slash,
    user_payload,
)

from bot.discord.local import LOCAL_HEADING, check_alias, check_note
from bot.store import EVERY_TOPIC, SafeStore

EPHEMERAL = 64
MANAGER = MEMBER_BITS | discord.Permissions(manage_guild=True).value
REPORTS = 700000000000000099


def server(*path: str, **options) -> dict:
    """The `data` of /server SUB [SUBSUB] with options."""
    types = {str: 3, bool: 5, int: 4}
    leaf = {"name": path[-1], "type": 1, "options": [{"name": k, "type": types[type(v)], "value": v}
                                                   for k, v in options.items()]}
    if len(path) == 2:
        leaf = {"name": path[0], "type": 2, "options": [leaf]}
    return {"id": "500000000000000009", "name": "server", "type": 1, "options": [leaf]}


def data(call) -> dict:
    return call.json.get("data", call.json) if call.path.endswith("/callback") else call.json


def last_text(fake) -> str:
    return data(fake.replies()[-1]).get("content") or ""


def ids(message: dict) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"] if "custom_id" in c]


async def ask(bot, fake, topic="human-trafficking", **kw) -> dict:
    await fake.interact(bot, interaction_payload(2, slash("who", topic=topic), **kw))
    return data(fake.replies()[-1])


def press(custom_id: str, message: dict, **kw) -> dict:
    return interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, message=message, **kw)


@pytest.fixture
async def discord_env(start_bot, mini_router, store_backend):
    """(bot, fake) on the mini table with its store on each backend: every part below runs on SQLite and on
    PostgreSQL."""
    return await start_bot(mini_router, store=SafeStore(store_backend.make()))


# --- /server is for Manage Server ------------------------------------------------------------------------------

async def test_server_settings_are_refused_without_manage_server_and_saved_with_it(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, server("private", private=True), permissions=MEMBER_BITS))
    assert "Only members with Manage Server" in last_text(fake)
    assert (await bot.store.guild_settings(GUILD_ID)).private_default is False
    await fake.interact(bot, interaction_payload(2, server("private", private=True), permissions=MANAGER))
    assert last_text(fake) == "Answers are now private by default."
    assert (await bot.store.guild_settings(GUILD_ID)).private_default is True


# --- local help ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "reason"), [
    ("x" * 301, "at most 300 characters"),
    ("Call us @everyone", "cannot mention"),
    ("Ask <@123456789012345678>", "cannot mention"),
    ("See http://clinic.example.org", "Only https:// links"),
    ("See javascript:alert(1) or ftp://x.example", "Only https:// links"),
    ("[Our clinic](https://evil.example)", "not as [text](link)"),
    ("**Free** lawyers", "no markdown"),
    ("# Big heading", "no markdown"),
    ("Clinic\u202eevil", "invisible or control character"),
    ("Clinic\u200b", "invisible or control character"),
    ("a\nb\nc\nd\ne", "at most 4 lines"),
    ("www.clinic.example", "starting with https://"),
    ("   ", "empty"),
])
def test_hostile_help_notes_are_refused_with_the_reason(text: str, reason: str):
    assert reason in (check_note(text) or "")


def test_plain_unicode_notes_and_aliases_pass():
    assert check_note("Clínica legal: martes 18 h, https://clinica.example.org/ayuda 📞") is None
    assert check_alias("la migra") is None and check_alias("Ñandú's court") is None
    assert "mention" in check_alias("@here")
    assert "not a link" in check_alias("https://x.example")
    assert "at most 60" in check_alias("x" * 61)
    assert "letters, digits" in check_alias("**bold**")


async def test_a_note_is_added_checked_and_shown_in_its_own_marked_field(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, server("help", "add", topic="all", text="See http://x.example"),
                                                 permissions=MANAGER))
    assert last_text(fake).startswith("Not added. Only https:// links")
    await fake.interact(bot, interaction_payload(2, server("help", "add", topic="human-trafficking",
                                                           text="Our clinic: Tuesdays 6 pm, https://clinic.example"),
                                                 permissions=MANAGER))
    assert last_text(fake).startswith("Note 1 added")
    plain = await ask(bot, fake, "human-trafficking", user_id=50)
    [embed] = plain["embeds"]
    local = [f for f in embed["fields"] if f["name"] == LOCAL_HEADING["en"]]
    assert local == [{"name": LOCAL_HEADING["en"], "value": "• Our clinic: Tuesdays 6 pm, https://clinic.example",
                      "inline": False}]
    assert "clinic" not in embed["description"].lower()      # never mixed with the cited text
    assert plain["allowed_mentions"] == {"parse": []}


async def test_a_server_alias_answers_its_topic_in_that_server_only(discord_env):
    bot, fake = discord_env
    await bot.store.add_alias(GUILD_ID, "the broadview thing", "human-trafficking")
    answer = await ask(bot, fake, "The Broadview   thing")
    assert "who:pin:human-trafficking" in ids(answer)


# --- privacy --------------------------------------------------------------------------------------------------

async def test_private_by_default_gives_a_private_answer_with_share_which_posts_it(discord_env):
    bot, fake = discord_env
    await bot.store.update_guild_settings(GUILD_ID, private_default=True)
    answer = await ask(bot, fake)
    assert answer["flags"] & EPHEMERAL
    assert "who:share:en:human-trafficking" in ids(answer) and "who:del" not in ids(answer)
    await fake.interact(bot, press("who:share:en:human-trafficking", fake.messages[max(fake.messages)]))
    shared = data(fake.replies()[-1])
    assert not shared.get("flags", 0) & EPHEMERAL and "who:del" in ids(shared)
    explicit = await ask(bot, fake, "human-trafficking", user_id=77)   # private=False said by the asker wins
    assert explicit["flags"] & EPHEMERAL


async def test_outside_the_servers_answer_channels_the_answer_is_private(discord_env):
    bot, fake = discord_env
    await bot.store.set_answer_channel(GUILD_ID, CHANNEL_ID + 5, True)
    answer = await ask(bot, fake)
    assert answer["flags"] & EPHEMERAL and "other channels" in answer["content"]
    inside = await ask(bot, fake, channel_id=CHANNEL_ID + 5)
    assert not inside.get("flags", 0) & EPHEMERAL


async def test_the_asker_or_a_moderator_may_delete_a_public_answer_and_nobody_else(discord_env):
    bot, fake = discord_env
    await ask(bot, fake, user_id=42)
    message = fake.messages[max(fake.messages)]
    message["interaction_metadata"] = {"id": "1", "type": 2, "user": user_payload(42, "member42"),
                                       "authorizing_integration_owners": {}}
    await fake.interact(bot, press("who:del", message, user_id=43))
    assert "Only the person who asked" in last_text(fake)
    assert not [c for c in fake.calls if c.method == "DELETE"]
    await fake.interact(bot, press("who:del", message, user_id=42))
    assert [c.path for c in fake.calls if c.method == "DELETE"] == ["/webhooks/{webhook_id}/{webhook_token}"
                                                                    "/messages/@original"]


# --- feedback and reports -----------------------------------------------------------------------------------

async def test_feedback_is_counted_once_per_member_without_who_and_reports_reach_the_moderators(discord_env):
    bot, fake = discord_env
    await ask(bot, fake)
    message = fake.messages[max(fake.messages)]
    for user in (1, 2, 2, 3):
        await fake.interact(bot, press("who:fb:helpful:human-trafficking", message, user_id=user))
    assert "already" in last_text(fake) or "Thank you" in last_text(fake)
    await fake.interact(bot, press("who:fb:unhelpful:human-trafficking", message, user_id=4))
    await fake.interact(bot, press("who:fb:report:human-trafficking", message, user_id=5))
    assert "no moderators' channel" in last_text(fake)
    await bot.store.update_guild_settings(GUILD_ID, report_channel_id=REPORTS)
    await fake.interact(bot, press("who:fb:report:human-trafficking", message, user_id=6))
    assert "moderators have been told" in last_text(fake)
    [post] = [c for c in fake.calls if c.path == "/channels/{channel_id}/messages"]
    assert post.url.endswith(f"/channels/{REPORTS}/messages")
    assert "human-trafficking" in post.json["content"] and str(message["id"]) in post.json["content"]
    assert "member6" not in post.json["content"]
    assert post.json["allowed_mentions"] == {"parse": []}
    await discord_settle(bot)
    stats = await bot.store.stats(GUILD_ID)
    assert (stats.helpful, stats.unhelpful, stats.reports) == (3, 1, 2)


async def discord_settle(bot) -> None:
    import asyncio
    if bot._writes:
        await asyncio.gather(*bot._writes)


async def test_answers_are_counted_by_topic_for_server_stats(discord_env):
    bot, fake = discord_env
    await ask(bot, fake)
    await ask(bot, fake, "zzzz qqqq", user_id=9)
    await discord_settle(bot)
    stats = await bot.store.stats(GUILD_ID)
    assert {(r.topic_id, r.status) for r in stats.answers} >= {("human-trafficking", "match")}
    await fake.interact(bot, interaction_payload(2, server("stats"), permissions=MANAGER))
    reply = data(fake.replies()[-1])
    assert reply["flags"] & EPHEMERAL and reply["embeds"][0]["title"].startswith("who-handles in this server")


async def test_answers_asked_together_are_all_counted_in_a_few_writes(start_bot, mini_router, store_backend):
    """Sixty members ask at once: every answer is counted, in a few transactions, not one each (those queued up on
    the database, and the answers' own reads of the server's settings waited behind them until they timed out)."""
    inner = store_backend.make()
    bot, fake = await start_bot(mini_router, store=SafeStore(inner))
    transactions: list[int] = []
    write = inner._transaction

    async def counted(work):   # the real store's transaction, counted
        transactions.append(len(work))
        await write(work)

    inner._transaction = counted
    for member in range(60):
        bot._connection.parse_interaction_create(
            interaction_payload(2, slash("who", topic="human-trafficking"), user_id=1000 + member))
    await settle()
    assert len(fake.replies()) == 60
    assert (await bot.store.stats(GUILD_ID)).total_answers == 60
    assert 1 <= len(transactions) <= 6, transactions


async def test_an_answer_reads_the_servers_settings_once(start_bot, mini_router, store_backend):
    """The rate check and the answer both need the server's settings: one read (here uncached) serves both."""
    inner = store_backend.make()
    bot, fake = await start_bot(mini_router, store=SafeStore(inner, cache_seconds=0))
    await bot.store.update_guild_settings(GUILD_ID, private_default=True, rate_count=3)
    reads: list[int] = []
    read = inner.guild_settings

    async def counted(guild_id):   # the real store's read, counted
        reads.append(guild_id)
        return await read(guild_id)

    inner.guild_settings = counted
    reply = await ask(bot, fake)
    assert reply["flags"] & EPHEMERAL   # the server's setting was applied
    assert reads == [GUILD_ID]


# --- pins -----------------------------------------------------------------------------------------------------

async def test_a_pin_is_recorded_with_topic_language_version_and_path_and_listed(discord_env):
    bot, fake = discord_env
    await ask(bot, fake)
    message = fake.messages[max(fake.messages)]
    await fake.interact(bot, press("who:pin:human-trafficking", message, permissions=PIN_BITS | MEMBER_BITS))
    await discord_settle(bot)
    [pin] = await bot.store.pins(GUILD_ID)
    assert (pin.message_id, pin.topic_id, pin.lang, pin.via) == (int(message["id"]), "human-trafficking", "en",
                                                                 "button")
    assert pin.table_version == bot.router.knowledge.version
    await fake.interact(bot, interaction_payload(2, server("pins"), permissions=MANAGER))
    assert f"/{GUILD_ID}/{CHANNEL_ID}/{message['id']}" in last_text(fake)


async def test_the_servers_pin_role_may_pin(discord_env):
    bot, fake = discord_env
    await bot.store.update_guild_settings(GUILD_ID, pin_role_id=555)
    await ask(bot, fake)
    message = fake.messages[max(fake.messages)]
    payload = press("who:pin:human-trafficking", message, permissions=MEMBER_BITS)
    await fake.interact(bot, payload)
    assert "pin" in last_text(fake).lower() and last_text(fake) != "Pinned."
    payload = press("who:pin:human-trafficking", message, permissions=MEMBER_BITS)
    payload["member"]["roles"] = ["555"]
    payload["guild"] = {"id": str(GUILD_ID), "locale": "en-US", "features": []}
    await fake.interact(bot, payload)
    assert last_text(fake) == "Pinned."


# --- "Answer this message" --------------------------------------------------------------------------------------

async def test_answer_this_message_replies_to_the_members_message_with_the_best_topic(discord_env):
    bot, fake = discord_env
    target = {"id": "333000000000000001", "channel_id": str(CHANNEL_ID), "author": user_payload(77, "asker"),
              "content": "who handles human trafficking?", "timestamp": "2026-12-04T10:00:00+00:00",
              "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
              "attachments": [], "embeds": [], "pinned": False, "type": 0}
    command = {"id": "500000000000000010", "name": "Answer this message", "type": 3, "target_id": target["id"],
               "resolved": {"messages": {target["id"]: target}}}
    await fake.interact(bot, interaction_payload(2, command))
    [post] = [c for c in fake.calls if c.path == "/channels/{channel_id}/messages"]
    assert str(post.json["message_reference"]["message_id"]) == target["id"]
    assert post.json["allowed_mentions"]["parse"] == [] and post.json["allowed_mentions"]["replied_user"] is False
    assert "who:pin:human-trafficking" in ids(post.json)
    assert last_text(fake).startswith("Answered: https://discord.com/channels/")


# --- the database goes down ---------------------------------------------------------------------------------------

async def test_answers_keep_flowing_when_the_database_stops_mid_run(start_bot, mini_router, store_backend):
    store = SafeStore(store_backend.make(), retry_after=0.0, cache_seconds=0)   # asks the database every call
    bot, fake = await start_bot(mini_router, store=store)
    await bot.store.add_help_note(GUILD_ID, EVERY_TOPIC, "Clinic https://clinic.example")
    before = await ask(bot, fake)
    assert any(f["name"] == LOCAL_HEADING["en"] for f in before["embeds"][0]["fields"])
    outage = store_backend.outage(store)
    await outage.stop()
    during = await ask(bot, fake, user_id=99, channel_id=CHANNEL_ID + 1)
    assert not during.get("flags", 0) & EPHEMERAL and during["embeds"]            # answered, publicly
    assert not any(f["name"] == LOCAL_HEADING["en"] for f in during["embeds"][0]["fields"])
    await discord_settle(bot)
    assert not store.available
    await outage.start()
    after = await ask(bot, fake, user_id=98, channel_id=CHANNEL_ID + 2)
    assert any(f["name"] == LOCAL_HEADING["en"] for f in after["embeds"][0]["fields"])   # back, notes and all
    assert store.available


async def test_the_servers_rate_limit_applies_to_its_members(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, server("limits", rate_count=1, rate_seconds=60),
                                                 permissions=MANAGER))
    first = await ask(bot, fake, "human-trafficking", user_id=42)
    assert first.get("embeds")
    await fake.interact(bot, interaction_payload(2, slash("who", topic="detention"), user_id=42))
    assert "You are asking very fast" in last_text(fake)
    other = await ask(bot, fake, "detention", user_id=43)                # another member is not held back
    assert other.get("embeds")
