"""The slash commands, driven through the real CommandTree from gateway INTERACTION_CREATE payloads; what the bot
sends is read back from the fake HTTP layer (see conftest.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from conftest import (
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    interaction_payload,
    slash,
)
from fakediscord.validation import check_message

from bot.core.matching import Candidate, Resolution
from bot.core.router import Router
from bot.discord.embeds import agency_topics

EPHEMERAL = 64
NO_MENTIONS = {"parse": []}


ANSWER_IDS = ["who:pin:human-trafficking", "who:fb:helpful:human-trafficking", "who:fb:unhelpful:human-trafficking",
              "who:fb:report:human-trafficking", "who:del", "who:open:related"]


def callback(fake: FakeDiscord, index: int = -1) -> dict[str, Any]:
    """The body of an interaction callback: {"type": ..., "data": ...}."""
    return [c for c in fake.calls if c.path.endswith("/callback")][index].json


def is_private(data: dict[str, Any]) -> bool:
    return bool(data.get("flags", 0) & EPHEMERAL)


def custom_ids(data: dict[str, Any]) -> list[str]:
    return [item["custom_id"] for row in data.get("components", []) for item in row["components"]]


async def ask(bot, fake, topic: str, **kwargs: Any) -> dict[str, Any]:
    private = kwargs.pop("private", None)
    options = {"topic": topic} | ({"private": private} if private is not None else {})
    await fake.interact(bot, interaction_payload(2, slash("who", **options), **kwargs))
    return callback(fake)


# --- /who -------------------------------------------------------------------------------------------------------------

async def test_a_picked_topic_is_answered_publicly_with_the_embed_and_a_pin_button(discord_env):
    bot, fake = discord_env
    sent = await ask(bot, fake, "human-trafficking")
    assert sent["type"] == 4                                    # CHANNEL_MESSAGE_WITH_SOURCE
    data = sent["data"]
    assert not is_private(data)
    assert data["allowed_mentions"] == NO_MENTIONS
    embed = data["embeds"][0]
    assert embed["title"] == "Human trafficking"
    assert embed["author"]["name"] == "DHS › ICE › HSI"
    assert embed["footer"]["text"].endswith("General information, not legal advice.")
    assert custom_ids(data) == ANSWER_IDS


async def test_private_answers_only_the_asker_and_offers_no_pin(discord_env):
    bot, fake = discord_env
    data = (await ask(bot, fake, "human-trafficking", private=True))["data"]
    assert is_private(data)
    assert data["embeds"][0]["title"] == "Human trafficking"
    assert "who:pin:human-trafficking" not in custom_ids(data)


@pytest.mark.parametrize(("typed", "title"), [
    ("which jail is he held in", "Immigration detention"),     # free text, resolved by the matcher
    ("trata de personas", "Human trafficking"),                # a Spanish alias, English locale
    ("  detention  ", "Immigration detention"),                # a topic id with stray spaces
])
async def test_typed_text_that_is_not_a_choice_is_resolved_by_the_matcher(discord_env, typed: str, title: str):
    bot, fake = discord_env
    assert bot.router.ask(typed).title == title                  # the core's answer...
    assert (await ask(bot, fake, typed))["data"]["embeds"][0]["title"] == title   # ...is what Discord shows


@pytest.mark.parametrize(("locale", "title", "handled"), [
    ("es-ES", "Trata de personas", "A cargo de"),
    ("es-419", "Trata de personas", "A cargo de"),
    ("en-GB", "Human trafficking", "Handled by"),
    ("pt-BR", "Human trafficking", "Handled by"),
])
async def test_answers_follow_the_members_locale(discord_env, locale: str, title: str, handled: str):
    bot, fake = discord_env
    embed = (await ask(bot, fake, "human-trafficking", locale=locale))["data"]["embeds"][0]
    assert embed["title"] == title
    assert embed["description"].startswith(f"{handled}: **")


@pytest.mark.parametrize(("locale", "label"), [("es-419", "Fijar"), ("en-US", "Pin")])
async def test_the_pin_button_speaks_the_answers_language(discord_env, locale: str, label: str):
    bot, fake = discord_env
    data = (await ask(bot, fake, "human-trafficking", locale=locale))["data"]
    [pin] = [button for button in buttons(data) if button.get("custom_id") == "who:pin:human-trafficking"]
    assert pin["label"] == label and pin["emoji"]["name"] == "📌"


async def test_a_latin_american_spanish_member_gets_the_spanish_text(discord_env):
    bot, fake = discord_env
    embed = (await ask(bot, fake, "detention", locale="es-419"))["data"]["embeds"][0]
    assert embed["title"] == "Detención migratoria"
    assert embed["footer"]["text"].endswith("Información general, no asesoría legal.")


async def test_no_match_is_one_plain_private_sentence_with_a_next_step_and_no_echo(discord_env):
    bot, fake = discord_env
    data = (await ask(bot, fake, "@everyone how do I file my **taxes**"))["data"]
    assert is_private(data)
    assert data["content"] == "I could not find that topic. Try other words, or see every topic with /topics."
    assert "routing table" not in data["content"] and not data.get("embeds")
    assert data["allowed_mentions"] == NO_MENTIONS


def buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for row in data.get("components", []) for item in row["components"]]


async def test_a_near_miss_offers_the_suggestions_as_buttons(discord_env):
    bot, fake = discord_env
    data = (await ask(bot, fake, "traffic jail", user_id=7))["data"]
    assert is_private(data) and not data.get("embeds")
    assert "Is this what you mean?" in data["content"] and "in this channel for everyone" in data["content"]
    assert [b["custom_id"] for b in buttons(data)] == ["who:pick:human-trafficking:7:s", "who:pick:detention:7:s"]
    assert all(b["type"] == 2 and len(b["label"]) <= 80 for b in buttons(data))


async def test_in_a_dm_the_answer_is_a_plain_message_without_a_pin_button(discord_env):
    bot, fake = discord_env
    data = (await ask(bot, fake, "detention", guild=False))["data"]
    assert not is_private(data) and data["embeds"][0]["title"] == "Immigration detention"
    assert not any(custom_id.startswith("who:pin:") for custom_id in custom_ids(data))
    assert is_private((await ask(bot, fake, "detention", guild=False, private=True))["data"])


async def test_an_answer_sent_again_is_the_same_message_and_its_view_is_never_stored(discord_env):
    """Embeds and views are kept per answer and their JSON built once: the second reply must be the first one's
    twin, and discord.py must not keep a view per reply."""
    bot, fake = discord_env
    first = await ask(bot, fake, "human-trafficking")
    again = await ask(bot, fake, "human-trafficking", channel_id=CHANNEL_ID + 1)   # not a repeat in the channel
    assert again == first
    assert custom_ids(first["data"]) == ANSWER_IDS
    assert bot._connection._view_store.persistent_views == []


# --- ambiguous: a picker only the asker can use -----------------------------------------------------------------------

class _AmbiguousFor:
    """The core's matcher, except that one query is ambiguous between trafficking (HSI) and detention (ERO)."""

    def __init__(self, inner, query: str):
        self.inner, self.query = inner, query

    def resolve(self, query: str) -> Resolution:
        if query == self.query:
            return Resolution(query, "ambiguous", (Candidate("human-trafficking", "ice-hsi", 61.0),
                                                   Candidate("detention", "ice-ero", 58.0)))
        return self.inner.resolve(query)

    def suggest(self, prefix: str, limit: int = 25) -> list[str]:
        return self.inner.suggest(prefix, limit)


@pytest.fixture
async def ambiguous_env(start_bot, mini_router: Router):
    return await start_bot(dataclasses.replace(mini_router, matcher=_AmbiguousFor(mini_router.matcher, "held")))


def press(custom_id: str, message: dict[str, Any], user_id: int, **kwargs: Any) -> dict[str, Any]:
    return interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, user_id=user_id, message=message,
                               **kwargs)


async def test_ambiguous_sends_a_private_picker_and_the_pick_is_answered_publicly(ambiguous_env):
    bot, fake = ambiguous_env
    data = (await ask(bot, fake, "held", user_id=7))["data"]
    assert is_private(data) and not data.get("embeds")
    assert data["content"] == ("Is this what you mean?\n"
                               "Picking one posts its answer in this channel for everyone.")
    assert [b["custom_id"] for b in buttons(data)] == ["who:pick:human-trafficking:7:s", "who:pick:detention:7:s"]
    message = fake.messages[max(fake.messages)]

    await fake.interact(bot, press("who:pick:detention:7:s", message, user_id=7))
    stepped_aside = callback(fake)
    assert stepped_aside["type"] == 7 and stepped_aside["data"]["components"] == []   # the picker loses its buttons
    answer = fake.replies()[-1].json                                                  # and the answer follows
    assert not is_private(answer)                                  # asked publicly, so answered publicly
    assert answer["embeds"][0]["title"] == "Immigration detention"
    assert "who:pin:detention" in custom_ids(answer)


async def test_only_the_asker_can_use_the_picker(ambiguous_env):
    bot, fake = ambiguous_env
    await ask(bot, fake, "held", user_id=7)
    message = fake.messages[max(fake.messages)]
    await fake.interact(bot, press("who:pick:detention:7:s", message, user_id=8))
    refusal = callback(fake)["data"]
    assert is_private(refusal) and "Only the person who asked" in refusal["content"]

    await fake.interact(bot, press("who:pick:detention:7:s", message, user_id=7))   # still usable by 7
    assert fake.replies()[-1].json["embeds"][0]["title"] == "Immigration detention"


async def test_a_private_ambiguous_question_becomes_its_private_answer_in_place(ambiguous_env):
    bot, fake = ambiguous_env
    data = (await ask(bot, fake, "held", user_id=7, private=True))["data"]
    assert "only to you" in data["content"]
    await fake.interact(bot, press("who:pick:human-trafficking:7:p", fake.messages[max(fake.messages)], user_id=7))
    update = callback(fake)
    assert update["type"] == 7 and update["data"]["embeds"][0]["title"] == "Human trafficking"
    assert "who:pin:human-trafficking" not in custom_ids(update["data"])


async def test_a_picker_holds_no_memory_and_works_after_a_restart(start_bot, ambiguous_env):
    bot, fake = ambiguous_env
    for user_id in range(100, 120):
        await ask(bot, fake, "held", user_id=user_id)
    assert not bot._connection._view_store._views      # nothing kept per question while it waits
    message = fake.messages[max(fake.messages)]

    restarted, _ = await start_bot(bot.router, fake)
    await fake.interact(restarted, press("who:pick:detention:119:s", message, user_id=119))
    assert fake.replies()[-1].json["embeds"][0]["title"] == "Immigration detention"


# --- autocomplete -----------------------------------------------------------------------------------------------------

async def complete(bot, fake, command: str, option: str, value: str, locale: str = "en-US") -> list[dict]:
    await fake.interact(bot, interaction_payload(4, slash(command, **{option: value, "focused": option}),
                                                 locale=locale))
    sent = callback(fake)
    assert sent["type"] == 8                                    # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    return sent["data"]["choices"]


async def test_autocomplete_offers_topics_by_prefix_with_ids_as_values(discord_env):
    bot, fake = discord_env
    assert await complete(bot, fake, "who", "topic", "traf") == [
        {"name": "Human trafficking — HSI", "value": "human-trafficking"}]
    assert (await complete(bot, fake, "who", "topic", "trata", locale="es-ES"))[0] == {
        "name": "Trata de personas — HSI", "value": "human-trafficking"}
    everything = await complete(bot, fake, "who", "topic", "")
    assert sorted(choice["value"] for choice in everything) == ["detention", "human-trafficking", "ice-mission"]


async def test_autocomplete_on_the_real_table_stays_within_discords_limits(start_bot):
    # Speed is measured by bench/bench_routing.py (suggest p99), not asserted here.
    real = Router.load()
    bot, fake = await start_bot(real)
    for prefix in ("traf", "", "i", "287", "which jail is he in", "x" * 100, "trata de", "ice"):
        choices = await complete(bot, fake, "who", "topic", prefix)
        assert len(choices) <= 25
        assert all(1 <= len(c["name"]) <= 100 and c["value"] in real.knowledge.topics for c in choices)
    assert (await complete(bot, fake, "who", "topic", "traf"))[0]["value"] in {
        topic_id for topic_id in real.knowledge.topics if "trafficking" in topic_id}


# --- /ice -------------------------------------------------------------------------------------------------------------

async def test_ice_answers_the_topic_of_an_aspect(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("ice", aspect="ero")))
    assert callback(fake)["data"]["embeds"][0]["title"] == "Immigration detention"


async def test_ice_rejects_a_value_that_is_not_one_of_its_choices(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("ice", aspect="skating")))
    data = callback(fake)["data"]
    assert is_private(data) and data["content"].startswith("I could not read that option")


# --- /agency, /topics, /sources, /about -------------------------------------------------------------------------------

async def test_agency_autocomplete_and_answer(discord_env):
    bot, fake = discord_env
    choices = await complete(bot, fake, "agency", "name", "hs")
    assert choices[0] == {"name": "HSI — Homeland Security Investigations", "value": "ice-hsi"}
    await fake.interact(bot, interaction_payload(2, slash("agency", name="ice")))
    data = callback(fake)["data"]
    assert not is_private(data) and data["allowed_mentions"] == NO_MENTIONS
    embed = data["embeds"][0]
    assert embed["title"] == "U.S. Immigration and Customs Enforcement"
    assert embed["author"]["name"] == "DHS › ICE"
    names = [field["name"] for field in embed["fields"]]
    assert names == ["U.S. Immigration and Customs Enforcement (ICE)", "Homeland Security Investigations (HSI)",
                     "Enforcement and Removal Operations (ERO)"]
    [menu] = [item for row in data["components"] for item in row["components"] if item["type"] == 3]
    assert menu["custom_id"] == "who:open:ice"
    assert [option["value"] for option in menu["options"]] == ["ice-mission", "human-trafficking", "detention"]


def live_syntax(text: str) -> list[str]:
    """The characters of Discord's link, mention, timestamp and emoji syntax ([ ] ( ) < >) that no backslash
    escapes in `text`, the way Discord's markdown reads it (a backslash escapes the next character)."""
    live, escaped = [], False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "[]()<>":
            live.append(char)
    return live


@pytest.mark.parametrize("typed", [
    "[[click](https://evil.example)",                   # escape_markdown escaped only the outer bracket
    "[ ||spoiler|| **bold** ](https://evil.example)",
    "<#700000000000000001> </who:500000000000000001> <t:1700000000:R> <:wave:123456789012345678>",
    "\\[x](https://evil.example)",                       # a backslash of our own must not undo the escape
    "join discord.gg/abc or https://discord.com/invite/abc",
])
async def test_an_unknown_agency_echoes_the_name_with_its_syntax_neutralised(discord_env, typed: str):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("agency", name=typed)))
    content = callback(fake)["data"]["content"]
    assert content.startswith("I do not know an agency called")
    assert live_syntax(content) == []
    assert "discord.gg/" not in content and "discord.com/invite/" not in content
    assert "||spoiler||" not in content and "**bold**" not in content


async def test_a_short_agency_answer_is_public_with_a_pin_button_above_its_menu(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("agency", name="ice"), locale="es-419"))
    data = callback(fake)["data"]
    assert not is_private(data)
    assert [component["type"] for row in data["components"] for component in row["components"]] == [2, 3]
    assert custom_ids(data) == ["who:pin:ice", "who:open:ice"]
    assert data["components"][0]["components"][0]["label"] == "Fijar"


async def test_a_long_agency_answer_is_private_unless_asked_for_in_public(start_bot):
    bot, fake = await start_bot(Router.load())        # DHS: over a hundred topics, several menus
    await fake.interact(bot, interaction_payload(2, slash("agency", name="dhs"), user_id=31))
    data = callback(fake)["data"]
    assert is_private(data) and not any(cid.startswith("who:pin:") for cid in custom_ids(data))
    await fake.interact(bot, interaction_payload(2, slash("agency", name="uscis", private=False), user_id=32))
    data = callback(fake)["data"]
    assert not is_private(data) and "who:pin:uscis" in custom_ids(data)
    await fake.interact(bot, interaction_payload(2, slash("agency", name="ice-hsi"), user_id=33))
    assert is_private(callback(fake)["data"])           # 14 topics: a long list too


async def test_an_agencys_topic_menu_opens_the_answer_privately_for_whoever_picks(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("agency", name="HSI")))
    message = fake.messages[max(fake.messages)]
    pick = {"custom_id": "who:open:ice-hsi", "component_type": 3, "values": ["human-trafficking"]}
    await fake.interact(bot, interaction_payload(3, pick, user_id=99, locale="es-ES", message=message))
    data = callback(fake)["data"]
    assert is_private(data) and data["embeds"][0]["title"] == "Trata de personas"


async def test_every_topic_of_every_agency_is_reachable_from_its_menus(start_bot):
    """On the real table DHS and ICE each handle more than 25 topics, Discord's limit for one menu."""
    real = Router.load()
    bot, fake = await start_bot(real)
    large = 0
    for user_id, agency_id in enumerate(real.knowledge.agencies, start=1000):   # one member each: no rate limit
        expected = agency_topics(real.knowledge, agency_id)
        await fake.interact(bot, interaction_payload(2, slash("agency", name=agency_id), user_id=user_id))
        data = callback(fake)["data"]
        assert data["embeds"][0]["title"], agency_id
        check_message(data, creating=True)      # Discord's rules: 5 rows, 25 options a menu, distinct custom_ids
        menus = [item for row in data.get("components", []) for item in row["components"] if item["type"] == 3]
        assert [option["value"] for menu in menus for option in menu["options"]] == expected, agency_id
        assert len(menus) == -(-len(expected) // 25), agency_id
        if len(menus) > 1:
            large += 1
            assert menus[0]["custom_id"] == f"who:open:{agency_id}"
            assert menus[-1]["placeholder"] == f"Open a topic ({(len(menus) - 1) * 25 + 1}–{len(expected)} of "\
                                              f"{len(expected)})"
            # the last topic of the last menu opens, through the persistent DynamicItem as after a restart
            pick = {"custom_id": menus[-1]["custom_id"], "component_type": 3, "values": [expected[-1]]}
            await fake.interact(bot, interaction_payload(3, pick, user_id=user_id,
                                                         message=fake.messages[max(fake.messages)]))
            answer = callback(fake)["data"]
            assert is_private(answer)
            assert answer["embeds"][0]["title"] == real.knowledge.topics[expected[-1]].title
    assert large >= 2                           # dhs and ice at least


async def test_an_unknown_agency_is_refused_privately_and_escaped(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("agency", name="<@&123456789012345678> _x_")))
    data = callback(fake)["data"]
    assert is_private(data)
    assert "<@&123456789012345678>" not in data["content"] and "\\_x\\_" in data["content"]


async def test_topics_pages_through_the_real_table_with_buttons_that_survive_a_restart(start_bot):
    bot, fake = await start_bot(Router.load())
    await fake.interact(bot, interaction_payload(2, slash("topics"), user_id=5))
    first = callback(fake)["data"]
    assert is_private(first)
    row = first["components"][0]["components"]
    assert [b.get("disabled", False) for b in row] == [True, True, False]      # ◀ disabled on page 1; the counter
    assert [b.get("label") for b in row[::2]] == ["Previous", "Next"]          # words for screen readers
    total = int(row[1]["label"].split("/")[1])
    assert total > 1
    assert not bot._connection._view_store._views                             # nothing kept while it is open

    restarted, _ = await start_bot(bot.router, fake)
    await fake.interact(restarted, press(row[2]["custom_id"], fake.messages[max(fake.messages)], user_id=5))
    page = callback(fake)
    assert page["type"] == 7                                                 # UPDATE_MESSAGE
    assert page["data"]["components"][0]["components"][1]["label"] == f"2/{total}"
    assert page["data"]["embeds"][0]["fields"] != first["embeds"][0]["fields"]


async def test_sources_and_about(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("sources")))
    sources = callback(fake)["data"]["embeds"][0]
    assert "[Human Trafficking fact sheet](https://www.ice.gov/factsheets/human-trafficking)" in sources["fields"][
        0]["value"]
    await fake.interact(bot, interaction_payload(2, slash("about")))
    about = callback(fake)["data"]["embeds"][0]
    text = str(about)
    assert "keeps nothing about members" in text and "not legal advice" in text and "2026-11-25" in text
    assert f"/channels/{GUILD_ID}/{CHANNEL_ID}" not in text


async def test_every_reply_of_a_session_goes_out_with_mentions_disabled(ambiguous_env):
    bot, fake = ambiguous_env
    await ask(bot, fake, "human-trafficking")
    await ask(bot, fake, "human-trafficking")                  # the repeat pointer
    await ask(bot, fake, "held")
    await ask(bot, fake, "nothing at all here")
    for command in ("topics", "sources", "about"):
        await fake.interact(bot, interaction_payload(2, slash(command)))
    await fake.interact(bot, interaction_payload(2, slash("agency", name="ero")))
    sent = [c.json.get("data", c.json) for c in fake.replies() if c.json.get("type", 4) in (4, 7)]
    assert len(sent) == 8
    assert all(data["allowed_mentions"] == NO_MENTIONS for data in sent)
