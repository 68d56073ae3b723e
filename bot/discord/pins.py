"""Pinned answers follow the table: after a reload, or at start with a new table version, each pinned answer whose
rendered message changed is edited in place, one edit a second at most, in a background task of its own (answers
never wait for it). A pin whose message is gone is forgotten; every pin handled gets the new table version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.core.router import Router
from bot.discord.embeds import answer_embed
from bot.discord.views import answer_view, server_embed
from bot.store import Pin

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot

log = logging.getLogger("who_handles.discord")

EDIT_INTERVAL_SECONDS = 1.0   # Discord limits message edits per channel; pins are never urgent
Pause = Callable[[float], Awaitable[Any]]


def rendered(router: Router, pin: Pin) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """What a pin's message shows from `router`'s table (embed and components, before the server's notes); None
    when the table has no such topic."""
    answer = router.topic(pin.topic_id, pin.lang)
    if answer is None:
        return None
    view = answer_view(answer, public=True, guild=True)
    return answer_embed(answer).to_dict(), view.to_components() if view else []


async def refresh_pins(bot: WhoHandlesBot, previous: Router | None = None, *,
                       pause: Pause = asyncio.sleep) -> int:
    """Edit the pinned answers that the table in use renders differently from the one they show; how many edits
    were tried. What a pin shows is known when it was recorded under `previous` (the table a reload replaced);
    otherwise (at start, or a pin left behind by an earlier refresh) it is edited when its table version is not
    the current one."""
    router = bot.router
    version = router.knowledge.version
    tried = 0
    for pin in await bot.store.pins() or []:
        now = rendered(router, pin)
        shown = previous if previous is not None and pin.table_version == previous.knowledge.version else None
        if now is None:
            changed = False   # the topic left the table (or the pin is an /agency menu): the message stays as it is
        elif shown is None:
            changed = pin.table_version != version
        else:
            changed = rendered(shown, pin) != now
        if changed:
            if tried:
                await pause(EDIT_INTERVAL_SECONDS)
            tried += 1
            if not await edit_pin(bot, router, pin):
                continue
        if pin.table_version != version:
            await bot.store.set_pin_version(pin.message_id, version)
    return tried


async def edit_pin(bot: WhoHandlesBot, router: Router, pin: Pin) -> bool:
    """Edit one pinned answer; False when it is gone (and forgotten) or Discord refused (tried again next time)."""
    answer = router.topic(pin.topic_id, pin.lang)
    assert answer is not None
    embed = await server_embed(bot.store, pin.guild_id, answer)
    message = bot.get_partial_messageable(pin.channel_id, guild_id=pin.guild_id).get_partial_message(pin.message_id)
    where = f"guild {pin.guild_id} channel {pin.channel_id} message {pin.message_id} topic {pin.topic_id}"
    try:
        await message.edit(embed=embed, view=answer_view(answer, public=True, guild=True))
    except discord.NotFound:
        log.info("pinned answer gone, forgotten: %s", where)
        await bot.store.forget_pin(pin.message_id)
        return False
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
        log.warning("could not refresh pinned answer (%s): %s", type(error).__name__, where)
        return False
    log.info("refreshed pinned answer: %s", where)
    return True
