"""bot/discord/client.py: intents, mentions, the error handler, DISCORD_API_BASE, run_bot and sync_commands.

The network tests talk only to a small aiohttp server on 127.0.0.1 standing in for Discord's REST API.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp
import discord
import pytest
from aiohttp import web
from conftest import MINI, ROOT, interaction_payload, slash

from bot.core.router import Router
from bot.discord.client import (
    GC_YOUNG_THRESHOLD,
    build_bot,
    collect_less_often,
    command_payload,
    intents,
    run_bot,
    sync_commands,
    use_api_base,
    use_local_gateway,
)
from bot.settings import is_loopback_url

SECRET = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret-token-for-tests"


# --- the client -------------------------------------------------------------------------------------------------------

def test_the_fewest_intents_that_work():
    chosen = intents()
    assert chosen.value == discord.Intents(guilds=True).value
    assert not chosen.message_content and not chosen.members and not chosen.presences


def test_mentions_are_disabled_on_the_client_itself(mini_router: Router):
    bot = build_bot(mini_router)
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}
    assert bot.intents.value == intents().value


async def test_setup_hook_wires_the_cogs_the_error_handler_and_the_persistent_items(discord_env):
    bot, _ = discord_env
    assert set(bot.cogs) == {"Who", "Browse", "Server"}  # no DEV_GUILD_ID: no /reload anywhere (SIGHUP reloads)
    assert bot.tree.on_error == bot.on_tree_error
    names = sorted(command.name for command in bot.tree.get_commands(type=discord.AppCommandType.chat_input))
    assert names == ["about", "agency", "ice", "server", "sources", "topics", "who"]
    assert bot.tree.get_command("Pin answer", type=discord.AppCommandType.message) is not None
    assert bot.tree.get_command("Answer this message", type=discord.AppCommandType.message) is not None


# --- the one error handler --------------------------------------------------------------------------------------------

def _error_id(text: str) -> str:
    found = re.search(r"error id `([0-9a-f]{8})`", text)
    assert found, text
    return found.group(1)


async def test_a_failing_command_tells_the_member_an_error_id_and_logs_the_rest(discord_env, monkeypatch, caplog):
    bot, fake = discord_env

    def broken(*args, **kwargs):
        raise RuntimeError("the table exploded")

    monkeypatch.setattr(Router, "ice", broken)
    with caplog.at_level(logging.ERROR, logger="who_handles.discord"):
        await fake.interact(bot, interaction_payload(2, slash("ice", aspect="hsi")))
    data = fake.last()
    assert data["flags"] & 64 and "Traceback" not in data["content"] and "exploded" not in data["content"]
    error_id = _error_id(data["content"])
    record = next(r for r in caplog.records if error_id in r.getMessage())
    assert "command ice" in record.getMessage() and "options ['aspect']" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


async def test_a_broken_transformer_is_reported_as_a_bug_not_as_bad_input(discord_env, monkeypatch, caplog):
    bot, fake = discord_env
    monkeypatch.setattr(Router, "ask", lambda *a, **k: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="who_handles.discord"):
        await fake.interact(bot, interaction_payload(2, slash("who", topic="anything at all")))
    error_id = _error_id(fake.last()["content"])
    assert any(error_id in r.getMessage() and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


async def test_an_error_after_the_answer_went_out_arrives_as_a_private_follow_up(discord_env, monkeypatch):
    bot, fake = discord_env
    monkeypatch.setattr(bot.recent, "record", lambda *a: 1 / 0)
    await fake.interact(bot, interaction_payload(2, slash("who", topic="detention")))
    follow_up = fake.replies()[-1]
    assert follow_up.path == "/webhooks/{webhook_id}/{webhook_token}"
    assert follow_up.json["flags"] & 64 and _error_id(follow_up.json["content"])


# --- DISCORD_API_BASE -------------------------------------------------------------------------------------------------

@pytest.fixture
def route_base(monkeypatch):
    """Whatever a test does to discord.py's REST base and gateway is undone afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    return discord.http.Route.BASE


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/api/v10", "http://127.5.6.7/api/", "https://localhost:9999/api/v10", "http://[::1]:80/api",
])
def test_a_loopback_api_base_is_used(route_base, url: str):
    assert use_api_base(url) == url.rstrip("/")
    assert url.rstrip("/") == discord.http.Route.BASE
    assert discord.http.Route("GET", "/users/@me").url == url.rstrip("/") + "/users/@me"


@pytest.mark.parametrize("url", [
    "https://discord.com/api/v10", "http://10.0.0.1/api", "http://127.0.0.1.evil.example/api",
    "http://localhost.evil.example/api", "http://[::2]/api", "ftp://127.0.0.1/api", "127.0.0.1:8080", "http://",
    "http://[::1/api",
])
def test_any_other_api_base_is_refused_and_changes_nothing(route_base, url: str):
    with pytest.raises(ValueError, match="refusing"):
        use_api_base(url)
    assert route_base == discord.http.Route.BASE


def test_no_api_base_leaves_discord_in_place(route_base):
    assert use_api_base(None) is None and use_api_base("") is None
    assert discord.http.Route.BASE == route_base == "https://discord.com/api/v10"


def test_gateway_urls_are_held_to_the_same_rule():
    assert is_loopback_url("ws://127.0.0.1:1234/gateway", schemes=("ws", "wss"))
    assert not is_loopback_url("wss://gateway.discord.gg/", schemes=("ws", "wss"))
    assert not is_loopback_url("http://127.0.0.1/", schemes=("ws", "wss"))


# --- a stand-in for Discord's REST API, on 127.0.0.1 ------------------------------------------------------------------

class LocalDiscord:
    """Just enough of Discord's REST API for login and command sync, in a thread of its own."""

    GOOD_TOKEN = "good-token"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, object]] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.gateway: str | None = None      # what GET /gateway/bot announces; default: ws:// on this server
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> LocalDiscord:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body))
        if request.headers.get("Authorization") != f"Bot {self.GOOD_TOKEN}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        path = request.path.removeprefix("/api/v10")
        if path == "/users/@me":
            return _json({"id": "1", "username": "who-handles", "discriminator": "0", "avatar": None,
                                      "bot": True})
        if path == "/oauth2/applications/@me":
            return _json({"id": "1", "name": "who-handles", "description": "", "icon": None,
                                      "bot_public": True, "bot_require_code_grant": False, "verify_key": "0",
                                      "owner": {"id": "2", "username": "o", "discriminator": "0", "avatar": None},
                                      "flags": 0})
        if path == "/gateway/bot":
            url = self.gateway or f"ws://127.0.0.1:{self.port}/gateway"
            return _json({"url": url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})
        if request.method == "PUT" and path.endswith("/commands"):
            guild = re.search(r"/guilds/(\d+)/", path)
            return _json([dict(command, id=str(n + 10), application_id="1", version="1",
                                description=command.get("description", ""),
                                           **({"guild_id": guild.group(1)} if guild else {}))
                                      for n, command in enumerate(body)])
        return _json({"message": "404: Not Found", "code": 0}, status=404)


def _json(data: object, status: int = 200) -> web.Response:
    """JSON the way Discord sends it (discord.py parses only an exact "application/json")."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


@pytest.mark.parametrize("announced", [None, "wss://gateway.discord.gg/"])
async def test_with_a_local_api_the_gateway_must_be_local_too(mini_router: Router, route_base, announced):
    with LocalDiscord() as local:
        local.gateway = announced
        use_api_base(local.base)
        bot = build_bot(mini_router)
        async with bot:
            await bot.login(LocalDiscord.GOOD_TOKEN)
            if announced is None:
                url = await use_local_gateway(bot)
                assert url == f"ws://127.0.0.1:{local.port}/gateway"
                assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == url
            else:
                with pytest.raises(ValueError, match="not on this machine"):
                    await use_local_gateway(bot)
                assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


@pytest.fixture
def quiet_logging():
    """run_bot configures the root logger for production; put pytest's back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("discord").level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    logging.getLogger("discord").setLevel(saved[2])


def _env(**values: str) -> dict[str, str]:
    return {"KNOWLEDGE_DIR": str(MINI), **values}


def test_run_bot_needs_a_token(capsys, route_base):
    assert run_bot(_env()) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


def test_run_bot_refuses_an_api_base_off_this_machine(capsys, route_base):
    assert run_bot(_env(DISCORD_TOKEN=SECRET, DISCORD_API_BASE="https://discord.example/api/v10")) == 2
    err = capsys.readouterr().err
    assert "DISCORD_API_BASE" in err and "refusing" in err and SECRET not in err
    assert route_base == discord.http.Route.BASE


def test_a_broken_table_stops_run_bot_before_it_connects(tmp_path: Path, capsys, route_base):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("agencies.yaml", "sources.yaml", "aspects.yaml"):
        (broken / name).write_text((MINI / name).read_text())
    (broken / "topics").mkdir()
    (broken / "topics" / "x.yaml").write_text("topics:\n  - id: a\n    title: [unclosed\n")
    with LocalDiscord() as local:
        status = run_bot({"KNOWLEDGE_DIR": str(broken), "DISCORD_TOKEN": SECRET, "DISCORD_API_BASE": local.base})
    assert status == 1
    err = capsys.readouterr().err
    assert f"{broken / 'topics' / 'x.yaml'}:4: yaml:" in err and "Traceback" not in err
    assert local.requests == []                                # never even logged in


def test_a_refused_token_is_a_clear_message_and_never_printed(capsys, caplog, route_base, quiet_logging):
    with LocalDiscord() as local, caplog.at_level(logging.DEBUG):
        status = run_bot(_env(DISCORD_TOKEN=SECRET, DISCORD_API_BASE=local.base))
    assert status == 3
    out = capsys.readouterr()
    assert "Discord refused the token in DISCORD_TOKEN" in out.err
    assert SECRET not in out.out + out.err
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert [(method, path) for method, path, _ in local.requests] == [("GET", "/api/v10/users/@me")]


def test_log_misses_that_the_log_level_would_hide_is_warned_about_at_start(capsys, route_base, quiet_logging):
    with LocalDiscord() as local:   # the refused token ends the run right after start-up
        status = run_bot(_env(DISCORD_TOKEN=SECRET, DISCORD_API_BASE=local.base, LOG_MISSES="1", LOG_LEVEL="ERROR"))
    assert status == 3
    assert "who-handles: warning: LOG_MISSES=1 has no effect with LOG_LEVEL=ERROR" in capsys.readouterr().err


# --- who-handles sync -------------------------------------------------------------------------------------------------

async def test_the_dry_run_payload_is_what_the_real_tree_sends(mini_router: Router, monkeypatch):
    async def no_network(*args, **kwargs):
        raise AssertionError("the dry run touched the network")

    monkeypatch.setattr(aiohttp.ClientSession, "_request", no_network)
    payload = await command_payload()
    bot = build_bot(mini_router)
    async with bot:
        await bot.setup_hook()
        translator = bot.tree.translator
        expected = [await command.get_translated_payload(bot.tree, translator) for command in bot.tree.get_commands()]
    assert payload == expected
    assert await command_payload(guild_id=123) == expected       # copied to the guild, the same commands

    who = next(command for command in payload if command["name"] == "who")
    topic = who["options"][0]
    assert topic["name"] == "topic" and topic["autocomplete"] is True
    assert (topic["min_length"], topic["max_length"]) == (1, 100)
    private = {key: value for key, value in who["options"][1].items() if not key.endswith("_localizations")}
    assert private == {"type": 5, "name": "private", "required": False,
                       "description": "Answer only you (default: everyone in the channel sees the answer)"}
    ice = next(command for command in payload if command["name"] == "ice")
    assert [choice["value"] for choice in ice["options"][0]["choices"]] == [
        "mission", "history", "hsi", "ero", "opla", "sevp", "activities", "ecosystem", "priorities", "oversight",
        "partnerships", "summary"]
    assert all(len(choice["name"]) <= 100 for choice in ice["options"][0]["choices"])
    agency = next(command for command in payload if command["name"] == "agency")
    assert agency["options"][0]["autocomplete"] is True and agency["options"][0]["max_length"] == 100
    menu = next(command for command in payload if command["name"] == "Pin answer")
    assert menu["type"] == 3 and menu["dm_permission"] is False


def test_sync_dry_run_from_the_command_line_needs_no_token():
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DISCORD_API_BASE")}
    names = {}
    for dev_guild in ("", "42"):
        result = subprocess.run([sys.executable, "-m", "bot", "sync", "--dry-run", "--guild", "42"],
                                capture_output=True, text=True, timeout=60, env=env | {"DEV_GUILD_ID": dev_guild},
                                cwd=ROOT)
        assert result.returncode == 0, result.stderr
        names[dev_guild] = [command["name"] for command in json.loads(result.stdout)]
    everywhere = ["who", "ice", "agency", "topics", "sources", "about", "server", "Pin answer", "Answer this message"]
    assert names[""] == everywhere
    assert names["42"] == ["reload", *everywhere]


def test_sync_without_a_token_says_so(capsys):
    assert sync_commands(None, dry_run=False, environ={}) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize("guild_id", [None, 42])
def test_sync_sends_the_dry_run_payload(capsys, route_base, guild_id: int | None):
    expected = asyncio.run(command_payload(guild_id))
    with LocalDiscord() as local:
        status = sync_commands(guild_id, environ={"DISCORD_TOKEN": LocalDiscord.GOOD_TOKEN,
                                                  "DISCORD_API_BASE": local.base})
    assert status == 0, capsys.readouterr().err
    put = [(path, body) for method, path, body in local.requests if method == "PUT"]
    where = f"/guilds/{guild_id}/commands" if guild_id else "/applications/1/commands"
    assert len(put) == 1 and put[0][0].endswith(where)
    assert put[0][1] == expected
    assert "reload" not in [command["name"] for command in expected]   # not in every server's list
    assert "synced 9 commands" in capsys.readouterr().out


def test_sync_with_a_refused_token(capsys, route_base):
    with LocalDiscord() as local:
        assert sync_commands(None, environ={"DISCORD_TOKEN": SECRET, "DISCORD_API_BASE": local.base}) == 3
    err = capsys.readouterr().err
    assert "refused the token" in err and SECRET not in err


def _sync_process(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`who-handles sync ARGS` as people run it, with only the given Discord settings."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DISCORD_TOKEN", "DISCORD_API_BASE", "DEV_GUILD_ID")}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "bot", "sync", *args], capture_output=True, text=True, timeout=60,
                          env=environment, cwd=ROOT)


def test_sync_without_a_guild_uses_dev_guild_id_and_says_so(capsys, route_base):
    with LocalDiscord() as local:
        status = sync_commands(None, environ={"DISCORD_TOKEN": LocalDiscord.GOOD_TOKEN, "DISCORD_API_BASE": local.base,
                                              "DEV_GUILD_ID": "4242"})
        puts = [path for method, path, _ in local.requests if method == "PUT"]
    assert status == 0
    assert puts == ["/api/v10/applications/1/guilds/4242/commands"]
    assert "synced 10 commands to guild 4242 (DEV_GUILD_ID" in capsys.readouterr().out   # /reload among them


def test_sync_guild_and_global_override_dev_guild_id(capsys, route_base):
    env = {"DISCORD_TOKEN": LocalDiscord.GOOD_TOKEN, "DEV_GUILD_ID": "4242"}
    with LocalDiscord() as local:
        env["DISCORD_API_BASE"] = local.base
        assert sync_commands(77, environ=env) == 0
        assert sync_commands(None, environ=env, use_dev_guild=False) == 0
        puts = [path for method, path, _ in local.requests if method == "PUT"]
    # --global still gives the operator's guild its /reload, and only that
    assert puts == ["/api/v10/applications/1/guilds/77/commands", "/api/v10/applications/1/commands",
                    "/api/v10/applications/1/guilds/4242/commands"]
    out = capsys.readouterr().out
    assert "to guild 77:" in out and "to all guilds" in out
    assert "synced 1 commands to guild 4242 (DEV_GUILD_ID): reload" in out


def test_sync_refuses_a_bad_dev_guild_id(capsys, route_base):
    with LocalDiscord() as local:
        status = sync_commands(None, environ={"DISCORD_TOKEN": LocalDiscord.GOOD_TOKEN, "DISCORD_API_BASE": local.base,
                                              "DEV_GUILD_ID": "my-server"})
    assert status == 2 and local.requests == []
    assert "DEV_GUILD_ID must be a whole number" in capsys.readouterr().err


def test_sync_command_line_documents_and_uses_dev_guild_id():
    assert "DEV_GUILD_ID" in _sync_process("--help").stdout
    with LocalDiscord() as local:
        env = {"DISCORD_TOKEN": LocalDiscord.GOOD_TOKEN, "DISCORD_API_BASE": local.base, "DEV_GUILD_ID": "4242"}
        to_dev_guild = _sync_process(**env)
        everywhere = _sync_process("--global", **env)
        puts = [path for method, path, _ in local.requests if method == "PUT"]
    assert to_dev_guild.returncode == 0 and everywhere.returncode == 0, to_dev_guild.stderr + everywhere.stderr
    assert puts == ["/api/v10/applications/1/guilds/4242/commands", "/api/v10/applications/1/commands",
                    "/api/v10/applications/1/guilds/4242/commands"]
    assert "guild 4242 (DEV_GUILD_ID" in to_dev_guild.stdout
    assert "--guild" in _sync_process("--guild", "1", "--global").stderr    # one or the other


def test_sync_against_an_unreachable_discord_is_a_clear_message_not_a_traceback():
    with socket.socket() as probe:        # a loopback port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v10"
    result = _sync_process(DISCORD_TOKEN=SECRET, DISCORD_API_BASE=base)
    assert result.returncode == 1
    assert f"could not reach Discord at {base}" in result.stderr and "nothing was synced" in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stdout + result.stderr


def test_the_serving_process_collects_young_garbage_less_often():
    before = gc.get_threshold()
    try:
        collect_less_often()
        assert gc.get_threshold() == (max(GC_YOUNG_THRESHOLD, before[0]), before[1], before[2])
        assert GC_YOUNG_THRESHOLD > 700          # Python's default
    finally:
        gc.set_threshold(*before)
