"""INTERACTION_CREATE: building realistic payloads and following what the bot does with each interaction."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .ids import Permissions
from .models import FakeChannel, FakeGuild, FakeMember, FakeUser
from .records import CallbackRecord

if TYPE_CHECKING:
    from .gateway import GatewaySession
    from .server import FakeDiscord

# Interaction types and the callback types Discord accepts for each.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
ALLOWED_CALLBACKS = {
    PING: {1},
    APPLICATION_COMMAND: {4, 5, 9, 12},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 12},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
KINDS = {"command": (APPLICATION_COMMAND, 1), "user_command": (APPLICATION_COMMAND, 2),
         "message_command": (APPLICATION_COMMAND, 3), "autocomplete": (AUTOCOMPLETE, 1),
         "component": (MESSAGE_COMPONENT, None)}


def interaction_token(interaction_id: int) -> str:
    raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(eq=False)
class FakeInteraction:
    """One interaction the fake sent, and everything the bot answered to it.

    `await interaction` (or `await interaction.wait_for_callback()`) waits for the callback; `callback` is also
    an asyncio.Future that resolves with the first accepted CallbackRecord."""

    fake: FakeDiscord
    id: int
    token: str
    type: int
    kind: str
    name: str | None
    custom_id: str | None
    payload: dict[str, Any]
    guild_id: int | None
    channel_id: int
    user_id: int
    session: GatewaySession
    seq: int = 0
    message_id: int | None = None                # the message a component sits on / a message command targets
    callbacks: list[CallbackRecord] = field(default_factory=list)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    created: float = field(default_factory=time.monotonic)
    callback: asyncio.Future[CallbackRecord] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def shard_id(self) -> int:
        return self.session.shard_id

    @property
    def original(self) -> dict[str, Any] | None:
        """The original response message as it stands now (None before one exists or after DELETE)."""
        return self.fake.messages.get(self.original_message_id) if self.original_message_id else None

    @property
    def followups(self) -> list[dict[str, Any]]:
        return [self.fake.messages[m] for m in self.followup_ids if m in self.fake.messages]

    def requests(self) -> list[Any]:
        """Every REST call made with this interaction's token (callbacks, follow-ups, edits), in order."""
        return [r for r in self.fake.requests if self.token in r.path]

    async def wait_for_callback(self, timeout: float = 5.0) -> CallbackRecord:
        what = f"the callback of interaction {self.id} ({self.name or self.custom_id})"
        return await self.fake.wait_for_future(self.callback, timeout=timeout, what=what)

    async def wait_for_followup(self, count: int = 1, timeout: float = 5.0) -> dict[str, Any]:
        """Until `count` follow-up messages exist; returns the count-th."""
        return await self.fake.wait_until(
            lambda: len(self.followup_ids) >= count and self.fake.messages.get(self.followup_ids[count - 1]),
            timeout=timeout, what=f"follow-up {count} of interaction {self.id}")

    async def wait_for_request(self, method: str | None = None, path: str | None = None, *, count: int = 1,
                               timeout: float = 5.0) -> Any:
        """Until `count` REST calls with this token match (path is a glob/template, e.g. */messages/@original)."""
        def found() -> Any:
            hits = [r for r in self.requests() if r.matches(method, path)]
            return hits[count - 1] if len(hits) >= count else None
        return await self.fake.wait_until(found, timeout=timeout, what=f"{method} {path} for interaction {self.id}")

    def __await__(self) -> Generator[Any, None, CallbackRecord]:
        return self.wait_for_callback().__await__()

    def __repr__(self) -> str:
        label = self.name or self.custom_id
        return f"<FakeInteraction {self.kind} {label!r} id={self.id} callbacks={len(self.callbacks)}>"


def option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


def build_options(fake: FakeDiscord, guild: FakeGuild | None, channel: FakeChannel,
                  options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
                  definitions: Sequence[Mapping[str, Any]], focused: str | None,
                  resolved: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Options as Discord sends them. A mapping {name: value} is typed from the registered command's options
    when the bot has synced them (else from the Python type); user (6), channel (7), role (8) and mentionable (9)
    options given as ids get their `resolved` entries. A sequence of dicts is sent as given."""
    if options is None:
        return []
    if not isinstance(options, Mapping):
        out = [dict(o) for o in options]
        for o in out:
            if focused is not None and o.get("name") == focused:
                o["focused"] = True
        return out
    defs = {d.get("name"): d for d in definitions}
    unknown = sorted(set(options) - set(defs)) if defs else []
    if unknown:   # Discord only ever sends the options the synced command declares
        raise ValueError(f"the synced command has no option {unknown}; it has {sorted(defs)}")
    out = []
    for name, value in options.items():
        kind = defs.get(name, {}).get("type") or option_type(value)
        option: dict[str, Any] = {"name": name, "type": kind, "value": value}
        if kind in (6, 7, 8, 9) and focused != name:
            option["value"] = str(value)
            resolve_option_target(fake, guild, channel, kind, int(value), resolved)
        if name == focused:
            option["focused"] = True
        out.append(option)
    return out


def resolve_option_target(fake: FakeDiscord, guild: FakeGuild | None, channel: FakeChannel, kind: int,
                          target: int, resolved: dict[str, dict[str, Any]]) -> None:
    if guild is not None and target in guild.roles and kind in (8, 9):
        resolved.setdefault("roles", {})[str(target)] = guild.roles[target].payload()
    elif guild is not None and target in guild.channels and kind == 7:
        ch = guild.channels[target]
        resolved.setdefault("channels", {})[str(target)] = {
            "id": str(ch.id), "name": ch.name, "type": ch.type,
            "parent_id": str(ch.parent_id) if ch.parent_id else None,
            "permissions": str(guild.permissions_in(fake.bot_user.id, ch.id)), "flags": 0}
    else:
        user = fake.find_user(target)
        if user is None:
            return
        resolved.setdefault("users", {})[str(target)] = user.payload()
        member = guild.members.get(target) if guild is not None else None
        if member is not None:
            resolved.setdefault("members", {})[str(target)] = member.payload(
                permissions=guild.permissions_in(target, channel.id), with_user=False)


def find_definition(commands: Sequence[Mapping[str, Any]], name: str, command_type: int) -> Mapping[str, Any] | None:
    return next((c for c in commands if c.get("name") == name and c.get("type", 1) == command_type), None)


def interaction_payload(fake: FakeDiscord, *, interaction_id: int, token: str, type: int, data: dict[str, Any],
                        guild: FakeGuild | None, channel: FakeChannel, user: FakeUser, member: FakeMember | None,
                        permissions: int | None, app_permissions: int | None, locale: str,
                        message: dict[str, Any] | None) -> dict[str, Any]:
    """INTERACTION_CREATE `d`, shaped like Discord's for a guild or a DM."""
    payload: dict[str, Any] = {
        "id": str(interaction_id), "application_id": str(fake.application_id), "type": type, "data": data,
        "token": token, "version": 1, "locale": locale, "entitlements": [], "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024, "channel_id": str(channel.id),
    }
    if guild is not None:
        member_bits = permissions if permissions is not None else guild.permissions_in(user.id, channel.id)
        app_bits = app_permissions if app_permissions is not None else guild.permissions_in(fake.bot_user.id,
                                                                                            channel.id)
        payload.update(
            guild_id=str(guild.id), guild_locale=guild.preferred_locale, context=0,
            guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": list(guild.features)},
            authorizing_integration_owners={"0": str(guild.id)}, app_permissions=str(app_bits),
            member=(member or FakeMember(user)).payload(permissions=member_bits),
            channel={**channel.payload(), "permissions": str(member_bits)},
        )
    else:
        dm_bits = (Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES | Permissions.EMBED_LINKS
                   | Permissions.ATTACH_FILES | Permissions.READ_MESSAGE_HISTORY | Permissions.ADD_REACTIONS
                   | Permissions.USE_EXTERNAL_EMOJIS | Permissions.USE_APPLICATION_COMMANDS)
        payload.update(
            context=1, user=user.payload(), authorizing_integration_owners={"1": str(user.id)},
            app_permissions=str(app_permissions if app_permissions is not None else dm_bits),
            channel={**channel.payload(), "permissions": str(permissions if permissions is not None else dm_bits)},
        )
    if message is not None:
        payload["message"] = message
    return payload
