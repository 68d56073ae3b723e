"""Configuration: one frozen object read from the environment and validated at start.

Every bad value is reported at once, by name, with what would be accepted; the token is kept in a Secret whose
repr never shows it, so it cannot leak through a log line, a traceback's locals or an error message.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


class Secret:
    """A value that never appears in repr() or str()."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class SettingsError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("bad configuration:\n" + "\n".join(f"  {problem}" for problem in problems))


@dataclass(frozen=True)
class Settings:
    token: Secret | None = None
    knowledge_dir: Path | None = None
    dev_guild_id: int | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    repeat_window_seconds: float = 60.0
    user_rate_count: int = 5
    user_rate_seconds: float = 30.0
    log_misses: bool = False
    api_base: str | None = None
    code_url: str | None = None        # where the code is published, for /about; nothing is shown without it
    data_dir: Path = Path("data")
    database_url: Secret | None = None
    problems: list[str] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        problems: list[str] = []
        read = _Reader(env, problems)
        token = env.get("DISCORD_TOKEN", "").strip()
        shard_count = read.integer("SHARD_COUNT", minimum=1, maximum=10_000)
        shard_ids = read.integer_list("SHARD_IDS")
        # A SHARD_COUNT that is set but bad has its own problem above; the slice cannot be checked against it.
        if shard_ids is not None and shard_count is None and not read.present("SHARD_COUNT"):
            problems.append("SHARD_IDS needs SHARD_COUNT (the total number of shards of the application)")
        elif shard_ids is not None and shard_count is not None and any(shard >= shard_count for shard in shard_ids):
            problems.append(f"SHARD_IDS must be below SHARD_COUNT={shard_count}, got {list(shard_ids)}")
        knowledge_dir = env.get("KNOWLEDGE_DIR", "").strip() or None
        if knowledge_dir is not None and not Path(knowledge_dir).is_dir():
            problems.append(f"KNOWLEDGE_DIR={knowledge_dir!r} is not a directory")
        settings = cls(
            token=Secret(token) if token else None,
            knowledge_dir=Path(knowledge_dir) if knowledge_dir else None,
            dev_guild_id=read.integer("DEV_GUILD_ID", minimum=1),
            shard_count=shard_count,
            shard_ids=shard_ids,
            log_level=read.choice("LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
            log_format=read.choice("LOG_FORMAT", LOG_FORMATS, "text"),
            health_port=read.integer("HEALTH_PORT", minimum=1, maximum=65535),
            health_host=env.get("HEALTH_HOST", "").strip() or "127.0.0.1",
            repeat_window_seconds=read.number("REPEAT_WINDOW_SECONDS", 60.0, minimum=0),
            user_rate_count=read.integer("USER_RATE_COUNT", minimum=1) or 5,
            user_rate_seconds=read.number("USER_RATE_SECONDS", 30.0, minimum=0.001),
            log_misses=read.flag("LOG_MISSES"),
            api_base=read.loopback_url("DISCORD_API_BASE"),
            code_url=read.https_url("CODE_URL"),
            data_dir=Path(env.get("DATA_DIR", "").strip() or "data"),
            database_url=read.database_url("DATABASE_URL"),
        )
        if problems:
            raise SettingsError(problems)
        return settings

    def warnings(self) -> list[str]:
        """Settings that are valid but will not do what they seem to: said once at start."""
        found = []
        if self.log_misses and LOG_LEVELS.index(self.log_level) > LOG_LEVELS.index("INFO"):
            found.append(f"LOG_MISSES=1 has no effect with LOG_LEVEL={self.log_level}: unmatched queries are logged "
                         "at INFO; set LOG_LEVEL=INFO (or DEBUG) to see them")
        return found


class _Reader:
    def __init__(self, env: Mapping[str, str], problems: list[str]):
        self.env, self.problems = env, problems

    def _raw(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def present(self, name: str) -> bool:
        return self._raw(name) is not None

    def integer(self, name: str, minimum: int | None = None, maximum: int | None = None) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw[:40]!r}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"from {minimum}" + (f" to {maximum}" if maximum is not None else " up")
            self.problems.append(f"{name} must be {bounds}, got {value}")
            return None
        return value

    def number(self, name: str, default: float, minimum: float) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number of seconds, got {raw[:40]!r}")
            return default
        if not math.isfinite(value):
            self.problems.append(f"{name} must be a finite number of seconds, got {raw[:40]!r}")
            return default
        if not value >= minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {raw[:40]}")
            return default
        return value

    def integer_list(self, name: str) -> tuple[int, ...] | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            values = tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
        except ValueError:
            self.problems.append(f"{name} must be shard numbers separated by commas, like 0,1, got {raw[:40]!r}")
            return None
        if not values or any(value < 0 for value in values) or len(set(values)) != len(values):
            self.problems.append(f"{name} must list distinct shard numbers from 0, got {raw[:40]!r}")
            return None
        return values

    def choice(self, name: str, allowed: tuple[str, ...], default: str, upper: bool = False) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in allowed:
            self.problems.append(f"{name} must be one of {', '.join(allowed)}, got {raw[:40]!r}")
            return default
        return value

    def flag(self, name: str) -> bool:
        raw = (self._raw(name) or "0").lower()
        if raw not in ("0", "1", "true", "false", "yes", "no"):
            self.problems.append(f"{name} must be 1 or 0, got {raw[:40]!r}")
            return False
        return raw in ("1", "true", "yes")

    def https_url(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            parts = urlsplit(raw)
        except ValueError:
            parts = None
        if parts is None or parts.scheme != "https" or not parts.hostname:
            self.problems.append(f"{name} must be an https:// address, got {raw[:60]!r}")
            return None
        return raw
    def database_url(self, name: str) -> Secret | None:
        """postgresql://user:password@host:port/database; kept secret (it may hold a password)."""
        raw = self._raw(name)
        if raw is None:
            return None
        if not raw.startswith(("postgresql://", "postgres://")):
            self.problems.append(f"{name} must be a postgresql:// URL (leave it empty for SQLite in DATA_DIR)")
            return None
        return Secret(raw)

    def loopback_url(self, name: str) -> str | None:
        """A REST base for a local fake Discord. Only loopback hosts: the token is sent there."""
        raw = self._raw(name)
        if raw is None:
            return None
        if not is_loopback_url(raw):
            self.problems.append(f"{name} must point at this machine (127.0.0.1, ::1 or localhost); "
                                 "refusing to send the token elsewhere")
            return None
        return raw.rstrip("/")


def is_loopback_url(url: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    """True only for a URL on this machine: 127.0.0.0/8, ::1 or localhost."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in schemes or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
