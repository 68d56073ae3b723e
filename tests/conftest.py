"""A fake Discord for the Discord front end's tests, at discord.py's lowest layers.

The bot under test is the real one (real CommandTree, cogs, views, DynamicItems, Interaction objects parsed from
gateway payloads). Only the two places where discord.py would touch the network are replaced:
`HTTPClient.request` (bot-token REST: login, pins) and `AsyncWebhookAdapter.request` (interaction callbacks and
follow-ups; DeadlineAdapter's too, which sends first responses). Both record the Route and JSON body and answer
with the dicts Discord would return.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.webhook.async_ import async_context
from storefixtures import store_backend  # noqa: F401  (the store on SQLite and PostgreSQL, for any test)

from bot.core.router import Router
from bot.discord.client import WhoHandlesBot, build_bot
from bot.discord.deadline import DeadlineAdapter

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "fixtures" / "mini"
APP_ID, BOT_ID, GUILD_ID, CHANNEL_ID = 900000000000000001, 900000000000000001, 800000000000000001, 700000000000000001
SETTLE_PREFIXES = ("CommandTree-invoker", "discord-ui-view-dispatch", "discord-ui-dynamic-item", "discord.py:")
PIN_BITS = discord.Permissions(manage_messages=True).value | discord.Permissions(pin_messages=True).value
MEMBER_BITS = discord.Permissions(view_channel=True, send_messages=True, use_application_commands=True).value


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Call:
    method: str
    path: str              # the Route's path template, e.g. /interactions/{webhook_id}/{webhook_token}/callback
    url: str
    json: Any
    reason: str | None = None


class _Response:
    """What discord.HTTPException reads from an aiohttp response."""

    def __init__(self, status: int, reason: str):
        self.status, self.reason = status, reason


class FakeDiscord:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.pin_error: tuple[int, int, str] | None = None     # (status, Discord code, message)
        self.send_error: tuple[int, int, str] | None = None    # for POST /channels/{id}/messages
        self._ids = itertools.count(1_000_000_000_000_000_001)

    def snowflake(self) -> int:
        return next(self._ids)

    # --- the two network edges ---------------------------------------------------------------------------------

    async def rest(self, route: discord.http.Route, **kwargs: Any) -> Any:
        self.calls.append(Call(route.method, route.path, route.url, kwargs.get("json"), kwargs.get("reason")))
        if route.path == "/users/@me":
            return user_payload(BOT_ID, "who-handles", bot=True)
        if route.path == "/oauth2/applications/@me":
            return {"id": str(APP_ID), "name": "who-handles", "description": "", "icon": None, "bot_public": True,
                    "bot_require_code_grant": False, "owner": user_payload(1, "owner"), "verify_key": "0" * 64,
                    "flags": 0}
        if route.path == "/channels/{channel_id}/messages/pins/{message_id}":
            if self.pin_error:
                status, code, text = self.pin_error
                error = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
                if status >= 500:
                    error = discord.DiscordServerError
                raise error(_Response(status, "error"), {"code": code, "message": text})
            return None
        if route.path == "/channels/{channel_id}/messages" and route.method == "POST":
            if self.send_error:
                status, code, text = self.send_error
                raise discord.Forbidden(_Response(status, "error"), {"code": code, "message": text})
            body = kwargs.get("json") or {}
            message = self.store(body)
            message["channel_id"] = str(route.channel_id)
            if body.get("message_reference"):
                message["message_reference"] = body["message_reference"]
            return message
        if route.path == "/channels/{channel_id}/messages/{message_id}" and route.method == "PATCH":
            message = self.messages.get(int(route.url.rsplit("/", 1)[1]))
            if message is None:   # deleted: what Discord answers for a message that is gone
                raise discord.NotFound(_Response(404, "Not Found"), {"code": 10008, "message": "Unknown Message"})
            message.update({key: value for key, value in (kwargs.get("json") or {}).items() if key in message})
            return message
        raise AssertionError(f"the fake Discord does not serve {route.method} {route.path}")

    async def webhook(self, route: discord.http.Route, session: Any = None, *, payload: Any = None,
                      **kwargs: Any) -> Any:
        self.calls.append(Call(route.method, route.path, route.url, payload, kwargs.get("reason")))
        if route.path.endswith("/callback"):
            kind, data = payload["type"], payload.get("data") or {}
            interaction = {"id": str(route.webhook_id), "type": 2, "response_message_loading": kind == 5,
                           "response_message_ephemeral": bool(data.get("flags", 0) & 64)}
            if kind in (4, 7):
                message = self.store(data, interaction_id=route.webhook_id)
                interaction["response_message_id"] = message["id"]
                return {"interaction": interaction, "resource": {"type": kind, "message": message}}
            return {"interaction": interaction}
        if route.path == "/webhooks/{webhook_id}/{webhook_token}" and route.method == "POST":
            return self.store(payload)
        if route.path.endswith("/messages/@original"):
            return None if route.method == "DELETE" else self.store(payload or {})
        raise AssertionError(f"the fake Discord does not serve {route.method} {route.path}")

    # --- what the bot said -------------------------------------------------------------------------------------

    def store(self, data: dict[str, Any], interaction_id: int | None = None) -> dict[str, Any]:
        message = message_payload(self.snowflake(), data)
        self.messages[int(message["id"])] = message
        return message

    def replies(self) -> list[Call]:
        """Everything sent into a channel: interaction responses and follow-ups, in order."""
        return [c for c in self.calls if c.path.endswith("/callback") or c.path == "/webhooks/{webhook_id}/"
                "{webhook_token}"]

    def last(self) -> dict[str, Any]:
        """The message data of the last reply (for a callback, its `data`)."""
        call = self.replies()[-1]
        return call.json.get("data", {}) if call.path.endswith("/callback") else call.json

    # --- driving ------------------------------------------------------------------------------------------------

    async def interact(self, bot: discord.Client, payload: dict[str, Any]) -> None:
        """Deliver an INTERACTION_CREATE the way the gateway does and wait until the bot has handled it."""
        bot._connection.parse_interaction_create(payload)   # the gateway's own entry point
        await settle()


async def settle() -> None:
    current = asyncio.current_task()
    for _ in range(20):
        pending = [task for task in asyncio.all_tasks()
                   if task is not current and not task.done() and task.get_name().startswith(SETTLE_PREFIXES)]
        if not pending:
            return
        await asyncio.gather(*pending)


def user_payload(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name.title(),
            "avatar": None, "bot": bot, "public_flags": 0}


def message_payload(message_id: int, data: dict[str, Any], channel_id: int = CHANNEL_ID) -> dict[str, Any]:
    return {
        "id": str(message_id), "channel_id": str(channel_id), "guild_id": str(GUILD_ID), "type": 20,
        "author": user_payload(BOT_ID, "who-handles", bot=True), "content": data.get("content") or "",
        "timestamp": "2026-11-25T10:00:00.000000+00:00", "edited_timestamp": None, "tts": False,
        "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": data.get("embeds") or [], "components": data.get("components") or [], "pinned": False,
        "flags": data.get("flags", 0), "application_id": str(APP_ID),
    }


def interaction_payload(kind: int, data: dict[str, Any], *, user_id: int = 42, locale: str = "en-US",
                        permissions: int = MEMBER_BITS, app_permissions: int = PIN_BITS | MEMBER_BITS,
                        guild: bool = True, channel_id: int = CHANNEL_ID,
                        message: dict[str, Any] | None = None) -> dict[str, Any]:
    user = user_payload(user_id, f"member{user_id}")
    payload: dict[str, Any] = {
        "id": str(_interaction_ids.__next__()), "application_id": str(APP_ID), "type": kind, "data": data,
        "token": f"interaction-token-{user_id}", "version": 1, "locale": locale,
        "app_permissions": str(app_permissions), "entitlements": [], "attachment_size_limit": 10_485_760,
        "channel_id": str(channel_id),
        "channel": {"id": str(channel_id), "type": 0 if guild else 1, "name": "general", "position": 0,
                    "permission_overwrites": [], "nsfw": False, "parent_id": None, "rate_limit_per_user": 0,
                    "flags": 0, "last_message_id": None},
    }
    if guild:
        payload.update(guild_id=str(GUILD_ID), guild_locale="en-US", context=0,
                       authorizing_integration_owners={"0": str(GUILD_ID)})
        payload["channel"]["guild_id"] = str(GUILD_ID)
        payload["member"] = {"user": user, "roles": [], "joined_at": "2025-01-01T00:00:00+00:00", "deaf": False,
                             "mute": False, "flags": 0, "pending": False, "nick": None, "avatar": None,
                             "premium_since": None, "permissions": str(permissions)}
    else:
        payload.update(user=user, context=1, authorizing_integration_owners={"1": str(user_id)})
        payload["channel"]["recipients"] = [user]
    if message is not None:
        payload["message"] = message
    return payload


_interaction_ids = itertools.count(600_000_000_000_000_001)


def slash(command: str, /, **options: Any) -> dict[str, Any]:
    """The `data` of a slash command; a string option named in `focused=` is the one being typed."""
    focused = options.pop("focused", None)
    types = {str: 3, bool: 5, int: 4}
    return {"id": "500000000000000001", "name": command, "type": 1, "options": [
        {"name": key, "type": types[type(value)], "value": value, **({"focused": True} if key == focused else {})}
        for key, value in options.items()
    ]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mini_router() -> Router:
    return Router.load(MINI)


@pytest.fixture
async def start_bot(clock: FakeClock, monkeypatch: pytest.MonkeyPatch):
    """A factory: `await start_bot(router)` → (bot, fake), a logged-in bot whose every network call lands in a
    fake Discord. Several bots may share one fake (a restart). Keyword arguments go to build_bot."""
    bots: list[WhoHandlesBot] = []

    async def start(router: Router, fake: FakeDiscord | None = None,
                    **options: Any) -> tuple[WhoHandlesBot, FakeDiscord]:
        fake = fake or FakeDiscord()
        bot = build_bot(router, clock=clock, **options)
        monkeypatch.setattr(async_context.get(), "request", fake.webhook)   # interaction callbacks, follow-ups
        monkeypatch.setattr(DeadlineAdapter, "request",                       # first responses
                            lambda adapter, *args, **kwargs: fake.webhook(*args, **kwargs))
        monkeypatch.setattr(bot.http, "request", fake.rest)                  # bot-token REST
        await bot.login("not-a-real-token")   # the real login: /users/@me, application info, setup_hook
        bots.append(bot)
        return bot, fake

    yield start
    for bot in bots:
        await bot.close()


@pytest.fixture
async def discord_env(start_bot, mini_router: Router):
    """(bot, fake) on the mini table."""
    return await start_bot(mini_router)
