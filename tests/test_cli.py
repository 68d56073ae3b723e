"""The terminal front end, run as people and scripts run it: a real process, stdin in, stdout out."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "mini"


def who_handles(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "KNOWLEDGE_DIR")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True, timeout=60,
        env=environment, cwd=ROOT,
    )


def test_who_prints_handler_chain_sources_and_disclaimer():
    result = who_handles("who", "trafficking")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Homeland Security Investigations (DHS › ICE › HSI)" in out
    assert "[1] " in out and "https://" in out
    assert "General information, not legal advice." in out
    assert "Checked 20" in out


def test_who_miss_prints_suggestions_and_exits_3():
    result = who_handles("who", "ice skating rink hours")
    assert result.returncode == 3
    assert "does not cover" in result.stdout


def test_ice_aspect_and_unknown_aspect():
    assert "Enforcement and Removal Operations" in who_handles("ice", "ero").stdout
    unknown = who_handles("ice", "nonsense")
    assert unknown.returncode == 2 and "mission" in unknown.stderr


def test_run_console_answers_each_line_and_exits_0_at_eof():
    lines = "/who trafficking\n/ice mission\n\n/who\n/bogus\n/who " + "x" * 20000 + "\n/who @everyone\n"
    result = who_handles("run", stdin=lines)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("General information, not legal advice.") >= 2
    assert "Tell me a topic" in result.stdout
    assert "Unknown command" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_run_without_a_token_says_so_on_stderr_even_with_no_input():
    result = who_handles("run", stdin="")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "no DISCORD_TOKEN set" in result.stderr


def test_route_writes_one_json_line_per_query_in_order():
    queries = ["trafficking", "", "ice skating rink hours", "asylum", "ＴＲＡＦＦＩＣＫＩＮＧ"]
    result = who_handles("route", stdin="\n".join(queries) + "\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["query"] for r in records] == queries
    assert set(records[0]) >= {"query", "status", "topic", "handler", "handler_chain", "score", "candidates"}
    assert records[0]["status"] == "match" and records[0]["handler"] == "ice-hsi"
    assert records[0]["handler_chain"] == ["ice-hsi", "ice", "dhs"]
    assert records[1]["status"] == "none" and records[1]["topic"] is None
    assert records[2]["status"] == "none"
    assert records[4]["handler"] == "ice-hsi"
    for record in records:
        assert record["status"] in ("match", "ambiguous", "none")
        if record["status"] == "ambiguous":
            assert record["topic"] == record["candidates"][0]["topic"]


def test_check_ok_and_broken(tmp_path: Path):
    ok = who_handles("check")
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("agencies.yaml", "sources.yaml", "aspects.yaml"):
        (broken / name).write_text((FIXTURE / name).read_text())
    (broken / "topics").mkdir()
    (broken / "topics" / "x.yaml").write_text("topics:\n  - id: a\n    title: [unclosed\n")
    result = who_handles("check", KNOWLEDGE_DIR=str(broken))
    assert result.returncode == 1
    assert f"{broken / 'topics' / 'x.yaml'}:4: yaml:" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_has_the_documented_shape():
    table = json.loads(who_handles("export").stdout)
    assert set(table) == {"agencies", "sources", "topics", "ice_aspects"}
    assert set(table["agencies"][0]) == {"id", "name", "parent", "url", "summary", "citations"}
    assert set(table["sources"][0]) == {"id", "title", "publisher", "url", "checked"}
    assert set(table["topics"][0]) == {"id", "title", "aliases", "handler", "also", "summary", "citations", "related",
                                       "checked", "as_of"}
    assert set(table["topics"][0]["citations"][0]) == {"source", "quote"}
    assert len(table["ice_aspects"]) == 12


def test_export_carries_each_quote_and_check_lists_stale_topics():
    table = json.loads(who_handles("export", KNOWLEDGE_DIR=str(FIXTURE)).stdout)
    trafficking = next(topic for topic in table["topics"] if topic["id"] == "human-trafficking")
    assert trafficking["citations"] == [{"source": "ice-human-trafficking", "quote": "ICE is one of the primary "
                                         "federal law enforcement agencies ... call 866-347-2423"}]
    assert trafficking["as_of"] == "2026-05-01"
    fresh = who_handles("check", "--stale", "--today", "2026-10-31", KNOWLEDGE_DIR=str(FIXTURE))
    assert fresh.returncode == 0 and "0 volatile topic(s)" in fresh.stdout
    stale = who_handles("check", "--stale", "--today", "2026-12-04", KNOWLEDGE_DIR=str(FIXTURE))
    assert stale.returncode == 1
    assert "human-trafficking: as of 2026-05-01 (Human trafficking)" in stale.stdout


@pytest.mark.parametrize("lang_args", [("--lang", "es", "who", "trata de personas"), ("who", "trata", "--lang", "es")])
def test_spanish_answers(lang_args: tuple[str, ...]):
    result = who_handles(*lang_args, KNOWLEDGE_DIR=str(FIXTURE))
    assert "Información general, no asesoría legal." in result.stdout or "¿Quiso decir" in result.stdout


def test_route_names_the_level_of_each_answer():
    lines = who_handles("route", stdin="trafficking\nwhat time is the ice rink open\n").stdout.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "topic" and first["topic"] == "human-trafficking" and first["status"] == "match"
    assert second["status"] == "none" and second["topic"] is None


@pytest.mark.parametrize("encoding", ["utf-8:strict", None])   # strict stdio, and the locale's default
def test_route_reads_any_bytes_and_writes_only_valid_utf8(encoding: str | None):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DISCORD_TOKEN", "KNOWLEDGE_DIR", "PYTHONIOENCODING")}
    environment["LC_ALL"] = "C.UTF-8"
    if encoding:
        environment["PYTHONIOENCODING"] = encoding
    lines = [b"traf\xffficking", b"\xed\xa0\x80 asylum", b"\xc3", b"trafficking"]   # bad byte, CESU, cut short
    result = subprocess.run([sys.executable, "-m", "bot", "route"], input=b"\n".join(lines) + b"\n",
                            capture_output=True, timeout=60, env=environment, cwd=ROOT)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]   # strict: valid UTF-8
    assert [record["query"] for record in records] == ["traf\ufffdficking", "\ufffd\ufffd\ufffd asylum", "\ufffd",
                                                       "trafficking"]
    assert records[3]["topic"] == "human-trafficking"


# --- who-handles stats: the operator's view, from the database ------------------------------------------------------

async def operator_stats(backend, *args: str) -> subprocess.CompletedProcess[str]:
    """Run as a child without blocking the loop (the test's PostgreSQL is reached through a proxy in this loop)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_URL", "DATA_DIR")}
    environment.update(backend.environment())
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "stats", *args, env=environment,
                                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())


async def test_stats_prints_answers_by_topic_and_week_the_helpful_ratio_and_unanswered_questions(store_backend):
    store = store_backend.make()
    await store.open()
    await store.update_guild_settings(1, keep_unanswered_text=True)
    for guild in (1, 2, 2):
        await store.record_answer(guild, "detention", "match")
    await store.record_answer(2, "asylum", "match")
    await store.record_answer(1, None, "none", "who fixes potholes")
    await store.record_answer(2, None, "none", "a question server 2 never agreed to keep")
    for kind in ("helpful", "helpful", "helpful", "unhelpful", "report"):
        await store.record_feedback(1, "detention", kind)
    await store.close()
    result = await operator_stats(store_backend)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Answers by week and topic (all servers, last 8 week(s)): 6 in all" in out
    assert re.search(r"^  \d{4}-W\d\d$", out, re.MULTILINE)
    assert re.search(r"^ +3  detention$", out, re.MULTILINE) and re.search(r"^ +1  asylum$", out, re.MULTILINE)
    assert re.search(r"^ +2  \(not covered\)$", out, re.MULTILINE)
    assert "Helpful: 3 of 4 votes (75%); reports: 1" in out
    assert re.search(r"^ +1  who fixes potholes$", out, re.MULTILINE)
    assert "never agreed" not in out
    one = await operator_stats(store_backend, "--guild", "2")
    assert "(server 2, last 8 week(s)): 4 in all" in one.stdout and "potholes" not in one.stdout


def test_stats_says_so_when_the_database_cannot_be_read(tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    environment["DATA_DIR"] = str(blocked)       # a file where the data folder should be
    result = subprocess.run([sys.executable, "-m", "bot", "stats"], capture_output=True, text=True, timeout=60,
                            env=environment, cwd=ROOT)
    assert result.returncode == 1
    assert "database unavailable" in result.stderr and "could not be read" in result.stderr
