"""Discord's 3-second deadline for the first response to an interaction.

Discord refuses a first response (10062) that comes more than 3 s after the interaction, and the member sees "The
application did not respond". discord.py retries a failed interaction callback like any webhook call: after a 5xx
it waits 1, 3, 5 and 7 s, after a 429 as long as Discord asks, so one retry can outlive the deadline. Here the
answer is tried once; when that attempt fails (a 5xx, or a 429 whose wait would pass the deadline), the interaction
is deferred instead, with every retry's wait cut to the time left, and the answer follows as a follow-up, which
Discord accepts for 15 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
from discord.http import json_or_text
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

log = logging.getLogger("who_handles.discord")

INTERACTION_DEADLINE = 3.0   # Discord: the first response within 3 s of the interaction, or never
TRANSIT_ALLOWANCE = 0.5      # the gateway's delivery and the last request's own trip, out of those 3 s
RETRY_ATTEMPTS = 5           # as discord.py; the deadline usually ends them first


def note_arrival(interaction: discord.Interaction) -> None:
    """Remember when the interaction arrived: Discord's deadline counts from then (so does the latency metric)."""
    interaction.extras.setdefault("received", time.perf_counter())


def deadline_of(interaction: discord.Interaction) -> float:
    """time.perf_counter() by which the first response must have been sent."""
    received = interaction.extras.get("received", time.perf_counter())
    return received + INTERACTION_DEADLINE - TRANSIT_ALLOWANCE


async def respond(interaction: discord.Interaction, **message: Any) -> int | None:
    """Send `message` (keyword arguments of InteractionResponse.send_message) as the first response, within the
    deadline: directly when the first attempt succeeds, else as a follow-up to a deferral. Returns the message id
    when Discord tells it. Raises what the last attempt got when even the deferral could not be made in time."""
    try:
        with within_deadline(interaction, retry_server_errors=False):
            response = await interaction.response.send_message(**message)
        return response.message_id
    except discord.HTTPException as error:
        if not (error.status == 429 or error.status >= 500):
            raise
        log.warning("the first response to interaction %s failed (HTTP %s); deferring, the answer follows",
                    interaction.id, error.status)
    await defer(interaction, ephemeral=bool(message.get("ephemeral")))
    sent = await interaction.followup.send(wait=True, **message)
    return sent.id


async def defer(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Acknowledge now ("thinking…") and answer with a follow-up later; retries wait no longer than the time left."""
    with within_deadline(interaction, retry_server_errors=True):
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)


@contextlib.contextmanager
def within_deadline(interaction: discord.Interaction, *, retry_server_errors: bool) -> Iterator[None]:
    """discord.py sends interaction responses through the adapter in `async_context`; meanwhile that is a
    DeadlineAdapter (in this task only: it is a ContextVar). An adapter of someone else's (a simulated Discord in
    tests) is left in place."""
    if type(async_context.get()) is not AsyncWebhookAdapter:
        yield
        return
    token = async_context.set(DeadlineAdapter(deadline_of(interaction), retry_server_errors=retry_server_errors))
    try:
        yield
    finally:
        async_context.reset(token)


class DeadlineAdapter(AsyncWebhookAdapter):
    """discord.py's webhook adapter for a first response: it never waits past `deadline` (time.perf_counter()). A
    429 is waited out when its wait ends before the deadline; a 5xx is retried only with `retry_server_errors`,
    after 1, 3, 5... s cut to the time left. Any other failure, or a retry that would come too late, raises the
    error discord.py would have raised."""

    def __init__(self, deadline: float, *, retry_server_errors: bool):
        # No super().__init__(): all it makes is the per-webhook locks that AsyncWebhookAdapter.request() takes, and
        # request() is replaced here (a WeakValueDictionary for every first response: about 1% of the bot's CPU).
        self.deadline, self.retry_server_errors = deadline, retry_server_errors

    async def request(self, route: discord.http.Route, session: aiohttp.ClientSession, *,
                      payload: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                      proxy: str | None = None, proxy_auth: aiohttp.BasicAuth | None = None, **unused: Any) -> Any:
        # A first response carries no files (the bot sends none), so no multipart and no audit-log reason.
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        body = discord.utils._to_json(payload) if payload is not None else None
        for attempt in range(RETRY_ATTEMPTS):
            async with session.request(route.method, route.url, data=body, headers=headers, params=params,
                                       proxy=proxy, proxy_auth=proxy_auth) as response:
                data = await json_or_text(response)
                if 200 <= response.status < 300:
                    return data
                wait = self.wait_before_retry(response, data, attempt)
                if wait is None or attempt == RETRY_ATTEMPTS - 1:
                    raise http_error(response, data)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def wait_before_retry(self, response: aiohttp.ClientResponse, data: Any, attempt: int) -> float | None:
        left = self.deadline - time.perf_counter()
        if response.status == 429 and response.headers.get("Via") and isinstance(data, dict):
            # Discord's own 429 (Cloudflare's carries no Via, and waiting it out does not help)
            wait = float(data.get("retry_after", left + 1))
            return wait if wait <= left else None
        if response.status >= 500 and self.retry_server_errors and left > 0:
            return min(1.0 + 2 * attempt, left)
        return None


def http_error(response: aiohttp.ClientResponse, data: Any) -> discord.HTTPException:
    if response.status == 403:
        return discord.Forbidden(response, data)
    if response.status == 404:
        return discord.NotFound(response, data)
    if response.status >= 500:
        return discord.DiscordServerError(response, data)
    return discord.HTTPException(response, data)
