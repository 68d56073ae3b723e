"""FakeDiscord: a local Discord (REST API + gateway) on 127.0.0.1 for end-to-end tests of a real discord.py bot."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aiohttp import web

from .gateway import GatewayConnection, GatewayMixin, GatewaySession
from .ids import Permissions, SnowflakeFactory
from .interactions import (
    KINDS,
    FakeInteraction,
    build_options,
    find_definition,
    interaction_payload,
    interaction_token,
    resolve_option_target,
)
from .models import FakeChannel, FakeGuild, FakeUser, make_bot_user, make_guild
from .records import (
    CallbackRecord,
    DispatchRecord,
    HeartbeatRecord,
    IdentifyRecord,
    RecordedRequest,
    ResumeRecord,
    clone,
)
from .rest import KNOWN_ERRORS, FailRule, RestMixin

T = TypeVar("T")
DEFAULT_TOKEN = "FAKE.bot-token.for-tests-only"
_DEFAULT: Any = object()
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class FakeDiscord(RestMixin, GatewayMixin):
    """A fake Discord on 127.0.0.1: REST under `base_url`, the gateway at `gateway_url`.

    `token` is the only bot token it accepts (REST answers 401 to any other, the gateway closes with 4004).
    Without `guilds`, the bot is in one guild built by `make_guild` (see `guild`, `channel`)."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, application_id: int | None = None,
                 bot_name: str = "who-handles", guilds: Iterable[FakeGuild] | None = None,
                 recommended_shards: int = 1, heartbeat_interval: int = 41_250, host: str = "127.0.0.1",
                 port: int = 0, api_version: int = 10) -> None:
        if host not in LOOPBACK:
            raise ValueError("the fake Discord listens on the loopback interface only")
        self.token = token
        self.host, self.port, self.api_version = host, port, api_version
        self.ids = SnowflakeFactory(worker=3)
        self.application_id = application_id or self.ids()
        self.bot_user: FakeUser = make_bot_user(self.application_id, bot_name)
        self.owner_user = FakeUser(self.ids(), "app-owner", global_name="App Owner")
        self.guilds: dict[int, FakeGuild] = {}
        for guild in guilds if guilds is not None else [make_guild(self.bot_user)]:
            self.add_guild(guild)
        self.dm_channels: dict[int, FakeChannel] = {}
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user, self.owner_user.id: self.owner_user}

        # knobs
        self.recommended_shards = recommended_shards     # "shards" of GET /gateway/bot
        self.required_shard_count = 0                    # > 0: IDENTIFY with fewer shards closes with 4011
        self.heartbeat_interval = heartbeat_interval     # ms, sent in HELLO
        self.ack_heartbeats = True                       # False: a zombie gateway that never sends HEARTBEAT_ACK
        self.split_gateway_frames = False                # True: zlib-stream messages spread over two frames each
        self.privileged_intents = 0                      # privileged intents enabled for the app (Intents.*)
        self.application_flags = 1 << 23                 # APPLICATION_COMMAND_BADGE
        self.token_revoked = False                       # True: the token was reset; everything answers 401/4004
        self.pin_limit = 50
        self.pin_requires_pin_messages = False           # True: MANAGE_MESSAGES alone no longer lets the bot pin
        self.interaction_deadline: float | None = None   # seconds to the initial response, then 10062
        # When the client's close frame is read, before it is answered: what Discord writes in that round trip
        self.during_client_close: Callable[[GatewayConnection], Awaitable[None]] | None = None
        self.answer_client_close = True                  # False: a gateway that never answers the client's close

        # what happened
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []       # requests for routes the fake does not know (404)
        self.callbacks: list[CallbackRecord] = []
        self.interactions: dict[int, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.pins: dict[int, list[tuple[int, str]]] = {}  # channel id -> [(message id, pinned_at)], oldest first
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies: list[IdentifyRecord] = []
        self.resumes: list[ResumeRecord] = []
        self.heartbeats: list[HeartbeatRecord] = []
        self.dispatched: list[DispatchRecord] = []
        self.presence_updates: list[tuple[int, Any]] = []
        self.gateway_received: list[tuple[int, Any]] = []

        self._fail_rules: list[FailRule] = []
        self._connection_ids = itertools.count(1)
        self._routes = self._build_routes()
        self._tick = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway_handler)
        app.router.add_route("GET", "/gateway/resume", self._gateway_handler)
        app.router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for conn in self.connections:
            if not conn.closed:
                await conn.close(1001, "The fake Discord is stopping.", timeout=2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What discord.http.Route.BASE (or DISCORD_API_BASE) should be: http://127.0.0.1:PORT/api/v10."""
        return f"http://{self._netloc}/api/v{self.api_version}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self._netloc}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """Sent in READY; a RESUME arriving on this path proves the client used it."""
        return f"ws://{self._netloc}/gateway/resume"

    @property
    def _netloc(self) -> str:
        if not self.port:
            raise RuntimeError("start() the fake first")
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    # --- the world --------------------------------------------------------------------------------------------------

    @property
    def guild(self) -> FakeGuild:
        """The first guild."""
        return next(iter(self.guilds.values()))

    @property
    def channel(self) -> FakeChannel:
        """The first guild's first text channel."""
        return self.guild.channel

    def add_guild(self, guild: FakeGuild) -> FakeGuild:
        """Add a guild before the bot connects (it arrives in READY and GUILD_CREATE). While connected, use
        `await join_guild(guild)`."""
        if self.bot_user.id not in guild.members:
            raise ValueError("the bot is not a member of that guild; build it with make_guild(fake.bot_user)")
        self.guilds[guild.id] = guild
        return guild

    def make_guild(self, **options: Any) -> FakeGuild:
        """A new guild with the bot in it (see models.make_guild), added to the fake."""
        return self.add_guild(make_guild(self.bot_user, **options))

    async def join_guild(self, guild: FakeGuild) -> None:
        """The bot is added to a guild while connected: GUILD_CREATE to the owning shard."""
        self.add_guild(guild)
        session = self.session_for_guild(guild.id)
        if session is not None:
            await self.dispatch_event(session, "GUILD_CREATE", self._guild_create(guild, session))

    def find_user(self, user_id: int) -> FakeUser | None:
        if user_id in self.users:
            return self.users[user_id]
        for guild in self.guilds.values():
            if user_id in guild.members:
                return guild.members[user_id].user
        return None

    def add_message(self, channel_id: int | None = None, content: str = "", *, embeds: Sequence[Any] = (),
                    components: Sequence[Any] = (), author: FakeUser | None = None, flags: int = 0) -> dict[str, Any]:
        """Put a message in a channel (by default the bot's, in `channel`), e.g. an earlier answer to pin."""
        body = {"content": content, "embeds": list(embeds), "components": list(components), "flags": flags}
        return self._new_message(channel_id or self.channel.id, body, author=author)

    def message(self, message_id: int | str) -> dict[str, Any]:
        return self.messages[int(message_id)]

    def pinned(self, channel_id: int | None = None) -> list[int]:
        """Ids of the pinned messages of a channel, oldest pin first."""
        return [mid for mid, _ in self.pins.get(channel_id or self.channel.id, [])]

    def fill_pins(self, channel_id: int | None = None, count: int | None = None) -> None:
        """Pin `count` (default: pin_limit) filler messages, so the next pin hits "Maximum number of pins"."""
        channel_id = channel_id or self.channel.id
        pins = self.pins.setdefault(channel_id, [])
        for _ in range(count if count is not None else self.pin_limit - len(pins)):
            message = self.add_message(channel_id, "filler", author=self.owner_user)
            message["pinned"] = True
            pins.append((int(message["id"]), message["timestamp"]))

    # --- failures on demand -----------------------------------------------------------------------------------------

    def rate_limit(self, method: str, path: str, *, count: int = 1, retry_after: float = 0.05,
                   is_global: bool = False, scope: str = "user") -> FailRule:
        """The next `count` requests matching (method, path) answer 429 like Discord: JSON body with
        retry_after and global, Retry-After and X-RateLimit-* headers, and the Via header discord.py requires
        to believe a 429 is Discord's rather than Cloudflare's. `path` is a glob (`/interactions/*/callback`), a
        route template (`/channels/{channel_id}/messages/pins/{message_id}`) or an exact path."""
        body: dict[str, Any] = {"message": "You are being rate limited.", "retry_after": retry_after,
                                "global": is_global}
        if is_global:
            body["code"] = 0
        rule = FailRule(method.upper(), (path,), count, 429, body, retry_after, is_global, scope)
        self._fail_rules.append(rule)
        return rule

    def fail_next(self, method: str, path: str | Sequence[str], *, code: int, status: int | None = None,
                  message: str | None = None, count: int = 1, errors: Mapping[str, Any] | None = None) -> FailRule:
        """The next `count` matching requests answer Discord's error `code` (status and message default from
        rest.KNOWN_ERRORS, e.g. 30003 max pins, 50013 missing permissions, 10008 unknown message)."""
        default_status, default_message = KNOWN_ERRORS.get(code, (400, "Bad Request"))
        body: dict[str, Any] = {"message": message or default_message, "code": code}
        if errors:
            body["errors"] = clone(dict(errors))
        patterns = (path,) if isinstance(path, str) else tuple(path)
        rule = FailRule(method.upper(), patterns, count, status or default_status, body)
        self._fail_rules.append(rule)
        return rule

    def fail_next_pin(self, code: int = 30003, *, count: int = 1) -> FailRule:
        """The next pin (either pin route) fails; by default with "Maximum number of pins reached (50)"."""
        return self.fail_next("PUT", ("/channels/*/messages/pins/*", "/channels/*/pins/*"), code=code, count=count)

    def clear_failures(self) -> None:
        self._fail_rules.clear()

    # --- waiting ----------------------------------------------------------------------------------------------------

    def _changed(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def wait_until(self, check: Callable[[], T | None], *, timeout: float = 5.0, what: str = "a condition") -> T:
        """Until check() returns something truthy (re-checked whenever the fake records anything); returns it.
        Raises TimeoutError naming `what` and the last few requests."""
        result = check()
        if result:   # already true: no timer to arm and cancel (the benchmark's hot path)
            return result
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._tick.wait()
                    result = check()
                    if result:
                        return result
        except TimeoutError:
            raise self._timed_out(what, timeout) from None

    async def wait_for_future(self, future: asyncio.Future[T], *, timeout: float = 5.0, what: str = "a result") -> T:
        """The result of `future`, waiting up to `timeout` (the future itself is not cancelled on timeout). Unlike
        wait_until, the waiter is woken once, when the future is resolved, not at every change the fake records:
        with hundreds of interactions in flight, re-checking each of them at every change cost the benchmark's
        driver more CPU than the fake's own work."""
        if future.done():
            return future.result()
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            raise self._timed_out(what, timeout) from None

    def _timed_out(self, what: str, timeout: float) -> TimeoutError:
        recent = ", ".join(repr(r) for r in self.requests[-6:]) or "none"
        return TimeoutError(f"fake Discord: no {what} within {timeout}s (last requests: {recent})")

    def requests_to(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests matching method and path (glob, template or exact)."""
        return [r for r in self.requests if r.matches(method, path)]

    async def wait_for_request(self, method: str | None = None, path: str | None = None, *, count: int = 1,
                               predicate: Callable[[RecordedRequest], bool] | None = None,
                               timeout: float = 5.0) -> RecordedRequest:
        """Until `count` requests match; returns the count-th (already answered: .status is set)."""
        def found() -> RecordedRequest | None:
            hits = [r for r in self.requests_to(method, path) if r.status is not None and
                    (predicate is None or predicate(r))]
            return hits[count - 1] if len(hits) >= count else None
        return await self.wait_until(found, timeout=timeout, what=f"{method or '*'} {path or '*'} (#{count})")

    async def wait_for_callback(self, interaction_id: int | FakeInteraction, timeout: float = 5.0) -> CallbackRecord:
        """Until the bot has answered the interaction (its first accepted callback)."""
        interaction_id = interaction_id.id if isinstance(interaction_id, FakeInteraction) else int(interaction_id)

        def answered() -> CallbackRecord | None:
            interaction = self.interactions.get(interaction_id)
            return interaction.callbacks[0] if interaction and interaction.callbacks else None
        return await self.wait_until(answered, timeout=timeout, what=f"callback for interaction {interaction_id}")

    # --- interactions -----------------------------------------------------------------------------------------------

    async def dispatch_interaction(
        self, kind: str = "command", name: str | None = None, *,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None, focused: str | None = None,
        subcommand: str | Sequence[str] | None = None, custom_id: str | None = None, component_type: int = 2,
        values: Sequence[str] | None = None, message_id: int | None = None, message: dict[str, Any] | None = None,
        target_id: int | None = None, guild_id: int | None = _DEFAULT, channel_id: int | None = None,
        user_id: int | None = None, permissions: int | None = None, app_permissions: int | None = None,
        locale: str = "en-US", timeout: float = 5.0,
    ) -> FakeInteraction:
        """Send an INTERACTION_CREATE to the gateway session that owns the guild, as Discord would.

        kind: "command" (slash command `name` with `options` {name: value} and optional `subcommand` "group sub"),
        "autocomplete" (the same, with `focused` naming the option being typed), "component" (`custom_id`,
        `component_type` 2 button / 3 select with `values`, on `message_id`/`message` — by default a fresh bot
        message carrying that button), "message_command" (context menu `name` on `target_id`/`message_id`),
        "user_command" (context menu `name` on user `target_id`).
        guild_id: default the first guild; None for a DM. user_id: default the guild's plain "member" (created if
        unknown). permissions / app_permissions override the computed member / bot channel permissions.
        Waits up to `timeout` for a gateway session owning the guild; returns a FakeInteraction to await."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        interaction_type, command_type = KINDS[kind]
        guild = self.guild if guild_id is _DEFAULT else (self.guilds[int(guild_id)] if guild_id is not None else None)
        if guild is not None:
            channel = guild.channels[channel_id] if channel_id else guild.channel
            uid = user_id or guild.default_member_id or self.ids()
            member = guild.members.get(uid) or guild.add_member(user_id=uid)
            user = member.user
        else:
            member = None
            user = self.find_user(user_id) if user_id else None
            if user is None:
                uid = user_id or self.ids()
                user = self.users.setdefault(uid, FakeUser(uid, f"user{uid % 100000}", global_name="User"))
            channel = self._dm_channel(user)
        session = await self.wait_until(lambda: self.session_for_guild(guild.id if guild else None), timeout=timeout,
                                        what=f"a gateway session owning guild {guild.id if guild else 'DM'}")
        interaction_id = self.ids()
        token = interaction_token(interaction_id)
        resolved: dict[str, dict[str, Any]] = {}
        component_message: dict[str, Any] | None = None
        target_message_id: int | None = None
        if interaction_type == 3:
            if custom_id is None:
                raise ValueError("a component interaction needs custom_id")
            component_message = self._component_message(channel, custom_id, component_type, message_id, message)
            target_message_id = int(component_message["id"])
            data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
            if component_type != 2:
                data["values"] = list(values or [])
        else:
            if not name:
                raise ValueError(f"a {kind} interaction needs the command name")
            definition, scoped = self._command_definition(guild, name, command_type or 1)
            data = {"id": definition["id"] if definition else str(self.ids()), "name": name, "type": command_type}
            if scoped and guild is not None:
                data["guild_id"] = str(guild.id)
            if command_type == 1:
                definitions = (definition or {}).get("options") or []
                path = subcommand.split() if isinstance(subcommand, str) else list(subcommand or [])
                for part in path:
                    definitions = next((d.get("options") or [] for d in definitions if d.get("name") == part), [])
                built = build_options(self, guild, channel, options, definitions, focused, resolved)
                for depth, part in reversed(list(enumerate(path))):
                    built = [{"name": part, "type": 2 if depth < len(path) - 1 else 1, "options": built}]
                if built:
                    data["options"] = built
            elif command_type == 3:
                target_message_id = target_id or message_id
                target = self.messages.get(target_message_id or 0)
                if target is None:
                    raise ValueError("a message command needs target_id/message_id of a message in the fake")
                data["target_id"] = str(target_message_id)
                resolved["messages"] = {str(target_message_id): clone(target)}
            else:
                if target_id is None:
                    raise ValueError("a user command needs target_id")
                resolve_option_target(self, guild, channel, 6, int(target_id), resolved)
                if "users" not in resolved:
                    raise ValueError(f"unknown user {target_id}")
                data["target_id"] = str(target_id)
            if resolved:
                data["resolved"] = resolved
        payload = interaction_payload(self, interaction_id=interaction_id, token=token, type=interaction_type,
                                      data=data, guild=guild, channel=channel, user=user, member=member,
                                      permissions=permissions, app_permissions=app_permissions, locale=locale,
                                      message=clone(component_message) if component_message else None)
        interaction = FakeInteraction(self, interaction_id, token, interaction_type, kind, name, custom_id, payload,
                                      guild.id if guild else None, channel.id, user.id, session,
                                      message_id=target_message_id)
        self.interactions[interaction_id] = interaction
        self._interactions_by_token[token] = interaction
        interaction.seq = await self.dispatch_event(session, "INTERACTION_CREATE", payload)
        return interaction

    async def send_command(self, name: str, options: Mapping[str, Any] | None = None, **kw: Any) -> FakeInteraction:
        return await self.dispatch_interaction("command", name, options=options, **kw)

    async def send_autocomplete(self, name: str, options: Mapping[str, Any], focused: str,
                                **kw: Any) -> FakeInteraction:
        return await self.dispatch_interaction("autocomplete", name, options=options, focused=focused, **kw)

    async def send_component(self, custom_id: str, **kw: Any) -> FakeInteraction:
        return await self.dispatch_interaction("component", custom_id=custom_id, **kw)

    def _command_definition(self, guild: FakeGuild | None, name: str,
                            command_type: int) -> tuple[dict[str, Any] | None, bool]:
        if guild is not None:
            found = find_definition(self.guild_commands.get(guild.id, []), name, command_type)
            if found is not None:
                return dict(found), True
        found = find_definition(self.global_commands, name, command_type)
        return (dict(found) if found else None), False

    def _component_message(self, channel: FakeChannel, custom_id: str, component_type: int, message_id: int | None,
                           message: dict[str, Any] | None) -> dict[str, Any]:
        if message_id is not None:
            return self.messages[int(message_id)]
        if message is not None:
            stored = self.messages.setdefault(int(message["id"]), clone(message))
            return stored
        if component_type == 2:
            component: dict[str, Any] = {"type": 2, "style": 2, "label": "Button", "custom_id": custom_id}
        else:
            component = {"type": component_type, "custom_id": custom_id, "options": [
                {"label": "One", "value": "one"}, {"label": "Two", "value": "two"}]}
        return self.add_message(channel.id, "A message with a component",
                                components=[{"type": 1, "components": [component]}])

    def _dm_channel(self, user: FakeUser) -> FakeChannel:
        for channel in self.dm_channels.values():
            if channel.recipient is user:
                return channel
        channel = FakeChannel(self.ids(), "", type=1, recipient=user)
        self.dm_channels[channel.id] = channel
        return channel

    def _token_ok(self, token: Any) -> bool:
        if not isinstance(token, str) or self.token_revoked:
            return False
        return token.removeprefix("Bot ") == self.token

    # --- permissions shortcuts ---------------------------------------------------------------------------------------

    def set_bot_permissions(self, permissions: int, guild_id: int | None = None) -> None:
        """Replace the permissions of the bot's managed role (affects app_permissions and the fake's checks)."""
        guild = self.guilds[guild_id] if guild_id else self.guild
        for role_id in guild.members[self.bot_user.id].roles:
            role = guild.roles[role_id]
            if role.bot_id == self.bot_user.id:
                role.permissions = permissions
                return
        raise LookupError("the bot has no managed role in that guild")


__all__ = ["DEFAULT_TOKEN", "FakeDiscord", "Permissions"]
