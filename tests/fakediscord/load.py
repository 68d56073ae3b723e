"""Load that the end-to-end tests and bench/bench_gateway.py share: questions at a steady rate, and a SIGTERM in the
middle of them, with an account of what became of every interaction the bot was sent."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from .botprocess import BotProcess
from .gateway import GatewayConnection
from .interactions import FakeInteraction
from .server import FakeDiscord

DISPATCH_TIMEOUT = 0.5   # a dispatch waits this long for a gateway session; after the bot has gone there is none


@dataclass(frozen=True)
class ShutdownTally:
    """What became of the interactions sent around a SIGTERM. `unanswered` are those written to the bot's live
    socket that got no reply at all: a member would see "The application did not respond"."""

    answered: int       # a reply with an embed: the answer itself
    refused: int        # any other reply: the short "restarting" notice
    unanswered: int
    undelivered: int    # never reached a live socket (the gateway was closed): Discord would fail them, not the bot
    exit_status: int | None
    during_close: int = 0   # of them, written to the bot's socket after its close frame arrived, before the answer


def delivered(fake: FakeDiscord, interaction: FakeInteraction) -> bool:
    return any(record.seq == interaction.seq and record.session_id == interaction.session.session_id
               and record.event == "INTERACTION_CREATE" and record.delivered for record in fake.dispatched)


async def send_at_rate(fake: FakeDiscord, questions: Sequence[str], rate: float, seconds: float,
                       sent: list[FakeInteraction], *, private: bool = False) -> None:
    """/who questions at `rate` a second for `seconds`, appending each dispatched interaction to `sent`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    dispatches = []

    async def one(index: int) -> None:
        options = {"topic": questions[index % len(questions)]} | ({"private": True} if private else {})
        with contextlib.suppress(TimeoutError):   # no session left to send to: the bot closed its gateway
            sent.append(await fake.send_command("who", options, timeout=DISPATCH_TIMEOUT))

    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        dispatches.append(asyncio.create_task(one(index)))
    await asyncio.gather(*dispatches)


def questions_during_close(fake: FakeDiscord, questions: Sequence[str], count: int,
                           sent: list[FakeInteraction]) -> None:
    """From now on, when the bot's close frame reaches the fake, `count` more questions go out on that connection
    before the fake answers it, appended to `sent`: what Discord has written in the round trip of the close
    handshake, here every time rather than by the luck of timing."""
    async def during_close(conn: GatewayConnection) -> None:
        if conn.session is None or conn.session is not fake.session_for_guild(fake.guild.id):
            return   # another shard's connection: the questions go to the one of the guild they are asked in
        for index in range(count):
            sent.append(await fake.send_command("who", {"topic": questions[index % len(questions)]},
                                                timeout=DISPATCH_TIMEOUT))
    fake.during_client_close = during_close


async def sigterm_under_load(fake: FakeDiscord, bot: BotProcess, questions: Sequence[str], *, rate: float = 300.0,
                             before: float = 1.0, after: float = 2.0, held: int = 0, hold_seconds: float = 1.0,
                             during_close: int = 0, exit_timeout: float = 15.0) -> ShutdownTally:
    """Questions at `rate` a second for `before` seconds, SIGTERM, and `after` more seconds of them; then wait for
    the process to end and count what each interaction got. With `held`, the next that many replies from the
    signal on are rate limited for `hold_seconds` (429, then retried), so replies are still on their way while the
    bot shuts down, as on a busy day. With `during_close`, that many more questions are written to the bot's socket
    after its close frame has arrived and before the fake answers it (see questions_during_close)."""
    sent: list[FakeInteraction] = []
    handshake: list[FakeInteraction] = []
    if during_close:
        questions_during_close(fake, questions, during_close, handshake)
    load = asyncio.create_task(send_at_rate(fake, questions, rate, before + after, sent))
    await asyncio.sleep(before)   # the load runs meanwhile: this is when the signal goes, not a wait for a result
    if held:
        rule = fake.rate_limit("POST", "/interactions/*/callback", count=held, retry_after=hold_seconds)
        # The signal goes once a reply is held, so answers are surely in flight while the bot drains (else, on a
        # quick machine, the bot could finish and close between two questions and refuse none of them).
        async with asyncio.timeout(5.0):
            while not rule.hits:
                await asyncio.sleep(0.005)
    bot.process.send_signal(signal.SIGTERM)
    await load
    try:
        status: int | None = await bot.wait(exit_timeout)
    except TimeoutError:
        status = None
    fake.during_client_close = None
    answered = refused = unanswered = undelivered = 0
    for interaction in sent + handshake:
        if interaction.callbacks:
            data = interaction.callbacks[0].data or {}
            if data.get("embeds"):
                answered += 1
            else:
                refused += 1
        elif delivered(fake, interaction):
            unanswered += 1
        else:
            undelivered += 1
    return ShutdownTally(answered, refused, unanswered, undelivered, status,
                         sum(delivered(fake, interaction) for interaction in handshake))
