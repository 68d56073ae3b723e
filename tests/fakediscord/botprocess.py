"""The real `who-handles` program as a child process, pointed at a FakeDiscord: what end-to-end tests and
bench/bench_gateway.py drive. Output goes to a file (a pipe nobody reads would block the bot)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .server import FakeDiscord

# Only what a process needs to start; nothing else from the caller's environment (no real DISCORD_TOKEN, no
# KNOWLEDGE_DIR of a developer's shell) leaks into the bot under test.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")
_synced_commands: list[dict[str, Any]] = []   # what `who-handles sync` sent the first time, replayed afterwards
_log_numbers = itertools.count(1)


def who_handles() -> list[str]:
    """The installed console script next to this interpreter, else `python -m bot`."""
    script = Path(sys.executable).with_name("who-handles")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def bot_environment(fake: FakeDiscord, extra: Mapping[str, str] | None = None, *,
                    token: str | None = None) -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(PYTHONUNBUFFERED="1", DISCORD_TOKEN=fake.token if token is None else token,
               DISCORD_API_BASE=fake.base_url)
    env.update(extra or {})
    return env


class BotProcess:
    """One `who-handles ARGS` child. `await BotProcess.start(fake, tmp_path)`; `await bot.stop()` sends SIGTERM and
    returns the exit status; `output()` is everything it printed (stdout and stderr)."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path):
        self.process, self.log_path = process, log_path

    @classmethod
    async def start(cls, fake: FakeDiscord, log_dir: Path, *, args: Sequence[str] = ("run",),
                    env: Mapping[str, str] | None = None, token: str | None = None,
                    name: str = "bot", command: Sequence[str] | None = None) -> BotProcess:
        """`command` replaces the program (default: who_handles()), e.g. to run it under a profiler."""
        log_path = Path(log_dir) / f"{name}-{next(_log_numbers)}.log"
        # Its store in the test's folder, never ./data of the checkout (a test may give DATA_DIR or DATABASE_URL).
        env = {"DATA_DIR": str(Path(log_dir) / "data"), **(env or {})}
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *(command or who_handles()), *args, env=bot_environment(fake, env, token=token),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)
        return cls(process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait(self, timeout: float = 20.0) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the exit status; kill it if it overstays `timeout`."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


async def run_once(fake: FakeDiscord, log_dir: Path, args: Sequence[str], *, env: Mapping[str, str] | None = None,
                   token: str | None = None, timeout: float = 30.0) -> tuple[int, str]:
    """Run `who-handles ARGS` to completion; (exit status, output)."""
    bot = await BotProcess.start(fake, log_dir, args=args, env=env, token=token, name=args[0])
    status = await bot.wait(timeout)
    return status, bot.output()


async def sync_commands(fake: FakeDiscord, log_dir: Path) -> None:
    """Register the bot's commands with the fake as `who-handles sync` does. The first call runs the real command;
    later ones replay what it sent, which saves a process start per test."""
    if not _synced_commands:
        status, output = await run_once(fake, log_dir, ["sync"])
        if status != 0:
            raise RuntimeError(f"who-handles sync failed ({status}):\n{output}")
        _synced_commands.extend(copy.deepcopy(fake.global_commands))
        return
    fake.global_commands = copy.deepcopy(_synced_commands)


async def wait_for(condition: Callable[[], object], what: str, timeout: float) -> None:
    """Until condition() is true (the bot's output says something, say); checks every 20 ms, fails with `what` after
    `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
