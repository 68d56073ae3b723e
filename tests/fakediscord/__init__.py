"""A fake Discord (REST API and gateway) on 127.0.0.1, for end-to-end tests of the real bot.

    async with FakeDiscord(token) as fake:             # or: await fake.start() ... await fake.stop()
        # run the bot with DISCORD_API_BASE=fake.base_url (or, in-process: `with pointed_at(fake): ...`)
        await fake.wait_for_ready()
        interaction = await fake.send_command("who", {"query": "visa"})
        callback = await interaction.wait_for_callback(timeout=5)

Import as `fakediscord` with tests/ on sys.path (pytest's rootdir conftest puts it there; the e2e modules also
insert it themselves). Do not add a tests/e2e/conftest.py: the unit tests do `from conftest import ...`, and a
second conftest.py outside a package replaces that module for the whole run.
"""

from .discordpy import pointed_at, transport_compression
from .gateway import GatewayConnection, GatewaySession
from .ids import Intents, Permissions, SnowflakeFactory, guild_id_for_shard, shard_for, snowflake
from .interactions import FakeInteraction
from .models import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, Overwrite, make_bot_user, make_guild
from .records import CallbackRecord, DispatchRecord, HeartbeatRecord, IdentifyRecord, RecordedRequest, ResumeRecord
from .rest import FailRule
from .server import DEFAULT_TOKEN, FakeDiscord
from .validation import ApiError

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "CallbackRecord",
    "DispatchRecord",
    "FailRule",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "GatewayConnection",
    "GatewaySession",
    "HeartbeatRecord",
    "IdentifyRecord",
    "Intents",
    "Overwrite",
    "Permissions",
    "RecordedRequest",
    "ResumeRecord",
    "SnowflakeFactory",
    "guild_id_for_shard",
    "make_bot_user",
    "make_guild",
    "pointed_at",
    "shard_for",
    "snowflake",
    "transport_compression",
]
