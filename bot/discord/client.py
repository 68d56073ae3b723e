"""The discord.py Bot: setup_hook loads the cogs, registers the persistent components and the one error handler.

`build_bot(router)` makes a bot without touching the network (tests drive it through a fake HTTP layer);
`run_bot()` is `who-handles run` with DISCORD_TOKEN set; `sync_commands()` is `who-handles sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.core.knowledge import KnowledgeError
from bot.core.router import Router
from bot.discord.deadline import note_arrival, respond
from bot.discord.gateway_close import read_until_discord_closes
from bot.discord.limits import Clock, Limits, RecentAnswers, UserRate
from bot.discord.pins import refresh_pins
from bot.discord.text import lang_for, say
from bot.discord.translator import SpanishTranslator
from bot.discord.views import (
    DeleteButton,
    FeedbackButton,
    OpenTopicSelect,
    PageButton,
    PickButton,
    PinButton,
    ShareButton,
    Votes,
    server_settings,
)
from bot.observability import HealthServer, Metrics, configure_logging
from bot.settings import Settings, SettingsError, is_loopback_url
from bot.store import SafeStore, backend_for

log = logging.getLogger("who_handles.discord")
T = TypeVar("T")

EXTENSIONS = ("bot.discord.cogs.who", "bot.discord.cogs.browse", "bot.discord.cogs.admin", "bot.discord.cogs.server")
DRY_RUN_APPLICATION_ID = 0   # stands in for the real id when --dry-run builds the payload without logging in

# The bot never joins voice: discord.py's start-up warnings about missing voice libraries would only alarm operators.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def intents() -> discord.Intents:
    """The fewest that work. Slash commands, components and their interactions need no intent at all; `guilds`
    keeps discord.py's guild and channel cache coherent (the library strongly recommends it) at little cost.
    No message content, no members, no presences."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


def package_version() -> str:
    try:
        return metadata.version("who-handles")
    except metadata.PackageNotFoundError:
        return "unknown"


class WhoHandlesBot(commands.Bot):
    def __init__(self, router: Router | None, *, limits: Limits | None = None, clock: Clock = time.monotonic,
                 metrics: Metrics | None = None, knowledge_dir: Path | None = None, store: SafeStore | None = None,
                 dev_guild_id: int | None = None, code_url: str | None = None,
                 pin_pause: Callable[[float], Awaitable[Any]] = asyncio.sleep, **options: Any):
        super().__init__(
            command_prefix=commands.when_mentioned,   # unused: the bot reads no messages; slash commands only
            help_command=None,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self._router = router
        self.knowledge_dir = knowledge_dir
        self.dev_guild_id = dev_guild_id   # the operator's server: the only one with /reload
        self.code_url = code_url           # shown by /about when the operator publishes the code (CODE_URL)
        self.limits = limits or Limits()
        self.clock = clock
        self.recent = RecentAnswers(self.limits.repeat_window_seconds, clock)
        self.votes = Votes()
        self.user_rate = UserRate(self.limits.user_rate_count, self.limits.user_rate_seconds, clock)
        self.metrics = metrics or Metrics()
        self.version = package_version()
        self.draining = False   # set on close (SIGTERM): new interactions are turned away while answers finish
        # discord.py's close() shuts the gateway and then the HTTP session; every reply goes out through that
        # session, so its close waits until the answers still being sent are out (see close()).
        self._close_http_now = self.http.close
        self._answers_deadline: float | None = None   # set when the close begins
        self.http.close = self._close_http_after_answers  # type: ignore[method-assign]
        self._reloading = asyncio.Lock()   # one reload at a time (SIGHUP twice, SIGHUP and /reload)
        # What each server owns. Without one given (tests, `sync`), an in-memory SQLite database: same code paths.
        self.store = store if store is not None else SafeStore(backend_for(Path(), None, memory=True))
        self._writes: set[asyncio.Task[Any]] = set()   # statistics and feedback written after the reply
        self.pin_pause = pin_pause   # waits between two edits of pinned answers (tests record it instead)
        self.pin_refresh: asyncio.Task[int] | None = None
        self._drop_malformed_events()
        if router is not None:
            self.metrics.knowledge_loaded(router.knowledge.version)

    def _drop_malformed_events(self) -> None:
        """An event discord.py cannot parse (an interaction id that is not a number, `member` as a string) raises
        out of the gateway's read loop and would end the process; log it and drop that one event instead, and keep
        the connection. discord.py reads its parsers from this table when it opens each gateway connection."""
        parsers = self._connection.parsers

        def tolerant(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
            def parse_or_drop(data: Any) -> None:
                try:
                    parse(data)
                except Exception:
                    log.exception("dropped a malformed %s event", event)
            return parse_or_drop

        for event, parse in list(parsers.items()):
            parsers[event] = tolerant(event, parse)

    @property
    def router(self) -> Router:
        if self._router is None:
            raise RuntimeError("this bot was built without a knowledge table (sync only)")
        return self._router

    def swap_router(self, router: Router) -> None:
        """A reload: every later request sees the new table whole."""
        self._router = router
        self.metrics.knowledge_loaded(router.knowledge.version)

    async def reload_knowledge(self, timeout: float | None = None) -> list[str]:
        """Load the table again (SIGHUP or /reload). A table that fails validation is refused, the old one keeps
        serving, and the problems are logged with file and line; returns them (empty when the new table is in).

        Reloads run one at a time, each reading the files afresh: two that overlapped could otherwise finish out of
        order and leave the older read of the table serving. The files are read off the event loop, in a daemon
        thread, for at most `timeout` seconds (RELOAD_TIMEOUT_SECONDS): a read that hangs (a network mount that
        stopped answering) is refused and left behind, and neither later reloads nor the process's exit wait for
        it."""
        if self._reloading.locked():
            log.info("knowledge reload waits for the one in progress")
        async with self._reloading:
            limit = RELOAD_TIMEOUT_SECONDS if timeout is None else timeout
            try:
                router = await asyncio.wait_for(in_daemon_thread(Router.load, self.knowledge_dir), limit)
            except KnowledgeError as error:
                problems = error.problems
            except TimeoutError:
                problems = [f"reading the table took longer than {limit:.0f} s; is a file or the disk stuck?"]
            except Exception as error:   # whatever the loader did not foresee, refused like a broken table
                problems = [f"the table could not be loaded: {type(error).__name__}: {error}"[:500]]
            else:
                previous = self.router
                self.swap_router(router)
                self.metrics.reloads.labels(result="ok").inc()
                log.info("knowledge reloaded: %s", router.knowledge.version)
                self.refresh_pins_later(previous)
                return []
            self.metrics.reloads.labels(result="refused").inc()
            log.error("knowledge reload refused; still serving %s. %s", self.router.knowledge.version,
                      "\n".join(problems))
            return problems

    async def close(self) -> None:
        """Shut down without leaving an interaction unanswered. In this order: new interactions are turned away
        ("restarting") while the answers in flight go out, the gateway still open, so that what arrives meanwhile
        is told rather than lost; then the gateway closes, read until Discord's own close frame, so that what
        Discord sent before it read ours is told too (gateway_close.py); every answer task still running is waited
        for again, until none is left or the grace period is over; and the HTTP session, which every reply goes
        through, closes last."""
        self.draining = True
        if self.pin_refresh is not None:
            self.pin_refresh.cancel()
        if self._answers_deadline is None:
            self._answers_deadline = asyncio.get_running_loop().time() + ANSWER_GRACE_SECONDS
            await wait_for_answers(self._answers_deadline - GATEWAY_CLOSE_SECONDS)
            read_until_discord_closes(self, self.gateway_sockets(), GATEWAY_CLOSE_SECONDS)
        try:
            await super().close()   # gateway first; HTTP through _close_http_after_answers
            if self._writes:
                await asyncio.wait(list(self._writes), timeout=1.0)
        finally:
            await self.store.close()

    async def _close_http_after_answers(self) -> None:
        deadline = self._answers_deadline or asyncio.get_running_loop().time() + ANSWER_GRACE_SECONDS
        left = await wait_for_answers(deadline)
        if left:
            log.warning("closing with %d answers still unsent after %.0f s", left, ANSWER_GRACE_SECONDS)
        await self._close_http_now()

    def gateway_sockets(self) -> list[discord.gateway.DiscordWebSocket | None]:
        """This process's gateway connections: the one of a plain bot, or one per shard of its slice (None for a
        shard not launched yet)."""
        if not isinstance(self, discord.AutoShardedClient):
            return [self.ws]
        # discord.py's ShardInfo (what `shards` holds) exposes no socket; _get_websocket reads the Shard behind it.
        launched = self.shards
        slice_ids = self.shard_ids if self.shard_ids is not None else range(self.shard_count or 0)
        return [self._get_websocket(shard_id=shard_id) if shard_id in launched else None for shard_id in slice_ids]

    def last_heartbeat_ack(self) -> float | None:
        """When the gateway last acknowledged a heartbeat (time.perf_counter); for several shards, the oldest.
        None unless every connection of this process is open and heartbeating."""
        acks: list[float] = []
        for ws in self.gateway_sockets():
            if ws is None or not ws.open:
                return None
            ack = getattr(ws._keep_alive, "_last_ack", None)   # no keep-alive before HELLO or after a close
            if ack is None:
                return None
            acks.append(ack)
        return min(acks) if acks else None

    def refresh_pins_later(self, previous: Router | None = None) -> None:
        """Edit the pinned answers the table in use changed, in the background (see pins.py); a refresh still
        running stops, and the new one takes up what it left."""
        if self.pin_refresh is not None:
            self.pin_refresh.cancel()
        self.pin_refresh = asyncio.create_task(refresh_pins(self, previous, pause=self.pin_pause),
                                               name="who-handles-pin-refresh")

    def write_later(self, write: Any) -> None:
        """Run a store write (a coroutine) after the reply, never delaying it; SafeStore never raises."""
        task = asyncio.ensure_future(write)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def setup_hook(self) -> None:
        await self.store.open()    # migrates; a database that is down is logged and the bot starts anyway
        if self._router is not None:
            self.refresh_pins_later()   # pins recorded under an older table
        await self.tree.set_translator(SpanishTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(PinButton, OpenTopicSelect, PickButton, PageButton, FeedbackButton, DeleteButton,
                               ShareButton)
        self.tree.error(self.on_tree_error)
        self.tree.interaction_check = self.admit  # type: ignore[method-assign]

    # --- shared by the cogs -------------------------------------------------------------------------------------

    async def check_rate(self, interaction: discord.Interaction) -> None:
        """Raise CommandOnCooldown when the member has used up the per-user rate (the server's, where it set a
        stricter one: its settings are cached, and read once an interaction, so this costs no database round trip
        on most answers)."""
        server = await server_settings(interaction)
        count = server.rate_count
        per = float(server.rate_seconds) if server.rate_seconds else None
        wait = self.user_rate.hit(interaction.user.id, count, per)
        if wait:
            cooldown = app_commands.Cooldown(count or self.limits.user_rate_count, per or self.limits.user_rate_seconds)
            raise app_commands.CommandOnCooldown(cooldown, wait)

    def count_answer(self, command: str, status: str, interaction: discord.Interaction | None = None) -> None:
        """Count an answer of `command` with resolution `status`; with `interaction`, time it till its reply is sent."""
        self.metrics.answered(command, status)
        if interaction is not None:
            interaction.extras["timed_as"] = command   # observed once its reply has gone out: see reply_sent

    def reply_sent(self, interaction: discord.Interaction) -> None:
        """A reply to `interaction` has been sent: the latency histogram gets the time since it arrived, once, under
        the command that count_answer named (nothing for an interaction that was not counted as an answer)."""
        command = interaction.extras.pop("timed_as", None)
        received = interaction.extras.get("received")
        if command is not None and received is not None:
            self.metrics.replied(command, time.perf_counter() - received)

    async def admit(self, interaction: discord.Interaction) -> bool:
        """The first check of every interaction (the tree's interaction_check, and each component's): remember when
        it arrived (for Discord's deadline and the latency histogram), and turn work away politely while shutting
        down."""
        note_arrival(interaction)
        return not await self.turned_away(interaction)

    async def turned_away(self, interaction: discord.Interaction) -> bool:
        """While shutting down, True, and the member is told: a short private "restarting" message for a command or
        a component (buttons, menus: each one's interaction_check asks through admit), no choices for autocomplete
        (Discord accepts only choices in answer to it). False otherwise."""
        if not self.draining:
            return False
        if interaction.type is discord.InteractionType.autocomplete:
            try:
                await interaction.response.autocomplete([])
            except discord.HTTPException:
                log.warning("could not answer an autocomplete while shutting down (interaction %s)", interaction.id)
        else:
            await self._tell(interaction, say(lang_for(interaction.locale), "restarting"))
        return True

    def count_autocomplete(self, command: str) -> None:
        self.metrics.autocompleted(command)

    # --- errors -------------------------------------------------------------------------------------------------

    async def on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """The one error handler: a short private message for the member, the whole story for the log."""
        lang = lang_for(interaction.locale)
        if isinstance(error, app_commands.CheckFailure) and interaction.response.is_done():
            return   # a cog's check refused and has already told the member why (/server without Manage Server)
        if isinstance(error, app_commands.CommandOnCooldown):
            await self._tell(interaction, say(lang, "slow_down", seconds=max(1, round(error.retry_after))))
        elif isinstance(error, app_commands.TransformerError) and error.__cause__ is None:
            await self._tell(interaction, say(lang, "bad_option"))   # a value that is not one of the choices
        elif isinstance(error, app_commands.TransformerError):
            await self.report_error(interaction, error.__cause__)    # our transformer broke: a bug, not the input
        else:
            await self.report_error(interaction, getattr(error, "original", None) or error)

    async def report_error(self, interaction: discord.Interaction, error: BaseException) -> str:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else None
        data = interaction.data or {}
        log.error(
            "error %s in %s (interaction type %s, command %s, custom_id %s, options %s, guild %s, channel %s, "
            "locale %s)",
            error_id, type(error).__name__, interaction.type.name, command, data.get("custom_id"),
            sorted(option.get("name", "?") for option in data.get("options", [])) if isinstance(data, dict) else [],
            interaction.guild_id, interaction.channel_id, interaction.locale,
            exc_info=(type(error), error, error.__traceback__),
        )
        await self._tell(interaction, say(lang_for(interaction.locale), "error", error_id=error_id))
        return error_id

    async def _tell(self, interaction: discord.Interaction, text: str) -> None:
        message = {"content": text, "ephemeral": True, "allowed_mentions": discord.AllowedMentions.none()}
        try:
            if interaction.response.is_done():
                await interaction.followup.send(**message)
            else:
                await respond(interaction, **message)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            # Also a connection cut or refused: the member is then told nothing, but the log says why.
            log.warning("could not tell the member (interaction %s): %s", interaction.id, type(error).__name__)


class ShardedWhoHandlesBot(WhoHandlesBot, commands.AutoShardedBot):
    """The same bot on a slice of the application's gateway shards (SHARD_COUNT, SHARD_IDS): several copies with
    disjoint slices serve one application together."""


def build_bot(router: Router | None, *, limits: Limits | None = None, clock: Clock = time.monotonic,
              metrics: Metrics | None = None, settings: Settings | None = None, **options: Any) -> WhoHandlesBot:
    """A bot ready to log in; nothing here touches the network. With settings, its store is the one they name
    (SQLite in DATA_DIR, or DATABASE_URL); it is opened in setup_hook."""
    if settings is not None:
        options.setdefault("knowledge_dir", settings.knowledge_dir)
        options.setdefault("dev_guild_id", settings.dev_guild_id)
        options.setdefault("code_url", settings.code_url)
    if settings is not None and "store" not in options:
        url = settings.database_url.reveal() if settings.database_url else None
        options["store"] = SafeStore(backend_for(settings.data_dir, url))
    if settings is not None and settings.shard_count:
        shard_ids = list(settings.shard_ids) if settings.shard_ids else list(range(settings.shard_count))
        return ShardedWhoHandlesBot(router, limits=limits, clock=clock, metrics=metrics,
                                    shard_count=settings.shard_count, shard_ids=shard_ids, **options)
    return WhoHandlesBot(router, limits=limits, clock=clock, metrics=metrics, **options)


# --- the local fake Discord -------------------------------------------------------------------------------------------

def use_api_base(url: str | None) -> str | None:
    """Point discord.py's REST calls at DISCORD_API_BASE (a local fake Discord for end-to-end tests).

    Only a loopback address is accepted, because the token goes wherever this points; anything else raises
    ValueError and changes nothing. None or empty leaves Discord's real API in place."""
    if not url:
        return None
    if not is_loopback_url(url):
        raise ValueError("DISCORD_API_BASE must point at this machine (127.0.0.1, ::1 or localhost); refusing to "
                         "start so the token is never sent anywhere else")
    base = url.rstrip("/")
    discord.http.Route.BASE = base
    return base


async def use_local_gateway(bot: commands.Bot) -> str:
    """With DISCORD_API_BASE, take the gateway URL from the fake's GET /gateway/bot too (discord.py otherwise
    connects to Discord's real gateway and identifies there with the token). Loopback only, as for REST."""
    _, url, _ = await bot.http.get_bot_gateway()
    if not is_loopback_url(url, schemes=("ws", "wss")):
        raise ValueError("the local fake Discord announced a gateway that is not on this machine; refusing to "
                         "connect")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    return url


# --- who-handles run --------------------------------------------------------------------------------------------------

def run_bot(environ: Mapping[str, str] | None = None) -> int:
    """Run the bot with DISCORD_TOKEN. Exit status: 0 after a clean stop, 1 for a broken knowledge table or a crash,
    2 for bad configuration, 3 when Discord refuses the token. The token is never printed or logged."""
    env = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        print(f"who-handles: {error}", file=sys.stderr)
        return 2
    if not settings.token:
        print("who-handles: DISCORD_TOKEN is not set", file=sys.stderr)
        return 2
    token = settings.token.reveal()
    try:
        router = Router.load(settings.knowledge_dir)
    except KnowledgeError as error:
        print(f"who-handles: the knowledge table is broken, not connecting:\n{error}", file=sys.stderr)
        return 1
    try:
        use_api_base(settings.api_base)
    except ValueError as error:
        print(f"who-handles: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    for warning in settings.warnings():   # on stderr, not in the log: LOG_LEVEL may be what hides it
        print(f"who-handles: warning: {warning}", file=sys.stderr)
    bot = build_bot(router, limits=Limits.from_settings(settings), settings=settings)
    collect_less_often()
    try:
        asyncio.run(_serve(bot, token, settings))
    except discord.LoginFailure:
        print("who-handles: Discord refused the token in DISCORD_TOKEN (it may have been reset); get a new one "
              "from the developer portal.", file=sys.stderr)
        return 3
    except discord.PrivilegedIntentsRequired:
        print("who-handles: Discord refused the requested intents.", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # the last line of defence: say what, never with the token
        text = f"{type(error).__name__}: {error}".replace(token, "[token]")
        print(f"who-handles: the bot stopped: {text}", file=sys.stderr)
        return 1
    return 0


# Python's young-generation threshold (700 allocations) dates from much smaller programs. Every answer leaves a few
# reference cycles behind (discord.py's Interaction and its InteractionResponse point at each other), and with the
# default the collector also keeps re-walking the answers still in flight: measured with callgrind over 2,000
# answers, collection was 5-7% of the bot's instructions per answer (10-25% of its CPU time in the gateway benchmark,
# whose heap is larger), and this threshold takes most of it back for garbage that waits a little longer: resident
# memory grows by about 2 MB in `bench_gateway.py --quick` and 5 MB after its full run.
GC_YOUNG_THRESHOLD = 10_000


def collect_less_often() -> None:
    """Raise the collector's young threshold for the serving process (only `who-handles run` calls this)."""
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG_THRESHOLD, young), older, oldest)


async def _serve(bot: WhoHandlesBot, token: str, settings: Settings) -> None:
    health: HealthServer | None = None
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        # `docker stop` sends SIGTERM: stop taking work, let answers in flight finish, close the gateway, exit 0.
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(_shut_down(bot)))
        # SIGHUP reloads the knowledge; a broken table is refused and the old one keeps serving.
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(bot.reload_knowledge()))
    async with bot:
        await bot.login(token)
        if settings.api_base:
            await use_local_gateway(bot)
        if settings.health_port:
            health = HealthServer(bot.metrics, bot.last_heartbeat_ack, clock=time.perf_counter)
            await health.start(settings.health_port, settings.health_host)
        try:
            await bot.connect()
        finally:
            if health is not None:
                await health.stop()


RELOAD_TIMEOUT_SECONDS = 30.0   # the table loads in well under a second; this is a stuck disk, not a slow one
SHUTDOWN_GRACE_SECONDS = 8.0   # within Docker's default 10 s before SIGKILL
ANSWER_GRACE_SECONDS = SHUTDOWN_GRACE_SECONDS - 1.0   # the rest is for closing the connections themselves
GATEWAY_CLOSE_SECONDS = 1.0   # of the answers' grace, the longest the gateway's close handshake may take
# The tasks discord.py runs an interaction in: commands and autocomplete, view items, DynamicItems.
ANSWER_TASKS = ("CommandTree-invoker", "discord-ui-view-dispatch", "discord-ui-dynamic-item")


def in_daemon_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """`function(*args)` in a thread of its own, as a future of this loop. Unlike asyncio.to_thread, whose
    executor the loop waits for when it closes, a daemon thread that never returns does not hold the exit up."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():   # abandoned after a timeout: nobody is waiting any more
            outcome()

    def run() -> None:
        try:
            result = function(*args)
        except BaseException as error:
            loop.call_soon_threadsafe(settle, functools.partial(future.set_exception, error))
        else:
            loop.call_soon_threadsafe(settle, functools.partial(future.set_result, result))

    threading.Thread(target=run, name="who-handles-reload", daemon=True).start()
    return future


async def wait_for_answers(deadline: float) -> int:
    """Wait until no answer task is running or the loop's clock passes `deadline`, taking in tasks that start
    meanwhile; returns how many were still running at the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        running = [task for task in asyncio.all_tasks() if task.get_name().startswith(ANSWER_TASKS)]
        left = deadline - loop.time()
        if not running or left <= 0:
            return len(running)
        await asyncio.wait(running, timeout=left)


async def _shut_down(bot: WhoHandlesBot) -> None:
    try:
        await asyncio.wait_for(bot.close(), timeout=SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("the close took longer than %.0f s; exiting anyway", SHUTDOWN_GRACE_SECONDS)


# --- who-handles sync -------------------------------------------------------------------------------------------------

def sync_commands(guild_id: int | None = None, dry_run: bool = False, environ: Mapping[str, str] | None = None, *,
                  use_dev_guild: bool = True) -> int:
    """Send the application commands to Discord (globally, or to one guild for instant testing). Without guild_id,
    the guild is DEV_GUILD_ID when that is set (use_dev_guild=False, `--global`, ignores it). /reload, the
    operator's, goes to DEV_GUILD_ID only, never to every server's list. With dry_run, print instead, as JSON,
    exactly the payload discord.py's CommandTree.sync would send (the first, for a global sync that also updates
    DEV_GUILD_ID); no token, no network."""
    env = os.environ if environ is None else environ
    try:
        dev_guild_id = Settings.from_env({"DEV_GUILD_ID": env.get("DEV_GUILD_ID", "")}).dev_guild_id
    except SettingsError as error:
        print(f"who-handles: {error}", file=sys.stderr)
        return 2
    chosen_by = ""
    if guild_id is None and use_dev_guild and dev_guild_id:
        guild_id = dev_guild_id
        chosen_by = " (DEV_GUILD_ID; --global syncs to all guilds)"
    if dry_run:
        payload = asyncio.run(command_payload(guild_id, dev_guild_id))
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    token = env.get("DISCORD_TOKEN", "").strip()
    if not token:
        print("who-handles: sync needs DISCORD_TOKEN (or use --dry-run)", file=sys.stderr)
        return 2
    try:
        use_api_base(env.get("DISCORD_API_BASE", "").strip() or None)
    except ValueError as error:
        print(f"who-handles: {error}", file=sys.stderr)
        return 2
    try:
        synced = asyncio.run(_sync(token, guild_id, dev_guild_id))
    except discord.LoginFailure:
        print("who-handles: Discord refused the token in DISCORD_TOKEN.", file=sys.stderr)
        return 3
    except discord.HTTPException as error:
        print(f"who-handles: Discord refused the commands: {error.status} {error.text}".replace(token, "[token]"),
              file=sys.stderr)
        return 1
    except (aiohttp.ClientError, OSError, TimeoutError) as error:   # DNS, refused, reset, timed out
        detail = f"{type(error).__name__}: {error}".replace(token, "[token]")
        print(f"who-handles: could not reach Discord at {discord.http.Route.BASE} ({detail}); nothing was synced. "
              "Check the network (and DISCORD_API_BASE) and try again.", file=sys.stderr)
        return 1
    except Exception as error:  # the last line of defence, as for `run`: say what, never with the token
        print(f"who-handles: sync failed: {type(error).__name__}: {error}".replace(token, "[token]"), file=sys.stderr)
        return 1
    for target, sent in synced:
        where = (f"guild {target}{chosen_by if target == guild_id else ' (DEV_GUILD_ID)'}" if target
                 else "all guilds (global commands can take up to an hour to appear)")
        print(f"synced {len(sent)} commands to {where}: {', '.join(command.name for command in sent)}")
    return 0


def _prepare_tree(bot: WhoHandlesBot, guild_id: int | None) -> discord.Object | None:
    if guild_id is None:
        return None
    guild = discord.Object(id=guild_id)
    bot.tree.copy_global_to(guild=guild)
    return guild


async def _sync(token: str, guild_id: int | None,
                dev_guild_id: int | None) -> list[tuple[int | None, list[app_commands.AppCommand]]]:
    """(guild id or None for global, the commands synced there), for each list sent."""
    bot = build_bot(None, dev_guild_id=dev_guild_id)
    async with bot:
        await bot.login(token)    # runs setup_hook, which builds the tree
        synced = [(guild_id, await bot.tree.sync(guild=_prepare_tree(bot, guild_id)))]
        if guild_id is None and dev_guild_id is not None:   # the operator's own commands, in their guild only
            synced.append((dev_guild_id, await bot.tree.sync(guild=discord.Object(id=dev_guild_id))))
        return synced


async def command_payload(guild_id: int | None = None, dev_guild_id: int | None = None) -> list[dict[str, Any]]:
    """The JSON body CommandTree.sync would PUT, captured from the real tree at the HTTP layer."""
    bot = build_bot(None, application_id=DRY_RUN_APPLICATION_ID, dev_guild_id=dev_guild_id)
    captured: list[Any] = []

    async def capture(route: discord.http.Route, **kwargs: Any) -> list[Any]:
        captured.append(kwargs.get("json"))
        return []    # as if Discord had created nothing: the payload is all we want

    async with bot:
        bot.http.request = capture  # type: ignore[method-assign]  # nothing leaves the process
        await bot.setup_hook()
        await bot.tree.sync(guild=_prepare_tree(bot, guild_id))
    return captured[0]
