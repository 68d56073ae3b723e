"""Answer → discord.Embed. The only place that knows Discord's embed limits and colours.

Every builder here fills an embed through `_Fitter`, which never lets a title, field or the whole embed pass
Discord's limits: a long list is split over several fields and, when the embed is full, cut with "…" rather than
rejected by Discord with a 400 in front of the person who asked.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Sequence
from copy import deepcopy
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import discord

from bot.core.answers import DISCLAIMER, LABELS, Answer, SourceRef, TopicRef, agency_label, short_name
from bot.core.knowledge import Knowledge
from bot.discord.text import say, shorten

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_LIMIT = 25
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
TOTAL_LIMIT = 6000
SELECT_LABEL_LIMIT = 100     # select options and autocomplete choices
SELECT_OPTION_LIMIT = 25

DEFAULT_COLOUR = 0x6F819E
CONTINUED = "\u200b"         # an invisible field name: the list above goes on
TOPICS_PER_PAGE = 15
SOURCES_PER_PAGE = 10

EXTRA_LABELS = {
    "en": {"topics": "Topics", "sources_all": "Sources the bot cites", "also_in": "Also involved in",
           "one_topic": "1 topic", "topics_count": "{count} topics",
           "handles_both": "Handles {direct} directly and {nested} through its offices.",
           "handles_direct": "Handles {direct}.", "handles_nested": "Handles {nested} through its offices.",
           "handles_none": "No topic of the table names this agency as its handler.",
           "about": "About who-handles",
           "about_text": "Answers “who handles this?” for US immigration, customs and cross-border crime, "
                         "citing official sources.",
           "version": "Version", "knowledge": "Knowledge", "counts": "Table", "code": "Code",
           "counts_text": "{agencies} agencies · {topics} topics · {sources} sources",
           "knowledge_text": "checked up to {checked}",
           "privacy": "Privacy",
           "privacy_text": "The bot keeps nothing about members: no user ids, no record of who asked what, and it "
                           "reads no messages. For each server it stores its settings, notes and aliases, and weekly "
                           "counts of answers and feedback by topic; a question it could not answer only if the "
                           "server turned that on, and never who asked it.",
           "browse_hint": "Use /who with a topic for its answer."},
    "es": {"topics": "Temas", "sources_all": "Fuentes que cita el bot", "also_in": "También participa en",
           "one_topic": "1 tema", "topics_count": "{count} temas",
           "handles_both": "Se encarga de {direct} directamente y de {nested} a través de sus oficinas.",
           "handles_direct": "Se encarga de {direct}.",
           "handles_nested": "Se encarga de {nested} a través de sus oficinas.",
           "handles_none": "Ningún tema de la tabla nombra a esta agencia como responsable.",
           "about": "Acerca de who-handles",
           "about_text": "Responde «¿quién se encarga de esto?» sobre inmigración, aduanas y delitos "
                         "transfronterizos en EE. UU., citando fuentes oficiales.",
           "version": "Versión", "knowledge": "Conocimiento", "counts": "Tabla", "code": "Código",
           "counts_text": "{agencies} agencias · {topics} temas · {sources} fuentes",
           "knowledge_text": "verificado hasta {checked}",
           "privacy": "Privacidad",
           "privacy_text": "El bot no guarda nada sobre los miembros: ni ids de usuario, ni quién preguntó qué, y no "
                           "lee mensajes. De cada servidor guarda su configuración, notas y alias, y cuentas semanales "
                           "de respuestas y opiniones por tema; una pregunta sin respuesta solo si el servidor lo "
                           "activó, y nunca quién la hizo.",
           "browse_hint": "Use /who con un tema para ver su respuesta."},
}


def labels(lang: str) -> dict[str, str]:
    return {**LABELS.get(lang, LABELS["en"]), **EXTRA_LABELS.get(lang, EXTRA_LABELS["en"])}


# --- limits --------------------------------------------------------------------------------------------------------

def embed_problems(embed: discord.Embed) -> list[str]:
    """Every way `embed` breaks Discord's limits; empty when Discord would accept it."""
    problems = []
    if len(embed.title or "") > TITLE_LIMIT:
        problems.append(f"title has {len(embed.title or '')} characters (limit {TITLE_LIMIT})")
    if len(embed.description or "") > DESCRIPTION_LIMIT:
        problems.append(f"description has {len(embed.description or '')} characters (limit {DESCRIPTION_LIMIT})")
    if len(embed.fields) > FIELD_LIMIT:
        problems.append(f"{len(embed.fields)} fields (limit {FIELD_LIMIT})")
    for number, field in enumerate(embed.fields, start=1):
        name, value = field.name or "", field.value or ""
        if not name or len(name) > FIELD_NAME_LIMIT:
            problems.append(f"field {number} name has {len(name)} characters (1-{FIELD_NAME_LIMIT})")
        if not value or len(value) > FIELD_VALUE_LIMIT:
            problems.append(f"field {number} value has {len(value)} characters (1-{FIELD_VALUE_LIMIT})")
    if len(embed.footer.text or "") > FOOTER_LIMIT:
        problems.append(f"footer has {len(embed.footer.text or '')} characters (limit {FOOTER_LIMIT})")
    if len(embed.author.name or "") > AUTHOR_LIMIT:
        problems.append(f"author has {len(embed.author.name or '')} characters (limit {AUTHOR_LIMIT})")
    if len(embed) > TOTAL_LIMIT:
        problems.append(f"{len(embed)} characters in all (limit {TOTAL_LIMIT})")
    return problems


class SharedEmbed(discord.Embed):
    """An embed that every reply of one answer shares (see `answer_embed`). discord.py turns an embed into its JSON
    form for every message sent; this one keeps that form and builds it again only after an attribute is set or
    deleted (in place changes, like add_field, show through, because the form holds the same lists and dicts).
    `.copy()` is a plain discord.Embed of its own, safe to change."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        super().__setattr__("_payload", None)

    def __delattr__(self, name: str) -> None:   # remove_footer(), remove_author()
        super().__delattr__(name)
        super().__setattr__("_payload", None)

    def to_dict(self) -> Any:
        payload = getattr(self, "_payload", None)
        if payload is None:
            payload = super().to_dict()
            super().__setattr__("_payload", payload)
        return payload

    def copy(self) -> discord.Embed:  # type: ignore[override]
        return discord.Embed.from_dict(deepcopy(super().to_dict()))


class _Fitter:
    """Fills one embed without ever passing a limit. Set title, author and footer first: fields take what is left."""

    def __init__(self, *, title: str, description: str | None = None, colour: int | None = None,
                 url: str | None = None, author: str | None = None, footer: str | None = None,
                 shared: bool = False):
        self.embed = (SharedEmbed if shared else discord.Embed)(
            title=shorten(title, TITLE_LIMIT),
            description=shorten(description, DESCRIPTION_LIMIT) if description else None,
            colour=colour if colour is not None else DEFAULT_COLOUR,
            url=url,
        )
        if author:
            self.embed.set_author(name=shorten(author, AUTHOR_LIMIT))
        if footer:
            self.embed.set_footer(text=shorten(footer, FOOTER_LIMIT))
        self.full = False

    def room(self) -> int:
        return TOTAL_LIMIT - len(self.embed)

    def field(self, name: str, lines: Iterable[str], inline: bool = False, at: int | None = None) -> None:
        """Add `lines` under `name`, over as many fields as they need, as far as the embed has room. Fields are
        appended, or inserted from position `at`: add the most important first, show them in any order."""
        name = shorten(name, FIELD_NAME_LIMIT)
        for index, chunk in enumerate(_chunks(list(lines), FIELD_VALUE_LIMIT)):
            label = name if index == 0 else CONTINUED
            if self.full or len(self.embed.fields) >= FIELD_LIMIT:
                self.full = True
                return
            room = self.room() - len(label)
            if len(chunk) > room:
                self.full = True
                if room >= 2:
                    self._add(label, shorten(chunk, room), inline, at, index)
                return
            self._add(label, chunk, inline, at, index)

    def _add(self, name: str, value: str, inline: bool, at: int | None, offset: int) -> None:
        if at is None:
            self.embed.add_field(name=name, value=value, inline=inline)
        else:
            self.embed.insert_field_at(at + offset, name=name, value=value, inline=inline)

    def done(self) -> discord.Embed:
        return self.embed


def _chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Join lines with newlines into pieces of at most `limit` characters; an over-long line is shortened."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = shorten(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _link(text: str, url: str) -> str:
    """A masked link whose text cannot close the brackets early and whose URL cannot close the parenthesis."""
    label = text.replace("[", "(").replace("]", ")")
    safe_url = quote(url, safe=":/?#@!$&'*+,;=%~-._")
    return f"[{label}]({safe_url})"


def _disclaimer(lang: str) -> str:
    return DISCLAIMER.get(lang, DISCLAIMER["en"])


# --- answers -------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def answer_embed(answer: Answer) -> discord.Embed:
    """The full answer to a matched topic (anything else is a picker: see views.picker_text).

    Kept per Answer, because the same few answers go out again and again: the embed is shared (a SharedEmbed), so
    it is sent as it is and never changed (use `.copy()` for a variant)."""
    if answer.handler is None:
        raise ValueError(f"an answer with status {answer.status!r} has no embed; it is a picker")
    words = labels(answer.lang)
    # Who handles it is what the command is for: the first line, read before the summary on a phone's screen.
    handled = f"{words['handled']}: **{answer.handler.label}**"
    as_of = words["as_of"].format(date=answer.as_of.isoformat()) if answer.as_of else None
    summary, sources = in_reading_order(answer.summary or "", answer.sources)
    description = "\n\n".join(part for part in (handled, answer.level_note, summary, as_of) if part)
    fitter = _Fitter(
        title=answer.title or answer.query,
        description=description,
        url=answer.url,
        colour=answer.colour,
        author=answer.chain_text,
        footer=f"{words['checked']} {answer.checked.isoformat() if answer.checked else '?'}. {answer.disclaimer}",
        shared=True,
    )
    # The sources go in before "Also involved" (shown above them): if anything must be cut, it is not a citation.
    # The related topics are not listed: the menu under the answer offers them (see views.answer_view).
    fitter.field(words["sources"], [f"`[{source.number}]` {_link(source.title, source.url)} — {source.publisher}"
                                    for source in sources])
    if answer.also:
        fitter.field(words["also"], [f"• **{item.agency.label}**: {item.role}"
                                     for item in answer.also], at=0)
    return fitter.done()


CITATION = re.compile(r"\[(\d+)\]")


def in_reading_order(summary: str, sources: Sequence[SourceRef]) -> tuple[str, list[SourceRef]]:
    """The summary with its citation markers renumbered 1, 2, 3... in the order a reader meets them, and the
    sources renumbered to match, in that order: a marker still leads to the source it named. The table numbers
    sources by their order in the file, so a summary could read [1], [3], [2]. Sources the summary never cites
    keep their order, after the others."""
    by_number = {source.number: source for source in sources}
    order = [number for number in dict.fromkeys(int(found) for found in CITATION.findall(summary))
             if number in by_number]
    order += [source.number for source in sources if source.number not in order]
    renumbered = {old: new for new, old in enumerate(order, start=1)}

    def renumber(marker: re.Match[str]) -> str:
        old = int(marker[1])
        return f"[{renumbered[old]}]" if old in renumbered else marker[0]

    return (CITATION.sub(renumber, summary),
            [dataclasses.replace(by_number[old], number=renumbered[old]) for old in order])


# --- browsing ------------------------------------------------------------------------------------------------------

def agency_embed(knowledge: Knowledge, agency_id: str, lang: str = "en") -> discord.Embed:
    """What an agency or directorate handles: its own topics, those of its offices, and where it is also involved."""
    words = labels(lang)
    agency = knowledge.agencies[agency_id]
    name = agency.es_name if lang == "es" and agency.es_name else agency.name
    chain = " › ".join(short_name(a, lang) for a in reversed(knowledge.chain(agency_id)))
    offices = [a for a in knowledge.agencies.values() if a.id != agency_id and agency_id in
               {p.id for p in knowledge.chain(a.id)}]
    direct = knowledge.topics_handled_by(agency_id)
    nested = [(office, knowledge.topics_handled_by(office.id)) for office in offices]
    nested = [(office, topics) for office, topics in nested if topics]
    nested_count = sum(len(topics) for _, topics in nested)
    description = handles_text(words, len(direct), nested_count)
    fitter = _Fitter(title=name, description=description, colour=knowledge.colour(agency_id), url=agency.url,
                     author=chain, footer=_disclaimer(lang))
    if direct:
        fitter.field(agency_label(name, short_name(agency, lang)), _topic_lines(direct, lang))
    for office, topics in nested:
        office_name = office.es_name if lang == "es" and office.es_name else office.name
        fitter.field(agency_label(office_name, short_name(office, lang)), _topic_lines(topics, lang))
    involved = [topic for topic in knowledge.topics.values()
                if any(item.agency == agency_id for item in topic.also)]
    if involved:
        fitter.field(words["also_in"], _topic_lines(involved, lang))
    return fitter.done()


def handles_text(words: dict[str, str], direct: int, nested: int) -> str:
    """"Handles 1 topic.", "Handles 3 topics directly and 5 through its offices.": no "topic(s)", no "and 0"."""
    def count(number: int) -> str:
        return words["one_topic"] if number == 1 else words["topics_count"].format(count=number)

    key = {(True, True): "handles_both", (True, False): "handles_direct",
           (False, True): "handles_nested", (False, False): "handles_none"}[(direct > 0, nested > 0)]
    # with both, the second number reads on from the first: "1 topic directly and 2 through its offices"
    return words[key].format(direct=count(direct), nested=nested if direct else count(nested))


def agency_topics(knowledge: Knowledge, agency_id: str) -> list[str]:
    """Topic ids an agency handles, its own first and then its offices', for the "open a topic" menu."""
    own = [topic.id for topic in knowledge.topics_handled_by(agency_id)]
    offices = [topic.id for topic in knowledge.topics.values()
               if topic.handler != agency_id and agency_id in {a.id for a in knowledge.chain(topic.handler)}]
    return own + offices


def alphabetical(text: str) -> str:
    """A sort key that reads as people read: case and accents aside ("Advance" before "ATF", "Órdenes" among the
    O's), where sorting the raw text orders by character code."""
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)).casefold()


def _topic_lines(topics: Iterable, lang: str) -> list[str]:
    return sorted((f"• {topic.localized(lang).title}" for topic in topics), key=alphabetical)


def topic_pages(knowledge: Knowledge, lang: str = "en", per_page: int = TOPICS_PER_PAGE) -> list[discord.Embed]:
    """Every topic, by title, as pages for the /topics browser."""
    words = labels(lang)
    rows = sorted(((topic.localized(lang).title, short_name(knowledge.agencies[topic.handler], lang))
                   for topic in knowledge.topics.values()), key=lambda row: alphabetical(row[0]))
    pages = [rows[start:start + per_page] for start in range(0, len(rows), per_page)] or [[]]
    embeds = []
    for number, page in enumerate(pages, start=1):
        footer = f"{say(lang, 'page', page=number, pages=len(pages))} · {words['browse_hint']}"
        fitter = _Fitter(title=f"{words['topics']} ({len(rows)})", footer=footer)
        fitter.field(words["topics"], [f"• **{title}** ({short})" for title, short in page] or ["—"])
        embeds.append(fitter.done())
    return embeds


def source_pages(knowledge: Knowledge, lang: str = "en", per_page: int = SOURCES_PER_PAGE) -> list[discord.Embed]:
    """Every source the table cites, by publisher and title, as pages."""
    words = labels(lang)
    sources = sorted(knowledge.sources.values(), key=lambda s: (s.publisher, s.title))
    pages = [sources[start:start + per_page] for start in range(0, len(sources), per_page)] or [[]]
    embeds = []
    for number, page in enumerate(pages, start=1):
        fitter = _Fitter(title=f"{words['sources_all']} ({len(sources)})",
                         footer=f"{say(lang, 'page', page=number, pages=len(pages))} · {_disclaimer(lang)}")
        lines = [f"• {_link(source.title, source.url)} — {source.publisher} ({words['checked'].lower()} "
                 f"{source.checked.isoformat()})" for source in page]
        fitter.field(words["sources"], lines or ["—"])
        embeds.append(fitter.done())
    return embeds


def about_embed(knowledge: Knowledge, version: str, lang: str = "en", code_url: str | None = None) -> discord.Embed:
    """What the bot is, how current its table is, what it keeps about members, and (only when CODE_URL says where)
    its code."""
    words = labels(lang)
    fitter = _Fitter(title=words["about"], description=words["about_text"], footer=_disclaimer(lang))
    fitter.field(words["version"], [version], inline=True)
    fitter.field(words["knowledge"], [words["knowledge_text"].format(checked=knowledge.checked.isoformat())],
                 inline=True)
    fitter.field(words["counts"], [words["counts_text"].format(agencies=len(knowledge.agencies),
                                                               topics=len(knowledge.topics),
                                                               sources=len(knowledge.sources))])
    fitter.field(words["privacy"], [words["privacy_text"]])
    if code_url:
        fitter.field(words["code"], [_link(code_url.split("://", 1)[-1].rstrip("/"), code_url)])
    return fitter.done()


def option_label(ref: TopicRef, limit: int = SELECT_LABEL_LIMIT) -> str:
    """A topic as a select option, button or autocomplete choice: its title and, unless the title names it
    already ("U.S. Customs and Border Protection (CBP)", "HSI tip line"), its handler; within `limit`."""
    suffix = f" — {ref.handler.short}"
    if ref.handler.short in ref.title or len(suffix) >= 40:
        return shorten(ref.title, limit)
    return shorten(ref.title, limit - len(suffix)) + suffix
