"""The routing table: YAML files → one immutable, validated Knowledge.

Every problem is collected (not just the first) and reported with file, line and field, because the people who
edit these files are maintainers, not programmers, and one round trip per typo wastes their evening.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.core.text import normalise

SUMMARY_LIMIT = 600
QUOTE_LIMIT = 400           # a quote is the short passage that supports a claim, not the page
STALE_MONTHS = 6            # `check --stale` lists volatile topics whose as-of date is older than this
FILE_SIZE_LIMIT = 5_000_000  # bytes: the whole table is about 1 MB; anything far larger is a mistake or an attack
ICE_ASPECTS = (
    "mission", "history", "hsi", "ero", "opla", "sevp",
    "activities", "ecosystem", "priorities", "oversight", "partnerships", "summary",
)
# Hosts we accept as official: government domains, Cornell LII for statutes, and official web archives of
# government pages (the End of Term archives), because many agency pages survive only there.
OFFICIAL_HOST_SUFFIXES = (".gov", ".mil")
OFFICIAL_HOSTS = frozenset({
    "law.cornell.edu", "www.law.cornell.edu",
    "webarchive.library.unt.edu", "cybercemetery.unt.edu", "eot.us.archive.org",
})
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MARKER_PATTERN = re.compile(r"\[(\d+)\]")
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class Citation:
    """One source behind a summary's marker, with the short quote from that source that supports what is said."""

    source: str
    quote: str | None


@dataclass(frozen=True, slots=True)
class Localized:
    title: str
    summary: str
    roles: tuple[tuple[str, str], ...] = ()   # (agency id, its role in this topic), where translated

    def role(self, agency: str, english: str) -> str:
        return next((role for agency_id, role in self.roles if agency_id == agency), english)


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    short: str
    parent: str | None
    url: str | None
    colour: int | None
    es_name: str | None = None
    summary: str | None = None                  # what it handles and what it does not: the agency-level answer
    citations: tuple[Citation, ...] = ()
    aliases: tuple[str, ...] = ()               # other names people use for it ("la migra", "customs")
    translations: dict[str, Localized] = field(default_factory=dict, hash=False, compare=False)

    def localized(self, lang: str | None) -> Localized:
        """The name and summary in `lang`, falling back to English."""
        return self.translations.get(lang or "en") or Localized(self.name, self.summary or "")

    @property
    def source_ids(self) -> tuple[str, ...]:
        return tuple(citation.source for citation in self.citations)


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    publisher: str
    url: str
    checked: dt.date


@dataclass(frozen=True, slots=True)
class Involvement:
    agency: str
    role: str


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    title: str
    handler: str
    also: tuple[Involvement, ...]
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    signals: tuple[str, ...]
    summary: str
    citations: tuple[Citation, ...]
    related: tuple[str, ...]
    checked: dt.date
    translations: dict[str, Localized] = field(default_factory=dict, hash=False, compare=False)
    as_of: dt.date | None = None   # set on volatile topics (fees, program status, court holdings): shown to readers

    @property
    def source_ids(self) -> tuple[str, ...]:
        return tuple(citation.source for citation in self.citations)

    def localized(self, lang: str | None) -> Localized:
        """The title and summary in `lang`, falling back to English where no translation exists."""
        return self.translations.get(lang or "en") or Localized(self.title, self.summary)


@dataclass(frozen=True)
class Knowledge:
    agencies: dict[str, Agency]
    sources: dict[str, Source]
    topics: dict[str, Topic]
    ice_aspects: dict[str, str]
    directory: Path
    # Questions that no office of the table handles (out-of-scope.yaml): what the matcher learns "no" from.
    out_of_scope: tuple[str, ...] = ()

    def chain(self, agency_id: str) -> list[Agency]:
        """The agency and its parents, innermost first: ice-hsi → [HSI, ICE, DHS]."""
        chain = []
        current: str | None = agency_id
        while current is not None:
            agency = self.agencies[current]
            chain.append(agency)
            current = agency.parent
        return chain

    def colour(self, agency_id: str) -> int | None:
        return next((agency.colour for agency in self.chain(agency_id) if agency.colour is not None), None)

    def topics_handled_by(self, agency_id: str) -> list[Topic]:
        return [topic for topic in self.topics.values() if topic.handler == agency_id]

    def untranslated(self, lang: str) -> list[str]:
        """Topic ids that have no text in `lang` and fall back to English."""
        return [topic.id for topic in self.topics.values() if lang not in topic.translations]

    @property
    def checked(self) -> dt.date:
        """The newest date on which any fact of the table was checked."""
        return max(topic.checked for topic in self.topics.values())

    @property
    def version(self) -> str:
        return f"{self.checked.isoformat()}/{len(self.topics)}t"

    def stale(self, today: dt.date, months: int = STALE_MONTHS) -> list[Topic]:
        """Volatile topics whose as-of date is older than `months` months before `today`, oldest first."""
        limit = _months_before(today, months)
        return sorted((topic for topic in self.topics.values() if topic.as_of is not None and topic.as_of < limit),
                      key=lambda topic: (topic.as_of, topic.id))


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))


class KnowledgeError(Exception):
    """The table failed validation; `problems` lists every one of them as 'file:line: field: message'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the knowledge table:\n" + "\n".join(problems))


def default_directory() -> Path:
    """KNOWLEDGE_DIR if set; else the table inside the installed package, or the checkout's knowledge/."""
    configured = os.environ.get("KNOWLEDGE_DIR")
    if configured:
        return Path(configured)
    packaged = Path(__file__).resolve().parent.parent / "knowledge"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "knowledge"


# --- YAML with line numbers ------------------------------------------------------------------------------------

class _Node(dict):
    """A mapping that remembers the line of each key, so errors can point at the field itself."""

    line: int
    key_lines: dict[str, int]


# libyaml's parser when PyYAML has it (its wheels do): five times faster on the whole table, with the same marks.
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    mapping = _Node()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | dt.date) and key is not None:
            raise yaml.MarkedYAMLError("while constructing a mapping", node.start_mark,
                                       "a key must be a plain word or text", key_node.start_mark)
        if key in mapping:
            raise yaml.MarkedYAMLError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)
    # Files that failed to parse: references into them are not reported again as "unknown", which would bury
    # the one real problem under its echoes.
    unreadable: set[str] = field(default_factory=set)

    def knows(self, part: str) -> bool:
        """False when a file whose path contains `part` could not be read."""
        return not any(part in name for name in self.unreadable)

    def add(self, file: Path, line: int, where: str, message: str) -> None:
        self.items.append(f"{file}:{line}: {where}: {message}")


class _Reader:
    """Reads one entry's fields with type checks, recording problems instead of raising."""

    def __init__(self, problems: _Problems, file: Path, entry: _Node, kind: str):
        self.problems, self.file, self.entry = problems, file, entry
        ident = entry.get("id")
        self.label = f"{kind} {ident!r}" if isinstance(ident, str) else kind

    def line(self, key: str | None = None) -> int:
        return self.entry.key_lines.get(key, self.entry.line) if key else self.entry.line

    def problem(self, key: str | None, message: str) -> None:
        where = f"{self.label}.{key}" if key else self.label
        self.problems.add(self.file, self.line(key), where, message)


    def text(self, key: str, required: bool = True) -> str | None:
        value = self.entry.get(key)
        if value is None:
            if required:
                self.problem(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(key, "must be non-empty text")
            return None
        return " ".join(value.split())

    def ident(self, key: str = "id", required: bool = True) -> str | None:
        value = self.text(key, required)
        if value is not None and not ID_PATTERN.match(value):
            self.problem(key, f"{value!r} must be lowercase letters, digits and single hyphens")
            return None
        return value

    def texts(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self.entry.get(key)
        if value is None:
            if required:
                self.problem(key, "is required")
            return ()
        # A bare number such as 2003 or 287 is read by YAML as a number; people mean the text.
        value = [str(item) if isinstance(item, int | float) and not isinstance(item, bool) else item
                 for item in value] if isinstance(value, list) else value
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            self.problem(key, "must be a list of non-empty texts")
            return ()
        return tuple(" ".join(item.split()) for item in value)

    def date(self, key: str) -> dt.date:
        value = self.entry.get(key)
        if isinstance(value, dt.date):
            return value
        self.problem(key, "must be a date like 2026-11-24")
        return dt.date.min

    def unknown_fields(self, allowed: set[str]) -> None:
        for key in self.entry:
            if key not in allowed:
                self.problem(key, f"unknown field (allowed: {', '.join(sorted(allowed))})")


class _Unreadable:
    """Stands for a file that could not be read or parsed (already reported)."""


def _read_text(path: Path) -> str:
    """The file's text, refusing what is not a regular file (a FIFO or a device would block or never end) and what
    is larger than FILE_SIZE_LIMIT. Opened without blocking, so a FIFO swapped in after the check cannot hang us."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"{path} is not a regular file")
        if status.st_size > FILE_SIZE_LIMIT:
            raise OSError(f"{status.st_size:,} bytes is more than the {FILE_SIZE_LIMIT:,} a table file may have")
        data = os.read(descriptor, FILE_SIZE_LIMIT + 1)
        chunks = [data]
        while data and sum(map(len, chunks)) <= FILE_SIZE_LIMIT:
            data = os.read(descriptor, FILE_SIZE_LIMIT + 1)
            chunks.append(data)
    finally:
        os.close(descriptor)
    content = b"".join(chunks)
    if len(content) > FILE_SIZE_LIMIT:
        raise OSError(f"the file grew past the {FILE_SIZE_LIMIT:,} bytes a table file may have while it was read")
    return content.decode("utf-8")


def _read_yaml(path: Path, problems: _Problems) -> Any:
    try:
        text = _read_text(path)
    except (OSError, UnicodeDecodeError) as error:
        problems.add(path, 1, "file", f"cannot be read: {error}")
        problems.unreadable.add(path.as_posix())
        return _Unreadable()
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problems.add(path, line, "yaml", str(getattr(error, "problem", None) or error).strip())
    except (RecursionError, MemoryError, ValueError, TypeError) as error:   # absurd nesting, numbers, sizes
        problems.add(path, 1, "yaml", f"cannot be parsed ({type(error).__name__}): the file is not a table")
    problems.unreadable.add(path.as_posix())
    return _Unreadable()


def _entries(path: Path, key: str, problems: _Problems) -> Iterator[_Node]:
    document = _read_yaml(path, problems)
    if isinstance(document, _Unreadable):
        return
    if not isinstance(document, _Node) or not isinstance(document.get(key), list):
        problems.add(path, getattr(document, "line", 1), key, f"the file must hold a top-level list '{key}:'")
        problems.unreadable.add(path.as_posix())
        return
    for entry in document[key]:
        if isinstance(entry, _Node):
            yield entry
        else:
            problems.add(path, document.key_lines[key], key, "every entry must be a mapping of fields")


def _official_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "must use https"
    host = (parts.hostname or "").lower()
    if host in OFFICIAL_HOSTS or host.endswith(OFFICIAL_HOST_SUFFIXES):
        return None
    return f"host {host!r} is not an official source (.gov, .mil, Cornell LII or an official web archive)"


def _check_url(reader: _Reader, key: str, required: bool) -> str | None:
    url = reader.text(key, required)
    if url is not None and (problem := _official_url_problem(url)):
        reader.problem(key, problem)
    return url


# --- loading ---------------------------------------------------------------------------------------------------

def load_knowledge(directory: Path | str | None = None) -> Knowledge:
    """Load and validate the whole table; raise KnowledgeError listing every problem."""
    root = Path(directory) if directory is not None else default_directory()
    problems = _Problems()
    if not root.is_dir():
        raise KnowledgeError([f"{root}:1: directory: the knowledge directory does not exist"])

    sources = _load_sources(root / "sources.yaml", problems)
    agencies, agency_lines = _load_agencies(root / "agencies.yaml", sources, problems)
    topic_files = sorted((root / "topics").glob("*.yaml"))
    if not topic_files:
        problems.add(root / "topics", 1, "topics", "no topic files (topics/*.yaml)")
    topics = _load_topics(topic_files, agencies, sources, problems)
    topics, agencies = _load_translations(root / "translations", topics, agencies, problems)
    ice_aspects = _load_aspects(root / "aspects.yaml", topics, problems)
    _check_agency_tree(agencies, agency_lines, problems)
    out_of_scope = _load_out_of_scope(root / "out-of-scope.yaml", problems)

    if problems.items:
        raise KnowledgeError(problems.items)
    return Knowledge(agencies, sources, topics, ice_aspects, root, out_of_scope)


OUT_OF_SCOPE_KINDS = ("trap", "other", "chat", "life")


def _load_out_of_scope(path: Path, problems: _Problems) -> tuple[str, ...]:
    """out-of-scope.yaml (optional): a list of {q, lang, kind} questions that belong to no office of the table."""
    if not path.exists():
        return ()
    document = _read_yaml(path, problems)
    if isinstance(document, _Unreadable):
        return ()
    if not isinstance(document, list):
        problems.add(path, 1, "out-of-scope", "the file must hold a list of {q, lang, kind}")
        return ()
    questions = []
    for number, item in enumerate(document, start=1):
        if not isinstance(item, _Node):
            problems.add(path, 1, f"entry {number}", "must be a mapping {q, lang, kind}")
            continue
        read = _Reader(problems, path, item, f"entry {number}")
        read.unknown_fields({"q", "lang", "kind"})
        question = read.text("q")
        if read.text("lang") not in (None, "en", "es"):
            read.problem("lang", "must be en or es")
        if read.text("kind") not in (None, *OUT_OF_SCOPE_KINDS):
            read.problem("kind", f"must be one of {', '.join(OUT_OF_SCOPE_KINDS)}")
        if question is not None:
            questions.append(question)
    return tuple(questions)


AGENCY_FIELDS = {"id", "name", "short", "parent", "url", "colour", "es_name", "summary", "citations", "aliases"}


def _load_agencies(path: Path, sources: dict[str, Source],
                   problems: _Problems) -> tuple[dict[str, Agency], dict[str, tuple[Path, int]]]:
    agencies: dict[str, Agency] = {}
    lines: dict[str, tuple[Path, int]] = {}
    for entry in _entries(path, "agencies", problems):
        read = _Reader(problems, path, entry, "agency")
        read.unknown_fields(AGENCY_FIELDS)
        ident, name = read.ident(), read.text("name")
        short = read.text("short", required=False) or name
        parent = read.ident("parent", required=False)
        url = _check_url(read, "url", required=False)
        colour_text = read.text("colour", required=False)
        colour = None
        if colour_text is not None:
            if COLOUR_PATTERN.match(colour_text):
                colour = int(colour_text[1:], 16)
            else:
                read.problem("colour", f"{colour_text!r} must look like \"#1f5fa8\"")
        summary = read.text("summary", required=False)
        citations = _read_citations(read, sources, required=summary is not None)
        if summary is None:
            read.problem("summary", "is required: the agency-level answer, a cited summary of what it handles and what "
                                    "it does not")
        else:
            _check_summary(read, "summary", summary, citations)
            _check_phones(read, "summary", summary, citations)
        aliases = read.texts("aliases", required=False)
        if ident is None or name is None:
            continue
        if ident in agencies:
            read.problem("id", f"duplicate agency id (first defined at line {lines[ident][1]})")
            continue
        agencies[ident] = Agency(ident, name, short or name, parent, url, colour, read.text("es_name", False),
                                 summary, citations, aliases)
        lines[ident] = (path, read.line("parent"))
    return agencies, lines


def _check_agency_tree(agencies: dict[str, Agency], lines: dict[str, tuple[Path, int]], problems: _Problems) -> None:
    for agency in agencies.values():
        path, line = lines[agency.id]
        if agency.parent is not None and agency.parent not in agencies:
            problems.add(path, line, f"agency {agency.id!r}.parent", f"unknown agency {agency.parent!r}")
            continue
        seen = {agency.id}
        current = agency.parent
        while current is not None and current in agencies:
            if current in seen:
                problems.add(path, line, f"agency {agency.id!r}.parent", "the parents form a cycle")
                break
            seen.add(current)
            current = agencies[current].parent


def _load_sources(path: Path, problems: _Problems) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    first_line: dict[str, int] = {}
    for entry in _entries(path, "sources", problems):
        read = _Reader(problems, path, entry, "source")
        read.unknown_fields({"id", "title", "publisher", "url", "checked"})
        ident, title, publisher = read.ident(), read.text("title"), read.text("publisher")
        url, checked = _check_url(read, "url", required=True), read.date("checked")
        if None in (ident, title, publisher, url):
            continue
        if ident in sources:
            read.problem("id", f"duplicate source id (first defined at line {first_line[ident]})")
            continue
        sources[ident] = Source(ident, title, publisher, url, checked)
        first_line[ident] = read.line()
    return sources


TOPIC_FIELDS = {"id", "title", "handler", "also", "aliases", "keywords", "signals", "summary", "citations", "related",
                "checked", "as_of"}


def _load_topics(
    files: list[Path], agencies: dict[str, Agency], sources: dict[str, Source], problems: _Problems
) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    where_defined: dict[str, str] = {}
    alias_owner: dict[str, tuple[str, str]] = {}
    pending_related: list[tuple[_Reader, str, tuple[str, ...]]] = []

    for path in files:
        for entry in _entries(path, "topics", problems):
            read = _Reader(problems, path, entry, "topic")
            read.unknown_fields(TOPIC_FIELDS)
            ident, title, handler = read.ident(), read.text("title"), read.ident("handler")
            summary = read.text("summary")
            aliases, keywords = read.texts("aliases"), read.texts("keywords", required=False)
            signals = read.texts("signals", required=False)
            citations, related = _read_citations(read, sources), read.texts("related", required=False)
            checked = read.date("checked")
            as_of = read.date("as_of") if "as_of" in entry else None
            also = _read_involvement(read, agencies)

            if handler is not None and handler not in agencies and problems.knows("/agencies.yaml"):
                read.problem("handler", f"unknown agency {handler!r}")
            if summary is not None:
                _check_summary(read, "summary", summary, citations)
                _check_phones(read, "summary", summary, citations)

            if ident is None or title is None or handler is None or summary is None:
                continue
            if ident in topics:
                read.problem("id", f"duplicate topic id (first defined at {where_defined[ident]})")
                continue
            for alias in (title, *aliases):
                key = normalise(alias)
                owner = alias_owner.get(key)
                if owner and owner[0] != ident:
                    read.problem("aliases", f"{alias!r} is already an alias of topic {owner[0]!r} ({owner[1]})")
                elif not key:
                    read.problem("aliases", f"{alias!r} has no letters or digits")
                else:
                    alias_owner[key] = (ident, f"{path}:{read.line('aliases')}")
            topics[ident] = Topic(ident, title, handler, also, aliases, keywords, signals, summary, citations, related,
                                  checked, as_of=as_of)
            where_defined[ident] = f"{path}:{read.line()}"
            pending_related.append((read, ident, related))

    for read, ident, related in pending_related:
        for other in related:
            if other not in topics and problems.knows("/topics/"):
                read.problem("related", f"unknown topic {other!r}")
            elif other == ident:
                read.problem("related", "a topic cannot be related to itself")
    return topics


def _read_citations(read: _Reader, sources: dict[str, Source], required: bool = True) -> tuple[Citation, ...]:
    """citations: a list of {source: id, quote: "the words of that source that support the summary"}."""
    value = read.entry.get("citations")
    if value is None:
        if required:
            read.problem("citations", "is required: every summary cites at least one source")
        return ()
    if not isinstance(value, list) or not value:
        read.problem("citations", "must be a list of {source, quote}")
        return ()
    citations = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, _Node) or not isinstance(item.get("source"), str):
            read.problem("citations", f"entry {number} must be a mapping with a source id and its quote")
            continue
        unknown = set(item) - {"source", "quote"}
        if unknown:
            read.problem("citations", f"entry {number} has unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                                      "(allowed: source, quote)")
        source_id = item["source"].strip()
        if source_id not in sources and read.problems.knows("/sources.yaml"):
            read.problem("citations", f"unknown source {source_id!r}")
        quote = item.get("quote")
        if quote is None:
            read.problem("citations", f"[{number}] {source_id} has no quote: add the words of the source that support "
                                  "the summary")
        elif not isinstance(quote, str) or not quote.strip():
            read.problem("citations", f"[{number}] {source_id}: the quote must be non-empty text")
            quote = None
        else:
            quote = " ".join(quote.split())
            if len(quote) > QUOTE_LIMIT:
                read.problem("citations", f"[{number}] {source_id}: the quote has {len(quote)} characters; quote the "
                                          f"supporting words only (at most {QUOTE_LIMIT})")
        citations.append(Citation(source_id, quote))
    return tuple(citations)


def _read_involvement(read: _Reader, agencies: dict[str, Agency]) -> tuple[Involvement, ...]:
    value = read.entry.get("also")
    if value is None:
        return ()
    if not isinstance(value, list):
        read.problem("also", "must be a list of {agency, role}")
        return ()
    involved = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("agency"), str) or not isinstance(
            item.get("role"), str
        ):
            read.problem("also", "every entry needs an agency id and a role sentence")
            continue
        if item["agency"] not in agencies:
            if read.problems.knows("/agencies.yaml"):
                read.problem("also", f"unknown agency {item['agency']!r}")
            continue
        involved.append(Involvement(item["agency"], " ".join(item["role"].split())))
    return tuple(involved)


def _load_translations(directory: Path, topics: dict[str, Topic], agencies: dict[str, Agency],
                       problems: _Problems) -> tuple[dict[str, Topic], dict[str, Agency]]:
    """translations/<lang>.yaml: `topics:` per topic id a title and summary, with the same citation markers as the
    English, and optionally `also:` {agency id: role}; `agencies:` per agency id its summary. A translation file
    covers the whole table: a topic or agency missing from it is a problem, so a file cut short while it was being
    saved is refused instead of silently answering in English."""
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else ():
        lang = path.stem
        document = _read_yaml(path, problems)
        if isinstance(document, _Unreadable):
            continue
        entries = document.get("topics") if isinstance(document, _Node) else None
        if not isinstance(entries, _Node):
            problems.add(path, 1, "topics", "the file must hold a mapping 'topics:' of topic id → title, summary")
            continue
        for topic_id, entry in entries.items():
            line = entries.key_lines.get(topic_id, entries.line)
            topic = topics.get(topic_id)
            if topic is None:
                if problems.knows("/topics/"):
                    problems.add(path, line, f"topics.{topic_id}", "unknown topic")
                continue
            if not isinstance(entry, _Node):
                problems.add(path, line, f"topics.{topic_id}", "needs a title and a summary")
                continue
            read = _Reader(problems, path, entry, f"{lang} topic")
            read.label = f"topics.{topic_id}"
            read.unknown_fields({"title", "summary", "also"})
            title, summary = read.text("title"), read.text("summary")
            if title is None or summary is None:
                continue
            roles = _translated_roles(read, entry.get("also"), topic)
            _check_translated_summary(read, summary, topic.summary, topic.citations)
            topics[topic_id] = replace(topic, translations={**topic.translations,
                                                            lang: Localized(title, summary, roles)})
        if problems.knows("/topics/"):
            missing = [topic_id for topic_id in topics if topic_id not in entries]
            if missing:
                problems.add(path, entries.line, "topics", f"{len(missing)} topic(s) have no {lang} text (a file cut "
                                                           f"short?): {', '.join(missing[:12])}")
        agencies = _load_agency_translations(path, lang, document.get("agencies"), agencies, problems)
    return topics, agencies


def _load_agency_translations(path: Path, lang: str, entries: object, agencies: dict[str, Agency],
                              problems: _Problems) -> dict[str, Agency]:
    summarised = [agency.id for agency in agencies.values() if agency.summary]
    if entries is None:
        if summarised:
            problems.add(path, 1, "agencies", f"{len(summarised)} agency summaries have no {lang} text")
        return agencies
    if not isinstance(entries, _Node):
        problems.add(path, 1, "agencies", "must map an agency id to its summary")
        return agencies
    for agency_id, entry in entries.items():
        line = entries.key_lines.get(agency_id, entries.line)
        agency = agencies.get(agency_id)
        if agency is None or not agency.summary:
            if problems.knows("/agencies.yaml"):
                problems.add(path, line, f"agencies.{agency_id}", "unknown agency, or one with no English summary")
            continue
        if not isinstance(entry, _Node):
            problems.add(path, line, f"agencies.{agency_id}", "needs a summary")
            continue
        read = _Reader(problems, path, entry, f"{lang} agency")
        read.label = f"agencies.{agency_id}"
        read.unknown_fields({"summary"})
        summary = read.text("summary")
        if summary is None:
            continue
        _check_translated_summary(read, summary, agency.summary, agency.citations)
        name = agency.es_name if lang == "es" and agency.es_name else agency.name
        agencies[agency_id] = replace(agency, translations={**agency.translations, lang: Localized(name, summary)})
    missing = [agency_id for agency_id in summarised if agency_id not in entries]
    if missing:
        problems.add(path, entries.line, "agencies", f"{len(missing)} agency summaries have no {lang} text (a file "
                                                     f"cut short?): {', '.join(missing[:12])}")
    return agencies


def _translated_roles(read: _Reader, also: object, topic: Topic) -> tuple[tuple[str, str], ...]:
    if also is None:
        return ()
    if not isinstance(also, _Node):
        read.problem("also", "must map an agency id to its role")
        return ()
    involved = {item.agency for item in topic.also}
    nested = _Reader(read.problems, read.file, also, "")
    nested.label = f"{read.label}.also"
    roles = []
    for agency, role in also.items():
        if agency not in involved:
            nested.problem(agency, f"is not among the agencies involved in topic {topic.id!r}")
        elif not isinstance(role, str) or not role.strip():
            nested.problem(agency, "needs the role as text")
        else:
            roles.append((agency, " ".join(role.split())))
    return tuple(roles)


def _check_summary(read: _Reader, key: str, summary: str, citations: tuple[Citation, ...]) -> None:
    if len(summary) > SUMMARY_LIMIT:
        read.problem(key, f"summary has {len(summary)} characters; the limit is {SUMMARY_LIMIT}")
    markers = [int(number) for number in MARKER_PATTERN.findall(summary)]
    if not markers:
        read.problem(key, "summary cites nothing: add markers like [1] for its citations")
    for number in markers:
        if not 1 <= number <= len(citations):
            read.problem(key, f"marker [{number}] has no matching entry in citations")
    unused = [number for number in range(1, len(citations) + 1) if number not in markers]
    if unused and citations:
        read.problem(key, f"citation(s) {', '.join(f'[{n}]' for n in unused)} are never cited in the summary")


def _check_translated_summary(read: _Reader, summary: str, english: str, citations: tuple[Citation, ...]) -> None:
    _check_summary(read, "summary", summary, citations)
    _check_phones(read, "summary", summary, citations)
    theirs, ours = set(MARKER_PATTERN.findall(english)), set(MARKER_PATTERN.findall(summary))
    if ours != theirs:
        read.problem("summary", f"cites {sorted(ours)} but the English summary cites {sorted(theirs)}")


# A US phone number as people write it: (866) 347-2423, 866-347-2423, 1-800-323-8603, 833-4ICE-OPR, 1-866-DHS-2-ICE.
_PHONE_CANDIDATE = re.compile(r"(?<![\w-])(?:1[-. ])?(?:\(\d{3}\) ?|\d{3}[-. ])([A-Z0-9]+(?:[-.][A-Z0-9]+)*)(?![\w])")


def phone_key(text: str) -> str:
    """A phone number reduced to its letters and digits, without the country code: '1-866-DHS-2-ICE' → '866DHS2ICE'."""
    key = re.sub(r"[^0-9A-Z]", "", text.upper())
    return key[1:] if len(key) == 11 and key.startswith("1") else key


def phone_numbers(text: str) -> list[str]:
    """The US phone numbers written in `text`: an area code and seven digits or letters after it."""
    return [match.group(0) for match in _PHONE_CANDIDATE.finditer(text)
            if len(re.sub(r"[^0-9A-Z]", "", match.group(1))) == 7]


def _check_phones(read: _Reader, key: str, summary: str, citations: tuple[Citation, ...]) -> None:
    """A phone number reaches people who will call it: it must stand in a quote of the sources the summary cites."""
    numbers = phone_numbers(summary)
    if not numbers:
        return
    quoted = {phone_key(number) for citation in citations if citation.quote for number in
              phone_numbers(citation.quote)}
    for number in numbers:
        if phone_key(number) not in quoted:
            read.problem(key, f"the phone number {number} appears in no quote of its citations: quote the official "
                          "page that gives it, or remove it")


def _load_aspects(path: Path, topics: dict[str, Topic], problems: _Problems) -> dict[str, str]:
    document = _read_yaml(path, problems)
    if isinstance(document, _Unreadable):
        return {}
    aspects = document.get("ice_aspects") if isinstance(document, _Node) else None
    if not isinstance(aspects, _Node):
        problems.add(path, 1, "ice_aspects", "the file must hold a mapping 'ice_aspects:'")
        return {}
    for aspect, topic_id in aspects.items():
        line = aspects.key_lines.get(aspect, aspects.line)
        if aspect not in ICE_ASPECTS:
            problems.add(path, line, f"ice_aspects.{aspect}", f"unknown aspect (known: {', '.join(ICE_ASPECTS)})")
        elif not isinstance(topic_id, str):
            problems.add(path, line, f"ice_aspects.{aspect}", "must name one topic id")
        elif topic_id not in topics and problems.knows("/topics/"):
            problems.add(path, line, f"ice_aspects.{aspect}", f"unknown topic {topic_id!r}")
    for aspect in ICE_ASPECTS:
        if aspect not in aspects:
            problems.add(path, aspects.line, f"ice_aspects.{aspect}", "is missing")
    return {aspect: aspects[aspect] for aspect in ICE_ASPECTS
            if isinstance(aspects.get(aspect), str) and aspects[aspect] in topics}
