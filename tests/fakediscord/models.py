"""The fake's world: users, guilds with roles, channels and members, and the JSON Discord sends for each.

Permissions are computed the way Discord documents it (base permissions from @everyone and the member's roles,
owner and ADMINISTRATOR short-circuits, then channel overwrites for @everyone, the roles, the member), so the
`member.permissions` and `app_permissions` of an interaction, and the fake's own checks on pinning and reading
messages, follow from the guild rather than from a hand-written number.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from .ids import Permissions, snowflake


def iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id), "username": self.username, "discriminator": "0", "global_name": self.global_name,
            "avatar": None, "avatar_decoration_data": None, "collectibles": None, "display_name_styles": None,
            "primary_guild": None, "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None      # set for the role Discord creates for a bot when it joins
    color: int = 0
    hoist: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id), "name": self.name, "description": None, "permissions": str(self.permissions),
            "position": self.position, "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist, "managed": self.managed, "mentionable": self.mentionable, "icon": None,
            "unicode_emoji": None, "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Overwrite:
    id: int
    type: int          # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0                  # 0 GUILD_TEXT, 1 DM, 2 GUILD_VOICE, 4 GUILD_CATEGORY, 5 GUILD_ANNOUNCEMENT
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient: FakeUser | None = None   # DM channels

    def payload(self, *, with_guild_id: bool = True) -> dict[str, Any]:
        if self.type == 1:
            return {"id": str(self.id), "type": 1, "last_message_id": None, "flags": 0,
                    "recipients": [self.recipient.payload()] if self.recipient else []}
        data: dict[str, Any] = {
            "id": str(self.id), "type": self.type, "name": self.name, "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "permission_overwrites": [o.payload() for o in self.overwrites], "flags": 0,
        }
        if self.type in (0, 5):
            data.update(topic=self.topic, nsfw=self.nsfw, rate_limit_per_user=0, last_message_id=None,
                        last_pin_timestamp=None, default_thread_rate_limit_per_user=0)
        if self.type == 2:
            data.update(bitrate=64000, user_limit=0, rtc_region=None, nsfw=False, rate_limit_per_user=0,
                        last_message_id=None)
        if with_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    def payload(self, *, permissions: int | None = None, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles], "nick": self.nick, "avatar": None, "banner": None,
            "joined_at": self.joined_at, "premium_since": None, "deaf": False, "mute": False, "flags": 0,
            "pending": False, "communication_disabled_until": None, "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)
    default_member_id: int | None = None    # who invokes interactions when a test names nobody

    # --- building ------------------------------------------------------------------------------------------------

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    @property
    def channel(self) -> FakeChannel:
        """The first text channel."""
        return next(c for c in self.channels.values() if c.type == 0)

    def channel_named(self, name: str) -> FakeChannel:
        return next(c for c in self.channels.values() if c.name == name)

    def member_named(self, username: str) -> FakeMember:
        return next(m for m in self.members.values() if m.user.username == username)

    def add_role(self, name: str, permissions: int = 0, *, role_id: int | None = None, managed: bool = False,
                 bot_id: int | None = None) -> FakeRole:
        role = FakeRole(role_id or snowflake(), name, permissions, position=len(self.roles), managed=managed,
                        bot_id=bot_id)
        self.roles[role.id] = role
        return role

    def add_channel(self, name: str, *, type: int = 0, channel_id: int | None = None,
                    overwrites: list[Overwrite] | None = None, parent_id: int | None = None) -> FakeChannel:
        channel = FakeChannel(channel_id or snowflake(), name, type=type, guild_id=self.id,
                              position=len(self.channels), parent_id=parent_id, overwrites=list(overwrites or []))
        self.channels[channel.id] = channel
        return channel

    def add_member(self, user: FakeUser | None = None, *, username: str | None = None, user_id: int | None = None,
                   permissions: int | None = None, roles: list[int] | tuple[int, ...] = (),
                   nick: str | None = None) -> FakeMember:
        """Add a member. With `permissions`, the member gets a role of their own carrying exactly those bits
        (on top of @everyone), the way a server admin would grant them."""
        if user is None:
            uid = user_id or snowflake()
            name = username or f"member{uid % 100000}"
            user = FakeUser(uid, name, global_name=name.title())
        role_ids = list(roles)
        if permissions is not None:
            role_ids.append(self.add_role(f"{user.username}-role", permissions).id)
        member = FakeMember(user, role_ids, nick=nick)
        self.members[user.id] = member
        return member

    # --- permissions ---------------------------------------------------------------------------------------------

    def base_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return Permissions.ALL
        member = self.members.get(user_id)
        value = self.everyone.permissions
        for role_id in member.roles if member else ():
            role = self.roles.get(role_id)
            if role is not None:
                value |= role.permissions
        if value & Permissions.ADMINISTRATOR:
            return Permissions.ALL
        return value

    def permissions_in(self, user_id: int, channel_id: int) -> int:
        base = self.base_permissions(user_id)
        if base & Permissions.ADMINISTRATOR:
            return Permissions.ALL
        channel = self.channels.get(channel_id)
        if channel is None:
            return base
        value = base
        overwrites = {o.id: o for o in channel.overwrites}
        everyone = overwrites.get(self.id)
        if everyone is not None:
            value = (value & ~everyone.deny) | everyone.allow
        member = self.members.get(user_id)
        allow = deny = 0
        for role_id in member.roles if member else ():
            ow = overwrites.get(role_id)
            if ow is not None and ow.type == 0:
                allow |= ow.allow
                deny |= ow.deny
        value = (value & ~deny) | allow
        own = overwrites.get(user_id)
        if own is not None and own.type == 1:
            value = (value & ~own.deny) | own.allow
        if not value & Permissions.VIEW_CHANNEL:
            return 0
        return value

    # --- payloads ------------------------------------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        """The guild object (as in GET /guilds/{id}), without the GUILD_CREATE extras."""
        return {
            "id": str(self.id), "name": self.name, "icon": None, "icon_hash": None, "splash": None,
            "discovery_splash": None, "banner": None, "description": None, "owner_id": str(self.owner_id),
            "afk_channel_id": None, "afk_timeout": 300, "widget_enabled": False, "widget_channel_id": None,
            "verification_level": 1, "default_message_notifications": 1, "explicit_content_filter": 2,
            "roles": [r.payload() for r in self.roles.values()], "emojis": [], "stickers": [],
            "features": list(self.features), "mfa_level": 0, "application_id": None,
            "system_channel_id": str(self.channel.id) if self.channels else None, "system_channel_flags": 0,
            "rules_channel_id": None, "max_presences": None, "max_members": 500000, "vanity_url_code": None,
            "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": self.preferred_locale,
            "public_updates_channel_id": None, "max_video_channel_users": 25, "max_stage_video_channel_users": 50,
            "nsfw_level": 0, "nsfw": False, "premium_progress_bar_enabled": False, "safety_alerts_channel_id": None,
            "incidents_data": None, "latest_onboarding_question_id": None, "hub_type": None, "home_header": None,
            "inventory_settings": None, "region": "deprecated", "version": 0,
        }

    def create_payload(self, bot_id: int, *, all_members: bool = False) -> dict[str, Any]:
        """GUILD_CREATE: the guild plus channels, threads and members (the bot itself, or everyone with the
        GUILD_MEMBERS intent on a small guild)."""
        bot_member = self.members.get(bot_id)
        members = list(self.members.values()) if all_members else [m for m in (bot_member,) if m is not None]
        data = self.payload()
        data.update(
            joined_at=bot_member.joined_at if bot_member else iso_now(), large=False, unavailable=False,
            member_count=len(self.members), voice_states=[], members=[m.payload() for m in members],
            channels=[c.payload(with_guild_id=False) for c in self.channels.values()], threads=[], presences=[],
            stage_instances=[], guild_scheduled_events=[], soundboard_sounds=[], embedded_activities=[],
            activity_instances=[], application_command_counts={}, lazy=True,
        )
        return data


def make_bot_user(application_id: int | None = None, name: str = "who-handles") -> FakeUser:
    uid = application_id or snowflake()
    return FakeUser(uid, name, global_name=None, bot=True)


def make_guild(bot: FakeUser, *, guild_id: int | None = None, name: str = "Test Server",
               bot_permissions: int = Permissions.DEFAULT_BOT,
               everyone_permissions: int = Permissions.DEFAULT_EVERYONE & ~Permissions.MANAGE_MESSAGES,
               channel_name: str = "general", locale: str = "en-US") -> FakeGuild:
    """A small server the bot has joined: @everyone, the bot's managed role carrying `bot_permissions`, a text
    channel, and three people: `owner` (owns the server, so has every permission), `member` (just @everyone, the
    default invoker of interactions) and `moderator` (MANAGE_MESSAGES and PIN_MESSAGES)."""
    gid = guild_id or snowflake()
    owner = FakeUser(snowflake(), "owner", global_name="Owner")
    guild = FakeGuild(gid, name, owner.id, preferred_locale=locale)
    guild.add_role("@everyone", everyone_permissions, role_id=gid)
    guild.add_channel(channel_name)
    bot_role = guild.add_role(bot.username, bot_permissions, managed=True, bot_id=bot.id)
    guild.members[bot.id] = FakeMember(bot, [bot_role.id])
    guild.add_member(owner)
    guild.default_member_id = guild.add_member(username="member").id
    guild.add_member(username="moderator", permissions=Permissions.MANAGE_MESSAGES | Permissions.PIN_MESSAGES)
    return guild
