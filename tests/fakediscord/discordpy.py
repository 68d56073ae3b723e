"""Pointing an in-process discord.py at the fake.

discord.py has two hard-coded Discord addresses: `discord.http.Route.BASE` (every REST call, including the
interaction webhooks) and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`, which a plain Client (and an
AutoShardedClient given shard_count) connects to without asking GET /gateway/bot, and which every client falls
back to after a non-resumable INVALID_SESSION. Both are class attributes, so this is process-wide.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import FakeDiscord


@contextlib.contextmanager
def pointed_at(fake: FakeDiscord) -> Iterator[FakeDiscord]:
    """Within the block, discord.py's REST base and default gateway are the fake's; restored afterwards."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield fake
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


def transport_compression() -> str:
    """What this process's discord.py asks the gateway for: zstd-stream when zstandard (or Python 3.14's
    compression.zstd) is importable, zlib-stream otherwise."""
    from discord import utils

    return utils._ActiveDecompressionContext.COMPRESSION_TYPE
