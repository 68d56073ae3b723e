"""Terminal front end: the same answers the Discord bot gives, as text or JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from bot.core.answers import LANGUAGES, render_text
from bot.core.knowledge import STALE_MONTHS, Citation, KnowledgeError
from bot.core.router import Router

CONSOLE_HELP = """Type a slash command, one a line; end with Ctrl-D.
  /who <topic or question>   who handles it, e.g. /who trafficking
  /ice <aspect>              one of: {aspects}
  /help                      this text"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "run" and os.environ.get("DISCORD_TOKEN"):
        return _run_discord()
    if args.command == "sync":
        return _sync(args)
    if args.command == "stats":
        return _stats(args)
    try:
        router = Router.load()
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    return COMMANDS[args.command](router, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="who-handles",
        description="Who handles this? US immigration, customs and cross-border crime, with official sources.",
    )
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the answers (default: en)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    who = commands.add_parser("who", help="answer one topic or question")
    who.add_argument("query", nargs="+", help="a topic or a question, e.g. trafficking")
    ice = commands.add_parser("ice", help="one aspect of ICE's work")
    ice.add_argument("aspect", help="mission, history, hsi, ero, opla, sevp, activities, ecosystem, priorities, "
                                    "oversight, partnerships or summary")
    commands.add_parser("run", help="run the Discord bot with DISCORD_TOKEN; without it, a console on stdin")
    commands.add_parser("route", help="read queries on stdin, write one JSON resolution a line")
    check = commands.add_parser("check", help="validate the knowledge table")
    check.add_argument("--stale", action="store_true",
                       help=f"list volatile topics whose as-of date is over {STALE_MONTHS} months old (exit 1 if any)")
    check.add_argument("--today", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                       help="the day to measure staleness from (default: today)")
    commands.add_parser("export", help="print the whole table as JSON")
    sync = commands.add_parser("sync", help="sync the slash commands with Discord",
                               description="Register the slash commands with Discord: to one guild (instant) with "
                                           "--guild or, without it, to DEV_GUILD_ID when that is set; otherwise "
                                           "globally (can take up to an hour to show).")
    where = sync.add_mutually_exclusive_group()
    where.add_argument("--guild", type=int, metavar="ID",
                       help="sync to this guild (instant) instead of globally; default: DEV_GUILD_ID when set")
    where.add_argument("--global", dest="everywhere", action="store_true",
                       help="sync globally even when DEV_GUILD_ID is set")
    sync.add_argument("--dry-run", action="store_true", help="print the commands as JSON; needs no token")
    stats = commands.add_parser("stats", help="answers by topic and week, feedback and unanswered questions, from "
                                              "the database (DATA_DIR or DATABASE_URL)")
    stats.add_argument("--weeks", type=int, default=8, help="how many weeks back (default: 8)")
    stats.add_argument("--guild", type=int, metavar="ID", help="one server only (default: every server)")
    for sub in (who, ice, commands.choices["run"]):
        sub.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help="language of the answers")
    return parser


def _who(router: Router, args: argparse.Namespace) -> int:
    answer = router.ask(" ".join(args.query), args.lang)
    print(render_text(answer))
    return 0 if answer.status == "match" else 3


def _ice(router: Router, args: argparse.Namespace) -> int:
    answer = router.ice(args.aspect, args.lang)
    if answer.status != "match":
        print(f"Unknown aspect {args.aspect!r}. Known: {', '.join(router.knowledge.ice_aspects)}", file=sys.stderr)
        return 2
    print(render_text(answer))
    return 0


def _console(router: Router, args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    if not interactive:
        # In a container started without a token (or without -i), the console would otherwise end at once and
        # in silence: say on stderr what it is doing, so the operator sees that DISCORD_TOKEN is missing.
        print("who-handles: no DISCORD_TOKEN set; answering /who and /ice lines from standard input "
              "(set DISCORD_TOKEN to run the Discord bot).", file=sys.stderr)
    run_console(router, sys.stdin, sys.stdout, args.lang, interactive=interactive)
    return 0


def run_console(router: Router, lines: Iterable[str], out: TextIO, lang: str = "en", interactive: bool = False) -> None:
    """Answer slash commands typed one a line, as the bot would answer them in Discord."""
    help_text = CONSOLE_HELP.format(aspects=", ".join(router.knowledge.ice_aspects))
    if interactive:
        print("who-handles: no DISCORD_TOKEN set, answering here from the bundled table.", file=out)
        print(help_text, file=out)
        print("> ", end="", file=out, flush=True)
    for line in lines:
        reply = console_reply(router, line, lang, help_text)
        if reply is not None:
            print(reply, file=out)
            print("", file=out)
        if interactive:
            print("> ", end="", file=out, flush=True)


def console_reply(router: Router, line: str, lang: str, help_text: str) -> str | None:
    text = line.strip()
    if not text:
        return None
    command, _, rest = text.partition(" ")
    command, rest = command.lower(), rest.strip()
    if command in ("/who", "who"):
        if not rest:
            return "Tell me a topic, e.g. /who trafficking"
        return render_text(router.ask(rest, lang))
    if command in ("/ice", "ice"):
        answer = router.ice(rest, lang)
        if answer.status != "match":
            return f"Pick an aspect: {', '.join(router.knowledge.ice_aspects)}"
        return render_text(answer)
    if command in ("/help", "help", "?"):
        return help_text
    return f"Unknown command {command[:40]!r}. Type /help for the list."


def _route(router: Router, args: argparse.Namespace) -> int:
    # Bytes in, decoded here: invalid UTF-8 becomes U+FFFD instead of ending the run (strict stdio) or of being
    # echoed back into the JSON as invalid bytes (the locale's surrogateescape); out goes UTF-8 and nothing else.
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    sys.stdout.reconfigure(encoding="utf-8", errors="strict")  # type: ignore[union-attr]
    for line in lines:
        query = line.rstrip("\n")
        print(json.dumps(route_record(router, query), ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


def route_record(router: Router, query: str) -> dict:
    resolution = router.resolve(query)
    # A miss names no topic: its candidates are only suggestions.
    best = resolution.best if resolution.status != "none" else None
    handler = best.handler if best else None
    return {
        "query": query,
        "status": resolution.status,
        "level": resolution.level,
        "topic": best.topic if best and resolution.level == "topic" else None,
        "handler": handler,
        "handler_chain": [agency.id for agency in router.knowledge.chain(handler)] if handler else [],
        "score": best.score if best else 0.0,
        "candidates": [{"topic": c.topic, "handler": c.handler, "score": c.score} for c in resolution.candidates],
    }


def _check(router: Router, args: argparse.Namespace) -> int:
    knowledge = router.knowledge
    aliases = sum(len(topic.aliases) for topic in knowledge.topics.values())
    print(f"ok: {len(knowledge.agencies)} agencies, {len(knowledge.sources)} sources, "
          f"{len(knowledge.topics)} topics, {aliases} aliases, {len(knowledge.ice_aspects)} /ice aspects "
          f"in {knowledge.directory}")
    for lang in LANGUAGES[1:]:
        missing = knowledge.untranslated(lang)
        if missing:
            print(f"{len(missing)} topic(s) have no {lang} text and are answered in English: {', '.join(missing)}")
    if args.stale:
        today = args.today or dt.date.today()
        stale = knowledge.stale(today)
        print(f"{len(stale)} volatile topic(s) with an as-of date older than {STALE_MONTHS} months before "
              f"{today.isoformat()}" + (":" if stale else "."))
        for topic in stale:
            print(f"  {topic.id}: as of {topic.as_of.isoformat() if topic.as_of else '?'} ({topic.title})")
        return 1 if stale else 0
    return 0


def _export(router: Router, args: argparse.Namespace) -> int:
    print(json.dumps(export_table(router), ensure_ascii=False, indent=2))
    return 0


def export_table(router: Router) -> dict:
    knowledge = router.knowledge

    def citations(items: tuple[Citation, ...]) -> list[dict]:
        return [{"source": c.source, "quote": c.quote} for c in items]

    return {
        "agencies": [{"id": a.id, "name": a.name, "parent": a.parent, "url": a.url, "summary": a.summary,
                      "citations": citations(a.citations)}
                     for a in knowledge.agencies.values()],
        "sources": [{"id": s.id, "title": s.title, "publisher": s.publisher, "url": s.url,
                     "checked": s.checked.isoformat()} for s in knowledge.sources.values()],
        "topics": [{"id": t.id, "title": t.title, "aliases": list(t.aliases), "handler": t.handler,
                    "also": [{"agency": i.agency, "role": i.role} for i in t.also], "summary": t.summary,
                    "citations": citations(t.citations), "related": list(t.related),
                    "checked": t.checked.isoformat(), "as_of": t.as_of.isoformat() if t.as_of else None}
                   for t in knowledge.topics.values()],
        "ice_aspects": dict(knowledge.ice_aspects),
    }


def _run_discord() -> int:
    try:
        from bot.discord.client import run_bot
    except ImportError:
        print("The Discord front end is not part of this build yet; unset DISCORD_TOKEN to use the console.",
              file=sys.stderr)
        return 1
    return run_bot()


def _sync(args: argparse.Namespace) -> int:
    try:
        from bot.discord.client import sync_commands
    except ImportError:
        print("The Discord front end is not part of this build yet.", file=sys.stderr)
        return 1
    return sync_commands(guild_id=args.guild, dry_run=args.dry_run, use_dev_guild=not args.everywhere)


def _stats(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from bot.settings import Settings, SettingsError
    from bot.store import open_store

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"who-handles: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="who-handles: %(message)s")
    url = settings.database_url.reveal() if settings.database_url else None

    async def read():
        store = await open_store(settings.data_dir, url)
        try:
            return await store.stats(args.guild, max(args.weeks, 1), limit=50)
        finally:
            await store.close()

    stats = asyncio.run(read())
    if stats is None:
        print("who-handles: the database could not be read (see above); nothing to show", file=sys.stderr)
        return 1
    scope = f"server {args.guild}" if args.guild else "all servers"
    print(stats_text(stats, f"{scope}, last {max(args.weeks, 1)} week(s)"))
    return 0


def stats_text(stats, scope: str) -> str:
    """The operator's report: answers by week and topic, the helpful ratio, the kept unanswered questions."""
    lines = [f"Answers by week and topic ({scope}): {stats.total_answers} in all"]
    week = None
    for row in stats.answers:
        if row.week != week:
            week = row.week
            lines.append(f"  {week}")
        label = row.topic_id if row.status == "match" else {"none": "(not covered)"}.get(
            row.status, f"({row.status}) {row.topic_id}".rstrip())
        lines.append(f"    {row.answers:6d}  {label}")
    votes = stats.helpful + stats.unhelpful
    ratio = f"{stats.helpful_ratio:.0%}" if stats.helpful_ratio is not None else "no votes yet"
    lines.append(f"Helpful: {stats.helpful} of {votes} votes ({ratio}); reports: {stats.reports}")
    for topic, (good, bad, reports) in sorted(stats.feedback_by_topic.items()):
        lines.append(f"    {topic}: {good} helpful, {bad} not helpful, {reports} reported")
    lines.append("Unanswered questions (kept only by servers that turned it on):")
    lines += [f"    {count:6d}  {question}" for question, count in stats.unanswered] or ["    none"]
    return "\n".join(lines)


COMMANDS = {
    "who": _who,
    "ice": _ice,
    "run": _console,
    "route": _route,
    "check": _check,
    "export": _export,
}

