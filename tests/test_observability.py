"""Health, metrics and logs: a real aiohttp server on 127.0.0.1, real Prometheus text, a token that never shows."""

from __future__ import annotations

import asyncio
import io
import logging

import aiohttp

from bot.observability import (
    HEALTH_MAX_CONNECTIONS,
    HEARTBEAT_STALE_SECONDS,
    HealthServer,
    Metrics,
    RedactingFilter,
)
from bot.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_healthz_follows_the_heartbeat_and_metrics_are_prometheus():
    clock, state = Clock(), {"ack": None}
    metrics = Metrics()
    server = HealthServer(metrics, lambda: state["ack"], clock)
    await server.start(0, host="127.0.0.1")
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 503
            state["ack"] = clock.now
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
            clock.now += HEARTBEAT_STALE_SECONDS + 1
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 503

            metrics.answers.labels(command="who", status="match").inc()
            metrics.autocomplete.labels(command="who").inc(3)
            metrics.latency.labels(command="who").observe(0.004)
            metrics.knowledge_loaded("2026-11-24/50t")
            metrics.knowledge_loaded("2026-11-25/51t")
            metrics.reloads.labels(result="ok").inc()
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                text = await response.text()
    finally:
        await server.stop()
    assert 'who_handles_answers_total{command="who",status="match"} 1.0' in text
    assert 'who_handles_autocomplete_total{command="who"} 3.0' in text
    assert 'who_handles_answer_seconds_bucket{command="who",le="0.005"} 1.0' in text
    assert 'who_handles_knowledge_info{version="2026-11-25/51t"} 1.0' in text
    assert "2026-11-24/50t" not in text
    assert 'who_handles_reloads_total{result="ok"} 1.0' in text


def test_token_is_redacted_from_messages_and_tracebacks():
    token = "MTIzNDU2.secret.token"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(token))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        logger.error("login with %s failed", token)
        try:
            raise RuntimeError(f"bad header Bot {token}")
        except RuntimeError:
            logger.exception("crash")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert token not in output
    assert output.count("[token]") >= 2


def test_answered_and_autocompleted_count_like_labels():
    metrics = Metrics()
    for _ in range(3):
        metrics.answered("who", "match")
        metrics.replied("who", 0.004)
    metrics.answered("who", "none")
    metrics.answered("ice", "match")
    metrics.replied("ice", 0.2)
    metrics.autocompleted("who")
    metrics.autocompleted("who")
    text = metrics.render().decode()
    assert 'who_handles_answers_total{command="who",status="match"} 3.0' in text
    assert 'who_handles_answers_total{command="who",status="none"} 1.0' in text
    assert 'who_handles_answers_total{command="ice",status="match"} 1.0' in text
    assert 'who_handles_answer_seconds_count{command="who"} 3.0' in text
    assert 'who_handles_answer_seconds_bucket{command="ice",le="0.25"} 1.0' in text
    assert 'who_handles_autocomplete_total{command="who"} 2.0' in text


async def test_the_health_server_listens_on_loopback_and_caps_its_connections():
    server = HealthServer(Metrics(), lambda: None)
    await server.start(0)                                   # no host given: loopback, never every interface
    assert server._runner is not None
    assert [site.name.split("//")[1].split(":")[0] for site in server._runner.sites] == ["127.0.0.1"]
    idle = []
    try:
        for _ in range(HEALTH_MAX_CONNECTIONS + 5):         # idle connections that never send a request
            idle.append(await asyncio.open_connection("127.0.0.1", server.port))
        over = [reader for reader, _ in idle[HEALTH_MAX_CONNECTIONS:]]
        assert [await reader.read() for reader in over] == [b""] * len(over)   # the server closed those over the cap
        assert len(server._runner.server.connections) == HEALTH_MAX_CONNECTIONS
        for _reader, writer in idle:
            writer.close()
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{server.port}/healthz") as r:
            assert r.status == 503                          # and once they are gone, a probe gets through
    finally:
        await server.stop()


def test_health_host_is_loopback_unless_set():
    assert Settings.from_env({}).health_host == "127.0.0.1"
    assert Settings.from_env({"HEALTH_HOST": "0.0.0.0"}).health_host == "0.0.0.0"
