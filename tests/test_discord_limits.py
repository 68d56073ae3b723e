"""Behaviour in a busy server: one public copy of an answer per channel per minute, and a per-member rate. Time
is a FakeClock handed to the bot, so nothing sleeps."""

from __future__ import annotations

import pytest
from conftest import CHANNEL_ID, GUILD_ID, FakeClock, interaction_payload, slash

from bot.discord.limits import (
    REPEAT_WINDOW_SECONDS,
    USER_RATE_COUNT,
    USER_RATE_SECONDS,
    Limits,
    RecentAnswers,
    UserRate,
)
from bot.settings import Settings

EPHEMERAL = 64


def sent(fake) -> list[dict]:
    return [c.json["data"] for c in fake.calls if c.path.endswith("/callback")]


def public(fake) -> list[dict]:
    return [data for data in sent(fake) if not data.get("flags", 0) & EPHEMERAL]


async def who(bot, fake, topic: str, **kwargs) -> dict:
    await fake.interact(bot, interaction_payload(2, slash("who", topic=topic), **kwargs))
    return sent(fake)[-1]


def test_the_named_defaults():
    assert (REPEAT_WINDOW_SECONDS, USER_RATE_COUNT, USER_RATE_SECONDS) == (60.0, 5, 30.0)
    assert Limits() == Limits(60.0, 5, 30.0)
    settings = Settings.from_env({"REPEAT_WINDOW_SECONDS": "10", "USER_RATE_COUNT": "2", "USER_RATE_SECONDS": "5"})
    assert Limits.from_settings(settings) == Limits(10.0, 2, 5.0)


async def test_the_same_topic_again_within_a_minute_gets_a_private_pointer(discord_env, clock):
    bot, fake = discord_env
    first = await who(bot, fake, "human-trafficking", user_id=1)
    message_id = max(fake.messages)
    clock.advance(59)
    pointer = await who(bot, fake, "trafficking", user_id=2)          # same topic, other words, other member
    assert pointer["flags"] & EPHEMERAL
    assert pointer["content"] == (f"This was answered in this channel a moment ago: "
                                  f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message_id}")
    assert "embeds" not in pointer or not pointer["embeds"]
    assert public(fake) == [first]

    await fake.interact(bot, interaction_payload(2, slash("ice", aspect="hsi"), user_id=3))  # /ice hsi: same topic
    assert sent(fake)[-1]["flags"] & EPHEMERAL and len(public(fake)) == 1

    clock.advance(1)                                                   # 60 s after the first answer
    again = await who(bot, fake, "human-trafficking", user_id=4)
    assert not again.get("flags", 0) & EPHEMERAL and len(public(fake)) == 2


async def test_other_topics_other_channels_and_private_answers_are_not_held_back(discord_env):
    bot, fake = discord_env
    await who(bot, fake, "human-trafficking")
    await who(bot, fake, "detention", user_id=2)
    await who(bot, fake, "human-trafficking", user_id=3, channel_id=CHANNEL_ID + 1)
    assert len(public(fake)) == 3
    await fake.interact(bot, interaction_payload(2, slash("who", topic="human-trafficking", private=True),
                                                 user_id=4))
    assert sent(fake)[-1]["embeds"][0]["title"] == "Human trafficking"     # the full answer, privately


async def test_a_repeated_agency_answer_also_gets_a_pointer(discord_env):
    bot, fake = discord_env
    await fake.interact(bot, interaction_payload(2, slash("agency", name="HSI"), user_id=1))
    await fake.interact(bot, interaction_payload(2, slash("agency", name="ice-hsi"), user_id=2))
    assert sent(fake)[-1]["flags"] & EPHEMERAL and "a moment ago" in sent(fake)[-1]["content"]


async def test_a_member_asking_too_fast_is_told_privately_and_nothing_is_posted(discord_env, clock):
    bot, fake = discord_env
    topics = ["human-trafficking", "detention", "ice-mission"]
    for n in range(USER_RATE_COUNT):
        await who(bot, fake, topics[n % 3], channel_id=CHANNEL_ID + n)
        clock.advance(1)
    assert len(public(fake)) == USER_RATE_COUNT
    refused = await who(bot, fake, "detention", channel_id=CHANNEL_ID + 99)
    assert refused["flags"] & EPHEMERAL
    assert refused["content"] == "You are asking very fast. Please wait 25 s and try again."
    assert len(public(fake)) == USER_RATE_COUNT

    other = await who(bot, fake, "detention", user_id=77, channel_id=CHANNEL_ID + 99)   # others are unaffected
    assert not other.get("flags", 0) & EPHEMERAL

    clock.advance(25)                                                   # the oldest use leaves the window
    assert (await who(bot, fake, "ice-mission", channel_id=CHANNEL_ID + 98))["embeds"][0]["title"] == "ICE's mission"


async def test_the_rate_covers_the_browse_commands_but_not_autocomplete(discord_env):
    bot, fake = discord_env
    for _ in range(USER_RATE_COUNT):
        await fake.interact(bot, interaction_payload(2, slash("about")))
    await fake.interact(bot, interaction_payload(4, slash("who", topic="tr", focused="topic")))
    assert fake.calls[-1].json["type"] == 8 and fake.calls[-1].json["data"]["choices"]
    await fake.interact(bot, interaction_payload(2, slash("topics")))
    assert sent(fake)[-1]["content"].startswith("You are asking very fast")


async def test_spanish_speakers_are_told_in_spanish(discord_env):
    bot, fake = discord_env
    await who(bot, fake, "detention", locale="es-ES")
    pointer = await who(bot, fake, "detention", locale="es-419", user_id=2)
    assert pointer["content"].startswith("Esto se respondió en este canal hace un momento")


# --- the structures themselves ----------------------------------------------------------------------------------------

def test_recent_answers_reserve_record_release_and_forget():
    now = [0.0]
    recent = RecentAnswers(60, lambda: now[0])
    assert recent.claim(1, "a") is None                      # reserved for this caller
    pending = recent.claim(1, "a")
    assert pending is not None and pending.jump_url is None  # a second asker while the first is being sent
    recent.record(1, "a", "https://discord.com/channels/1/1/5")
    assert recent.claim(1, "a").jump_url == "https://discord.com/channels/1/1/5"
    assert recent.claim(1, "b") is None
    recent.release(1, "b")                                   # sending failed: the next asker is answered
    assert recent.claim(1, "b") is None
    now[0] = 60.0
    assert recent.claim(2, "c") is None
    assert len(recent) == 1                                  # everything older than the window is gone


def test_user_rate_is_a_sliding_window_with_bounded_memory():
    now = [0.0]
    rate = UserRate(2, 10, lambda: now[0])
    assert rate.hit(1) == 0 and rate.hit(1) == 0
    now[0] = 4.0
    assert rate.hit(1) == pytest.approx(6.0)
    assert rate.hit(2) == 0
    now[0] = 10.0
    assert rate.hit(1) == 0                                  # the first use left the window
    for user in range(1000):
        rate.hit(1000 + user)
    now[0] = 100.0
    rate.hit(5)
    assert len(rate) == 1                                    # idle members are forgotten


def test_neither_structure_grows_past_its_cap_however_many_channels_and_members():
    clock = FakeClock()
    recent = RecentAnswers(window=60.0, clock=clock, cap=100)
    rate = UserRate(count=5, per=30.0, clock=clock, cap=100)
    for number in range(1_000):          # all within one window: nothing is old enough to forget
        assert recent.claim(number, ("topic", "t")) is None
        assert rate.hit(number) == 0.0
    assert len(recent) == 100 and len(rate) == 100
    assert recent.claim(999, ("topic", "t")) is not None   # the newest are the ones kept


def test_a_servers_own_rate_is_applied_and_can_only_be_stricter():
    now = [0.0]
    rate = UserRate(count=5, per=30.0, clock=lambda: now[0])
    assert rate.hit(1, count=1, per=10.0) == 0.0
    assert rate.hit(1, count=1, per=10.0) == pytest.approx(10.0)      # the server allows one every 10 s
    now[0] = 10.5
    assert rate.hit(1, count=1, per=10.0) == 0.0
    for _ in range(3):
        assert rate.hit(2, count=50, per=3600.0) == 0.0                # a looser server limit is the bot's
    assert rate.hit(2, count=50, per=3600.0) == 0.0
    assert rate.hit(2, count=50, per=3600.0) == 0.0
    assert rate.hit(2, count=50, per=3600.0) > 0.0                     # the sixth within 30 s: the bot's 5 hold


def test_the_wait_a_member_is_told_is_when_they_may_go_on_after_a_server_tightens_its_limit():
    now = [0.0]
    rate = UserRate(count=5, per=30.0, clock=lambda: now[0])
    for second in range(4):                       # four uses under the bot's limit of 5 in 30 s
        now[0] = float(second)
        assert rate.hit(1) == 0.0
    now[0] = 4.0
    wait = rate.hit(1, count=2, per=30.0)          # then the server allows 2 in 30 s: the uses at 2 and 3 count
    assert wait == pytest.approx(28.0)
    now[0] += wait - 0.01
    assert rate.hit(1, count=2, per=30.0) > 0.0    # not a moment before...
    now[0] = 4.0 + wait
    assert rate.hit(1, count=2, per=30.0) == 0.0   # ...and then it goes through (told 26 s, it was refused again)
