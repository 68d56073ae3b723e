"""The fake Discord and the real bot process that most end-to-end tests share (a module may define its own)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `fakediscord`; see tests/fakediscord/README.md
from fakediscord import FakeDiscord
from fakediscord.botprocess import BotProcess, sync_commands

WAIT = 20.0             # generous: CI machines are slow; a pass never waits this long
DISCORD_DEADLINE = 3.0  # seconds Discord gives for the first response to an interaction


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.interaction_deadline = DISCORD_DEADLINE   # a late answer fails as it would on Discord (10062)
        await sync_commands(server, tmp_path)
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """The bot, ready; it must stop cleanly (exit 0), never print its token, and say nothing alarming about
    features it never uses."""
    process = await BotProcess.start(fake, tmp_path)
    try:
        await fake.wait_for_ready(timeout=WAIT)
        yield process
    finally:
        status = await process.stop()
        assert status == 0, process.output()
    assert fake.token not in process.output()
    assert "voice will NOT be supported" not in process.output()
