"""Logs, metrics and the health endpoint: what an operator sees, and nothing about the people asking.

At info level no line carries a user id, message content or query text. Unmatched queries are logged only with
LOG_MISSES=1, and then without any identity, so maintainers can learn what the table lacks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.settings import Settings

log = logging.getLogger("who_handles")
miss_log = logging.getLogger("who_handles.misses")

# A heartbeat ACK older than this means the gateway connection is dead or stuck.
HEARTBEAT_STALE_SECONDS = 90.0
# The health port serves a probe and a scraper, not crowds: idle connections are closed soon, and past a few dozen
# open at once new ones are closed at once, so they can never use up the file descriptors that answers need.
HEALTH_IDLE_SECONDS = 5.0
HEALTH_MAX_CONNECTIONS = 32


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RedactingFilter(logging.Filter):
    """Replaces the token wherever it would appear, even inside a library's exception text."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret and self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[token]"), ()
        if record.exc_info and self.secret:
            text = logging.Formatter().formatException(record.exc_info)
            if self.secret in text:
                record.msg = f"{record.getMessage()}\n{text.replace(self.secret, '[token]')}"
                record.args, record.exc_info, record.exc_text = (), None, None
        return True


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    if settings.token:
        handler.addFilter(RedactingFilter(settings.token.reveal()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # discord.py logs gateway chatter at INFO; keep ours readable.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(settings.log_level)))
    miss_log.disabled = not settings.log_misses


def log_miss(query: str) -> None:
    miss_log.info("unmatched query: %s", query[:200])


class Metrics:
    """Prometheus metrics of one bot process, in a registry of its own (tests make many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.answers = Counter("who_handles_answers_total", "Answers sent, by command and resolution status",
                               ["command", "status"], registry=self.registry)
        self.autocomplete = Counter("who_handles_autocomplete_total", "Autocomplete requests answered",
                                    ["command"], registry=self.registry)
        self.latency = Histogram("who_handles_answer_seconds", "Time from interaction received to reply sent",
                                 ["command"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.knowledge = Gauge("who_handles_knowledge_info", "The loaded routing table", ["version"],
                               registry=self.registry)
        self.reloads = Counter("who_handles_reloads_total", "Knowledge reloads, by result", ["result"],
                               registry=self.registry)
        self._version: str | None = None
        # The labelled children, looked up once per label set: prometheus_client's labels() takes a lock and
        # validates its arguments on every call, which showed up in the profile of every answer.
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def answered(self, command: str, status: str) -> None:
        """One answer of `command` with resolution `status`."""
        self._child(self.answers, command, status).inc()

    def replied(self, command: str, seconds: float) -> None:
        """The reply to an answer of `command` went out `seconds` after its interaction arrived."""
        self._child(self.latency, command).observe(seconds)

    def autocompleted(self, command: str) -> None:
        self._child(self.autocomplete, command).inc()

    def knowledge_loaded(self, version: str) -> None:
        if self._version is not None:
            self.knowledge.remove(self._version)
        self.knowledge.labels(version=version).set(1)
        self._version = version

    def render(self) -> bytes:
        return generate_latest(self.registry)


class HealthServer:
    """/healthz: 200 while the gateway is connected with a recent heartbeat ACK; /metrics: Prometheus text."""

    def __init__(
        self, metrics: Metrics, last_ack: Callable[[], float | None], clock: Callable[[], float] = time.monotonic
    ):
        self.metrics, self.last_ack, self.clock = metrics, last_ack, clock
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def healthy(self) -> bool:
        ack = self.last_ack()
        return ack is not None and self.clock() - ack < HEARTBEAT_STALE_SECONDS

    async def _healthz(self, request: web.Request) -> web.Response:
        if self.healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="gateway not connected\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def start(self, port: int, host: str = "127.0.0.1") -> None:
        """Listens on `host` (HEALTH_HOST: loopback by default; the image sets 0.0.0.0, since in a container the
        published port arrives from outside)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=HEALTH_IDLE_SECONDS,
                                     timeout_ceil_threshold=1)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        accept = server.connection_made

        def accept_within_cap(handler: Any, transport: Any) -> None:
            accept(handler, transport)
            if len(server.connections) > HEALTH_MAX_CONNECTIONS:
                asyncio.get_running_loop().call_soon(handler.force_close)   # once the handler has started

        server.connection_made = accept_within_cap  # type: ignore[method-assign]
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 asked for any

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
