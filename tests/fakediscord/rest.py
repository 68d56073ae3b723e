"""The REST half: the routes discord.py 2.7 calls for a slash-command bot, answered with Discord's shapes,
status codes, error bodies and rate-limit headers."""

from __future__ import annotations

import hashlib
import math
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .ids import Intents, Permissions
from .interactions import ALLOWED_CALLBACKS, APPLICATION_COMMAND, MESSAGE_COMPONENT, FakeInteraction
from .models import FakeChannel, FakeGuild, FakeUser, iso_now
from .records import CallbackRecord, RecordedRequest, clone, from_json, path_matches, to_json
from .validation import (
    EPHEMERAL,
    IS_COMPONENTS_V2,
    LOADING,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    ApiError,
    check_autocomplete,
    check_commands,
    check_message,
)

KNOWN_ERRORS = {   # Discord code -> (HTTP status, message)
    10003: (404, "Unknown Channel"),
    10008: (404, "Unknown Message"),
    10015: (404, "Unknown Webhook"),
    10062: (404, "Unknown interaction"),
    30003: (400, "Maximum number of pins reached (50)"),
    40060: (400, "Interaction has already been acknowledged."),
    50001: (403, "Missing Access"),
    50013: (403, "Missing Permissions"),
    50083: (400, "Thread is archived"),
    160002: (400, "Cannot reply without permission to read message history"),
}


def known_error(code: int) -> ApiError:
    status, message = KNOWN_ERRORS[code]
    return ApiError(status, code, message)


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[[Call], Awaitable[tuple[int, Any]]]
    auth: bool
    bucket: str


@dataclass
class Call:
    """One request as a handler sees it."""

    record: RecordedRequest
    params: dict[str, str]
    after: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)   # run once the record is final

    @property
    def json(self) -> Any:
        return self.record.json

    def int(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, 0, "404: Not Found") from None


@dataclass
class FailRule:
    method: str
    patterns: tuple[str, ...]
    remaining: int
    status: int
    body: dict[str, Any]
    retry_after: float | None = None
    is_global: bool = False
    scope: str = "user"
    hits: list[RecordedRequest] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method) and any(path_matches(path, p) for p in self.patterns)

    def headers(self, bucket: str) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        headers = {
            "Retry-After": str(max(1, math.ceil(self.retry_after))), "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.retry_after:.3f}", "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": self.scope,
        }
        if self.is_global:
            headers["X-RateLimit-Global"] = "true"
        return headers


class RestMixin:
    """The REST half of FakeDiscord (the attributes it uses are set in FakeDiscord.__init__)."""

    def _build_routes(self) -> list[Route]:
        routes: list[Route] = []

        def add(method: str, template: str, handler: Callable[[Call], Awaitable[tuple[int, Any]]],
                auth: bool = True) -> None:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            bucket = hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:16]
            routes.append(Route(method, template, re.compile(f"^{pattern}$"), handler, auth, bucket))

        app, guild_cmds = "/applications/{application_id}", "/applications/{application_id}/guilds/{guild_id}"
        webhook, message = "/webhooks/{application_id}/{token}", "/webhooks/{application_id}/{token}/messages"
        add("GET", "/users/@me", self._get_me)
        add("GET", "/oauth2/applications/@me", self._get_application)
        add("GET", "/applications/@me", self._get_application)
        add("GET", "/gateway/bot", self._get_gateway_bot)
        add("GET", "/gateway", self._get_gateway, auth=False)
        add("PUT", f"{app}/commands", self._put_commands)
        add("GET", f"{app}/commands", self._get_commands)
        add("PUT", f"{guild_cmds}/commands", self._put_commands)
        add("GET", f"{guild_cmds}/commands", self._get_commands)
        add("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback, auth=False)
        add("POST", webhook, self._create_followup, auth=False)
        add("GET", webhook, self._get_webhook, auth=False)
        add("PATCH", webhook, self._not_an_interaction_route, auth=False)
        add("DELETE", webhook, self._not_an_interaction_route, auth=False)
        add("GET", f"{message}/{{message_id}}", self._get_webhook_message, auth=False)
        add("PATCH", f"{message}/{{message_id}}", self._edit_webhook_message, auth=False)
        add("DELETE", f"{message}/{{message_id}}", self._delete_webhook_message, auth=False)
        add("GET", "/channels/{channel_id}", self._get_channel)
        add("GET", "/channels/{channel_id}/messages/pins", self._get_pins)
        add("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self._pin)
        add("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self._unpin)
        add("GET", "/channels/{channel_id}/pins", self._get_pins_legacy)
        add("PUT", "/channels/{channel_id}/pins/{message_id}", self._pin)
        add("DELETE", "/channels/{channel_id}/pins/{message_id}", self._unpin)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message)
        add("POST", "/channels/{channel_id}/messages", self._create_message)
        add("GET", "/guilds/{guild_id}", self._get_guild)
        return routes

    # --- the one entry point ----------------------------------------------------------------------------------------

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        body, files = await _read_body(request)
        auth = request.headers.get("Authorization")
        reason = request.headers.get("X-Audit-Log-Reason")
        route = next((r for r in self._routes if r.method == method and r.regex.match(path)), None)
        record = RecordedRequest(
            method, path, route.template if route else None, dict(request.query), body,
            {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            auth == f"Bot {self.token}", urllib.parse.unquote(reason) if reason is not None else None, files)
        self.requests.append(record)
        extra: dict[str, str] = {}
        call = Call(record, route.regex.match(path).groupdict() if route else {})
        try:
            if route is None:
                self.unhandled.append(record)
                raise ApiError(404, 0, "404: Not Found")
            if route.auth and (not record.bot_auth or self.token_revoked):
                raise ApiError(401, 0, "401: Unauthorized")
            rule = next((r for r in self._fail_rules if r.matches(method, path)), None)
            if rule is not None:
                rule.remaining -= 1
                rule.hits.append(record)
                status, answer, extra = rule.status, clone(rule.body), rule.headers(route.bucket)
            else:
                status, answer = await route.handler(call)
        except ApiError as error:
            status, answer = error.status, error.body()
        record.status, record.response = status, answer
        for action in call.after:
            await action()
        self._changed()
        headers = {"Via": "1.1 google"}
        if route is not None:
            headers.update({"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4",
                            "X-RateLimit-Reset": f"{time.time() + 1:.3f}", "X-RateLimit-Reset-After": "1.000",
                            "X-RateLimit-Bucket": route.bucket})
        headers.update(extra)
        if status == 204 or answer is None:
            return web.Response(status=204 if status < 300 else status, headers=headers)
        # discord.py parses JSON only when the Content-Type is exactly application/json (no charset).
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=to_json(answer), headers=headers)

    # --- login ------------------------------------------------------------------------------------------------------

    def _me_payload(self) -> dict[str, Any]:
        return {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "locale": "en-US",
                "email": None, "bio": ""}

    async def _get_me(self, call: Call) -> tuple[int, Any]:
        return 200, self._me_payload()

    async def _get_application(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "id": str(self.application_id), "name": self.bot_user.username, "icon": None, "description": "",
            "summary": "", "type": None, "is_monetized": False, "is_verified": False, "is_discoverable": False,
            "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
            "flags": self.application_flags, "owner": self.owner_user.payload(), "team": None,
            "bot": self.bot_user.payload(), "redirect_uris": [], "interactions_endpoint_url": None,
            "role_connections_verification_url": None, "tags": [], "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0, "hook": True, "storefront_available": False,
            "integration_types_config": {"0": {}}, "install_params": {"scopes": ["bot", "applications.commands"],
                                                                       "permissions": str(Permissions.DEFAULT_BOT)},
        }

    async def _get_gateway_bot(self, call: Call) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url, "shards": self.recommended_shards, "session_start_limit": {
            "total": 1000, "remaining": max(0, 1000 - len(self.identifies)), "reset_after": 86_400_000,
            "max_concurrency": 1}}

    async def _get_gateway(self, call: Call) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    # --- application commands ---------------------------------------------------------------------------------------

    def _check_application(self, call: Call) -> int | None:
        if call.int("application_id") != self.application_id:
            raise known_error(50001)
        if "guild_id" not in call.params:
            return None
        guild_id = call.int("guild_id")
        if guild_id not in self.guilds:
            raise known_error(50001)
        return guild_id

    async def _put_commands(self, call: Call) -> tuple[int, Any]:
        guild_id = self._check_application(call)
        check_commands(call.json)
        current = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])
        ids = {(c.get("type", 1), c["name"]): c["id"] for c in current}
        stored = []
        for command in call.json:
            kind = command.get("type", 1)
            out = {
                "id": ids.get((kind, command["name"])) or str(self.ids()), "application_id": str(self.application_id),
                "version": str(self.ids()), "type": kind, "name": command["name"],
                "description": command.get("description", ""), "nsfw": command.get("nsfw", False),
                "default_member_permissions": command.get("default_member_permissions"),
                "integration_types": command.get("integration_types") or [0],
            }
            for key in ("name_localizations", "description_localizations", "options", "dm_permission"):
                if key in command:
                    out[key] = clone(command[key])
            if guild_id is None:
                out["contexts"] = command.get("contexts")
            else:
                out["guild_id"] = str(guild_id)
            stored.append(out)
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        return 200, clone(stored)

    async def _get_commands(self, call: Call) -> tuple[int, Any]:
        guild_id = self._check_application(call)
        stored = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])
        return 200, clone(stored)

    # --- interactions -----------------------------------------------------------------------------------------------

    async def _interaction_callback(self, call: Call) -> tuple[int, Any]:
        interaction = self.interactions.get(call.int("interaction_id"))
        if interaction is None or interaction.token != call.params["token"]:
            raise known_error(10062)
        if self.interaction_deadline is not None and time.monotonic() - interaction.created > self.interaction_deadline:
            raise known_error(10062)
        if interaction.acknowledged:
            raise known_error(40060)
        body = call.json if isinstance(call.json, dict) else {}
        kind = body.get("type")
        if kind not in ALLOWED_CALLBACKS.get(interaction.type, set()):
            raise ApiError(400, 50035, "Invalid Form Body", {"type": {"_errors": [
                {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "Invalid interaction response type"}]}})
        data = body.get("data") or {}
        if kind in (4, 7):
            check_message(data, creating=kind == 4, prefix=("data",))
        elif kind == 8:
            check_autocomplete(data)
        message: dict[str, Any] | None = None
        if kind == 4:
            message = self._new_message(interaction.channel_id, data, interaction=interaction,
                                        files=call.record.files)
            interaction.original_message_id = int(message["id"])
        elif kind == 5:
            flags = LOADING | ((data.get("flags") or 0) & EPHEMERAL)
            message = self._new_message(interaction.channel_id, {"content": "", "flags": flags},
                                        interaction=interaction)
            interaction.original_message_id = int(message["id"])
        elif kind in (6, 7) and interaction.message_id is not None:
            message = self.messages.get(interaction.message_id)
            interaction.original_message_id = interaction.message_id
            if kind == 7 and message is not None:
                self._edit_message(message, data, files=call.record.files)
        record = CallbackRecord(interaction.id, kind, data, body, call.record.query.get("with_response") in
                                ("1", "true", "True"), int(message["id"]) if message else None, call.record.files)
        interaction.callbacks.append(record)
        self.callbacks.append(record)

        def resolve() -> Any:
            if not interaction.callback.done():
                interaction.callback.set_result(record)
        call.after.append(_as_async(resolve))
        if not record.with_response:
            return 204, None
        answer: dict[str, Any] = {"interaction": {
            "id": str(interaction.id), "type": interaction.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and (message.get("flags") or 0) & EPHEMERAL)}}
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
        answer["resource"] = {"type": kind}
        if message is not None and kind in (4, 5, 7):
            answer["resource"]["message"] = clone(message)
        return 200, answer

    def _interaction_for_webhook(self, call: Call) -> FakeInteraction:
        interaction = self._interactions_by_token.get(call.params["token"])
        if call.int("application_id") != self.application_id or interaction is None:
            raise known_error(10015)
        return interaction

    async def _create_followup(self, call: Call) -> tuple[int, Any]:
        interaction = self._interaction_for_webhook(call)
        if not interaction.acknowledged:
            raise known_error(10015)
        body = call.json if isinstance(call.json, dict) else {}
        check_message(body, creating=True)
        original = interaction.original
        if original is not None and (original.get("flags") or 0) & LOADING:
            # The first follow-up after a deferred response replaces the "thinking…" message.
            self._edit_message(original, body, files=call.record.files)
            message = original
        else:
            message = self._new_message(interaction.channel_id, body, interaction=interaction,
                                        files=call.record.files)
        interaction.followup_ids.append(int(message["id"]))
        wait = call.record.query.get("wait", "false").lower() in ("1", "true")
        return (200, clone(message)) if wait else (204, None)

    async def _get_webhook(self, call: Call) -> tuple[int, Any]:
        self._interaction_for_webhook(call)
        return 200, {"id": str(self.application_id), "type": 3, "application_id": str(self.application_id),
                     "name": self.bot_user.username, "avatar": None, "channel_id": None, "guild_id": None}

    async def _not_an_interaction_route(self, call: Call) -> tuple[int, Any]:
        raise known_error(10015)

    def _webhook_message(self, call: Call) -> tuple[FakeInteraction, dict[str, Any]]:
        interaction = self._interaction_for_webhook(call)
        raw = call.params["message_id"]
        if raw == "@original":
            message = interaction.original
            if message is None:
                raise known_error(10008 if interaction.acknowledged else 10015)
            return interaction, message
        try:
            message_id = int(raw)
        except ValueError:
            raise known_error(10008) from None
        if message_id not in interaction.followup_ids and message_id != interaction.original_message_id:
            raise known_error(10008)
        message = self.messages.get(message_id)
        if message is None:
            raise known_error(10008)
        return interaction, message

    async def _get_webhook_message(self, call: Call) -> tuple[int, Any]:
        return 200, clone(self._webhook_message(call)[1])

    async def _edit_webhook_message(self, call: Call) -> tuple[int, Any]:
        _, message = self._webhook_message(call)
        body = call.json if isinstance(call.json, dict) else {}
        check_message(body, creating=False)
        self._edit_message(message, body, files=call.record.files)
        return 200, clone(message)

    async def _delete_webhook_message(self, call: Call) -> tuple[int, Any]:
        _, message = self._webhook_message(call)
        self._delete_message(int(message["id"]))
        return 204, None

    # --- channels and messages --------------------------------------------------------------------------------------

    def _channel(self, call: Call) -> tuple[FakeChannel, FakeGuild | None]:
        channel_id = call.int("channel_id")
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id], guild
        if channel_id in self.dm_channels:
            return self.dm_channels[channel_id], None
        raise known_error(10003)

    def _bot_permissions(self, channel: FakeChannel, guild: FakeGuild | None) -> int:
        if guild is None:
            return Permissions.ALL & ~Permissions.ADMINISTRATOR
        return guild.permissions_in(self.bot_user.id, channel.id)

    def _channel_message(self, channel: FakeChannel, call: Call) -> dict[str, Any]:
        message = self.messages.get(call.int("message_id"))
        if message is None or int(message["channel_id"]) != channel.id or (message.get("flags") or 0) & EPHEMERAL:
            raise known_error(10008)
        return message

    async def _get_channel(self, call: Call) -> tuple[int, Any]:
        channel, guild = self._channel(call)
        if not self._bot_permissions(channel, guild) & Permissions.VIEW_CHANNEL:
            raise known_error(50001)
        return 200, channel.payload()

    async def _get_guild(self, call: Call) -> tuple[int, Any]:
        guild = self.guilds.get(call.int("guild_id"))
        if guild is None:
            raise known_error(50001)
        return 200, guild.payload()

    async def _get_message(self, call: Call) -> tuple[int, Any]:
        channel, guild = self._channel(call)
        needed = Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        if self._bot_permissions(channel, guild) & needed != needed:
            raise known_error(50001)
        return 200, clone(self._channel_message(channel, call))

    async def _create_message(self, call: Call) -> tuple[int, Any]:
        channel, guild = self._channel(call)
        bits = self._bot_permissions(channel, guild)
        if not bits & Permissions.VIEW_CHANNEL:
            raise known_error(50001)
        if not bits & Permissions.SEND_MESSAGES:
            raise known_error(50013)
        body = call.json if isinstance(call.json, dict) else {}
        check_message(body, creating=True)
        message = self._new_message(channel.id, body, files=call.record.files)
        if guild is not None:
            session = self.session_for_guild(guild.id)
            if session is not None and session.intents & Intents.GUILD_MESSAGES:
                event = {**clone(message), "guild_id": str(guild.id),
                         "member": guild.members[self.bot_user.id].payload(with_user=False)}
                call.after.append(lambda: self.dispatch_event(session, "MESSAGE_CREATE", event))
        return 200, clone(message)

    # --- pins -------------------------------------------------------------------------------------------------------

    def _pin_target(self, call: Call) -> tuple[FakeChannel, FakeGuild | None, dict[str, Any]]:
        channel, guild = self._channel(call)
        bits = self._bot_permissions(channel, guild)
        if not bits & Permissions.VIEW_CHANNEL:
            raise known_error(50001)
        allowed = Permissions.PIN_MESSAGES | (0 if self.pin_requires_pin_messages else Permissions.MANAGE_MESSAGES)
        if not bits & allowed:
            raise known_error(50013)
        return channel, guild, self._channel_message(channel, call)

    async def _pin(self, call: Call) -> tuple[int, Any]:
        channel, guild, message = self._pin_target(call)
        pins = self.pins.setdefault(channel.id, [])
        if any(mid == int(message["id"]) for mid, _ in pins):
            return 204, None
        if len(pins) >= self.pin_limit:
            raise ApiError(400, 30003, f"Maximum number of pins reached ({self.pin_limit})")
        pinned_at = iso_now()
        pins.append((int(message["id"]), pinned_at))
        message["pinned"] = True
        self._pins_update(call, channel, guild, pinned_at)
        return 204, None

    async def _unpin(self, call: Call) -> tuple[int, Any]:
        channel, guild, message = self._pin_target(call)
        pins = self.pins.setdefault(channel.id, [])
        pins[:] = [(mid, at) for mid, at in pins if mid != int(message["id"])]
        message["pinned"] = False
        self._pins_update(call, channel, guild, pins[-1][1] if pins else None)
        return 204, None

    def _pins_update(self, call: Call, channel: FakeChannel, guild: FakeGuild | None, last: str | None) -> None:
        session = self.session_for_guild(guild.id if guild else None)
        if session is None or not session.intents & Intents.GUILDS or guild is None:
            return
        event = {"guild_id": str(guild.id), "channel_id": str(channel.id), "last_pin_timestamp": last}
        call.after.append(lambda: self.dispatch_event(session, "CHANNEL_PINS_UPDATE", event))

    def _pinned_messages(self, call: Call) -> list[tuple[dict[str, Any], str]]:
        channel, guild = self._channel(call)
        needed = Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        if self._bot_permissions(channel, guild) & needed != needed:
            raise known_error(50001)
        pins = self.pins.get(channel.id, [])
        return [(clone(self.messages[mid]), at) for mid, at in reversed(pins) if mid in self.messages]

    async def _get_pins(self, call: Call) -> tuple[int, Any]:
        items = self._pinned_messages(call)
        limit = int(call.record.query.get("limit") or 50)
        return 200, {"items": [{"pinned_at": at, "message": m} for m, at in items[:limit]],
                     "has_more": len(items) > limit}

    async def _get_pins_legacy(self, call: Call) -> tuple[int, Any]:
        return 200, [m for m, _ in self._pinned_messages(call)]

    # --- the message store ------------------------------------------------------------------------------------------

    def _new_message(self, channel_id: int, body: dict[str, Any], *, interaction: FakeInteraction | None = None,
                     author: FakeUser | None = None, files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        message_id = self.ids()
        author = author or self.bot_user
        kind = 0
        if interaction is not None:
            kind = {1: 20, 2: 23, 3: 23}.get(_command_type(interaction), 0)
        message: dict[str, Any] = {
            "id": str(message_id), "channel_id": str(channel_id), "type": kind, "content": "",
            "author": author.payload(), "attachments": [], "embeds": [], "components": [], "mentions": [],
            "mention_roles": [], "mention_channels": [], "pinned": False, "mention_everyone": False, "tts": False,
            "timestamp": iso_now(), "edited_timestamp": None, "flags": 0,
        }
        if interaction is not None:
            user = self.find_user(interaction.user_id)
            meta: dict[str, Any] = {
                "id": str(interaction.id), "type": interaction.type, "user": user.payload() if user else None,
                "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {})}
            if interaction.type == APPLICATION_COMMAND:
                meta["name"] = interaction.name
                meta["command_type"] = _command_type(interaction)
            if interaction.type == MESSAGE_COMPONENT and interaction.message_id:
                meta["interacted_message_id"] = str(interaction.message_id)
            if interaction.original_message_id:
                meta["original_response_message_id"] = str(interaction.original_message_id)
            message.update(webhook_id=str(self.application_id), application_id=str(self.application_id),
                           interaction_metadata=meta)
            if interaction.type == APPLICATION_COMMAND:
                message["interaction"] = {"id": str(interaction.id), "type": interaction.type,
                                          "name": interaction.name, "user": meta["user"]}
        message["flags"] = (body.get("flags") or 0) & (EPHEMERAL | LOADING | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS
                                                       | IS_COMPONENTS_V2)
        self._apply_body(message, body, files or [])
        self.messages[message_id] = message
        self._changed()
        return message

    def _edit_message(self, message: dict[str, Any], body: dict[str, Any], *,
                      files: list[dict[str, Any]] | None = None) -> None:
        was_loading = (message.get("flags") or 0) & LOADING
        self._apply_body(message, body, files or [])
        flags = message.get("flags") or 0
        if "flags" in body:
            changeable = SUPPRESS_EMBEDS | IS_COMPONENTS_V2
            flags = (flags & ~changeable) | ((body.get("flags") or 0) & changeable)
        message["flags"] = flags & ~LOADING
        message["edited_timestamp"] = None if was_loading else iso_now()
        self._changed()

    def _apply_body(self, message: dict[str, Any], body: dict[str, Any], files: list[dict[str, Any]]) -> None:
        if "content" in body:
            message["content"] = body.get("content") or ""
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **clone(e)} for e in body.get("embeds") or []]
        if "components" in body:
            message["components"] = _with_component_ids(clone(body.get("components") or []))
        if "attachments" in body or files:
            uploads = {f.get("name"): f for f in files}
            attachments = []
            for item in body.get("attachments") or []:
                upload = uploads.get(f"files[{item.get('id')}]", {})
                filename = item.get("filename") or upload.get("filename") or "file"
                attachment_id = self.ids()
                attachments.append({
                    "id": str(attachment_id), "filename": filename, "size": upload.get("size", 0),
                    "url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}",
                    "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}",
                    "content_type": upload.get("content_type") or "application/octet-stream"})
            message["attachments"] = attachments

    def _delete_message(self, message_id: int) -> None:
        message = self.messages.pop(message_id, None)
        if message is not None:
            pins = self.pins.get(int(message["channel_id"]), [])
            pins[:] = [(mid, at) for mid, at in pins if mid != message_id]
        self._changed()


def _command_type(interaction: FakeInteraction) -> int | None:
    if interaction.type != APPLICATION_COMMAND:
        return None
    return (interaction.payload.get("data") or {}).get("type", 1)


def _with_component_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Discord numbers every component of a message (depth first, from 1) when the bot did not."""
    counter = 0
    used = set()

    def collect(items: list[dict[str, Any]]) -> None:
        for item in items:
            if isinstance(item.get("id"), int):
                used.add(item["id"])
            collect(item.get("components") or [])
            if isinstance(item.get("accessory"), dict):
                collect([item["accessory"]])

    def number(items: list[dict[str, Any]]) -> None:
        nonlocal counter
        for item in items:
            if "id" not in item:
                counter += 1
                while counter in used:
                    counter += 1
                item["id"] = counter
            number(item.get("components") or [])
            if isinstance(item.get("accessory"), dict):
                number([item["accessory"]])

    collect(components)
    number(components)
    return components


def _as_async(function: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return function()
    return run


async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
    """The JSON body (or payload_json of a multipart body) and the multipart file parts."""
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("multipart/"):
        payload: Any = None
        files: list[dict[str, Any]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read()  # type: ignore[union-attr]
            if part.name == "payload_json":  # type: ignore[union-attr]
                payload = from_json(data)
            else:
                files.append({"name": part.name, "filename": part.filename, "size": len(data),  # type: ignore[union-attr]
                              "content_type": part.headers.get("Content-Type")})  # type: ignore[union-attr]
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return from_json(raw), []
    except ValueError:
        return raw.decode(errors="replace"), []
