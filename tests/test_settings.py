"""Configuration from the environment: defaults, every bad value named at once, and a token that never shows."""

import dataclasses
import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, is_loopback_url


def test_defaults():
    settings = Settings.from_env({})
    assert settings.token is None
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert settings.repeat_window_seconds == 60.0
    assert settings.shard_count is None and settings.health_port is None


def test_values_are_parsed(tmp_path):
    settings = Settings.from_env({
        "DISCORD_TOKEN": "abc.def.ghi", "KNOWLEDGE_DIR": str(tmp_path), "DEV_GUILD_ID": "123",
        "SHARD_COUNT": "4", "SHARD_IDS": "0, 2", "LOG_LEVEL": "debug", "LOG_FORMAT": "JSON", "HEALTH_PORT": "8080",
        "REPEAT_WINDOW_SECONDS": "30", "USER_RATE_COUNT": "3", "USER_RATE_SECONDS": "10", "LOG_MISSES": "1",
        "DISCORD_API_BASE": "http://127.0.0.1:9999/api/v10/",
    })
    assert settings.token.reveal() == "abc.def.ghi"
    assert settings.shard_ids == (0, 2) and settings.shard_count == 4
    assert (settings.log_level, settings.log_format, settings.health_port) == ("DEBUG", "json", 8080)
    assert settings.log_misses and settings.user_rate_count == 3
    assert settings.api_base == "http://127.0.0.1:9999/api/v10"


def test_every_bad_value_is_named():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({
            "SHARD_COUNT": "two", "SHARD_IDS": "0,x", "LOG_LEVEL": "loud", "LOG_FORMAT": "xml",
            "HEALTH_PORT": "70000", "REPEAT_WINDOW_SECONDS": "-1", "KNOWLEDGE_DIR": "/nowhere/at/all",
            "DEV_GUILD_ID": "guild", "LOG_MISSES": "maybe", "DISCORD_API_BASE": "https://discord.example.com/api",
        })
    text = str(caught.value)
    for name in ("SHARD_COUNT", "SHARD_IDS", "LOG_LEVEL", "LOG_FORMAT", "HEALTH_PORT", "REPEAT_WINDOW_SECONDS",
                 "KNOWLEDGE_DIR", "DEV_GUILD_ID", "LOG_MISSES", "DISCORD_API_BASE"):
        assert name in text


def test_shard_ids_must_fit_the_count():
    with pytest.raises(SettingsError, match="below SHARD_COUNT=2"):
        Settings.from_env({"SHARD_COUNT": "2", "SHARD_IDS": "1,2"})
    with pytest.raises(SettingsError, match="needs SHARD_COUNT"):
        Settings.from_env({"SHARD_IDS": "0"})


def test_token_never_shows():
    token = "MTIz.secret-token.value"
    settings = Settings.from_env({"DISCORD_TOKEN": token})
    assert token not in repr(settings) and token not in str(settings)
    assert token not in f"{settings.token}"


@pytest.mark.parametrize(("url", "ok"), [
    ("http://127.0.0.1:8000/api", True), ("http://localhost/api", True), ("http://[::1]:80/", True),
    ("http://127.5.5.5/", True), ("https://discord.com/api/v10", False), ("http://10.0.0.1/", False),
    ("http://127.0.0.1.evil.com/", False), ("file:///etc/passwd", False), ("127.0.0.1:80", False),
])
def test_loopback_only(url: str, ok: bool):
    assert is_loopback_url(url) is ok


EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


class Recording(dict):
    """An environment that remembers every name Settings.from_env looks up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)


def env_file(path: Path) -> dict[str, str]:
    """`docker run --env-file` semantics: NAME=value lines (an empty value is set, as empty); # lines ignored."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def test_env_example_documents_every_setting_and_nothing_else():
    environment = Recording()
    Settings.from_env(environment)
    fields = [f.name for f in dataclasses.fields(Settings) if f.name != "problems"]
    assert len(environment.read) == len(fields)          # one variable per setting
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert environment.read <= documented, f"not in .env.example: {sorted(environment.read - documented)}"
    assert documented <= environment.read, f"documented but never read: {sorted(documented - environment.read)}"


def test_env_example_used_as_an_env_file_is_valid_and_keeps_the_health_server():
    settings = Settings.from_env(env_file(EXAMPLE))
    assert settings.health_port == 8080                  # as the image's ENV and HEALTHCHECK expect
    assert settings == Settings.from_env({"HEALTH_PORT": "8080"})   # every other value is the default


@pytest.mark.parametrize("name", ["REPEAT_WINDOW_SECONDS", "USER_RATE_SECONDS"])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
def test_cooldown_windows_must_be_finite(name: str, value: str):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert caught.value.problems == [f"{name} must be a finite number of seconds, got {value!r}"]


@pytest.mark.parametrize(("env", "problem"), [
    ({"USER_RATE_COUNT": "0"}, "USER_RATE_COUNT must be from 1 up, got 0"),
    ({"USER_RATE_COUNT": "-3"}, "USER_RATE_COUNT must be from 1 up, got -3"),
    ({"USER_RATE_COUNT": "2.5"}, "USER_RATE_COUNT must be a whole number, got '2.5'"),
    ({"USER_RATE_COUNT": "five"}, "USER_RATE_COUNT must be a whole number, got 'five'"),
    ({"USER_RATE_SECONDS": "0"}, "USER_RATE_SECONDS must be at least 0.001, got 0"),
    ({"USER_RATE_SECONDS": "-1"}, "USER_RATE_SECONDS must be at least 0.001, got -1"),
    ({"USER_RATE_SECONDS": "thirty"}, "USER_RATE_SECONDS must be a number of seconds, got 'thirty'"),
])
def test_user_rate_errors_say_what_is_accepted(env: dict[str, str], problem: str):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert caught.value.problems == [problem]


def test_a_bad_shard_count_is_the_only_shard_problem_named():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SHARD_COUNT": "0", "SHARD_IDS": "0,1"})
    assert caught.value.problems == ["SHARD_COUNT must be from 1 to 10000, got 0"]   # not "SHARD_IDS needs SHARD_COUNT"


@pytest.mark.parametrize(("level", "warned"), [("DEBUG", False), ("INFO", False), ("WARNING", True), ("ERROR", True)])
def test_log_misses_above_info_is_warned_about(level: str, warned: bool):
    settings = Settings.from_env({"LOG_MISSES": "1", "LOG_LEVEL": level})
    assert bool(settings.warnings()) is warned
    assert Settings.from_env({"LOG_LEVEL": level}).warnings() == []
    if warned:
        assert settings.warnings() == [f"LOG_MISSES=1 has no effect with LOG_LEVEL={level}: unmatched queries are "
                                       "logged at INFO; set LOG_LEVEL=INFO (or DEBUG) to see them"]


def test_code_url_is_an_https_address_or_nothing():
    assert Settings.from_env({}).code_url is None
    assert Settings.from_env({"CODE_URL": "https://git.example.org/who-handles"}).code_url == (
        "https://git.example.org/who-handles")
    for bad in ("http://git.example.org/x", "javascript:alert(1)", "git.example.org/x"):
        with pytest.raises(SettingsError, match="CODE_URL"):
            Settings.from_env({"CODE_URL": bad})


def test_the_store_is_sqlite_in_data_dir_by_default_or_postgresql_by_url(tmp_path):
    assert Settings.from_env({}).data_dir == Path("data") and Settings.from_env({}).database_url is None
    url = "postgresql://bot:s3cret@db:5432/whohandles"
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "DATABASE_URL": url})
    assert settings.data_dir == tmp_path and settings.database_url.reveal() == url
    assert "s3cret" not in repr(settings)
    with pytest.raises(SettingsError, match="DATABASE_URL must be a postgresql:// URL"):
        Settings.from_env({"DATABASE_URL": "mysql://db/whohandles"})
