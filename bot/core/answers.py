"""The one reply model. Both front ends render an Answer; neither decides what it says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bot.core.knowledge import Knowledge
from bot.core.matching import Resolution, Status

Level = Literal["topic", "agency"]

LANGUAGES = ("en", "es")
DISCLAIMER = {
    "en": "General information, not legal advice.",
    "es": "Información general, no asesoría legal.",
}
NOT_COVERED = {
    "en": "The routing table does not cover that question.",
    "es": "La tabla de rutas no cubre esa pregunta.",
}
CHAIN_SEPARATOR = " › "


def agency_label(name: str, short: str) -> str:
    """A name with the acronym people also know it by: "Servicio de Inmigración y Control de Aduanas (ICE)"."""
    return name if short in name else f"{name} ({short})"


@dataclass(frozen=True, slots=True)
class AgencyRef:
    id: str
    name: str
    short: str

    @property
    def label(self) -> str:
        return agency_label(self.name, self.short)


@dataclass(frozen=True, slots=True)
class SourceRef:
    number: int
    title: str
    publisher: str
    url: str


@dataclass(frozen=True, slots=True)
class TopicRef:
    id: str
    title: str
    handler: AgencyRef
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Involved:
    agency: AgencyRef
    role: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What to tell the person. `status` says how sure we are; only a `match` carries a topic's content."""

    query: str
    status: Status
    lang: str = "en"
    topic_id: str | None = None
    title: str | None = None
    summary: str | None = None
    handler_chain: tuple[AgencyRef, ...] = ()    # outermost first: DHS, ICE, HSI
    also: tuple[Involved, ...] = ()
    sources: tuple[SourceRef, ...] = ()
    related: tuple[TopicRef, ...] = ()
    checked: dt.date | None = None
    colour: int | None = None
    choices: tuple[TopicRef, ...] = ()          # candidates when ambiguous, suggestions when none
    as_of: dt.date | None = None                # volatile content: the date its facts were true
    level: Level = "topic"                      # "agency": no topic fits, but the question is this office's field
    url: str | None = None                      # an agency-level answer: the office's own page

    @property
    def handler(self) -> AgencyRef | None:
        return self.handler_chain[-1] if self.handler_chain else None

    @property
    def chain_text(self) -> str:
        return CHAIN_SEPARATOR.join(agency.short for agency in self.handler_chain)

    @property
    def disclaimer(self) -> str:
        return DISCLAIMER.get(self.lang, DISCLAIMER["en"])

    @property
    def not_covered(self) -> str:
        return NOT_COVERED.get(self.lang, NOT_COVERED["en"])


def agency_ref(knowledge: Knowledge, agency_id: str, lang: str = "en") -> AgencyRef:
    agency = knowledge.agencies[agency_id]
    name = agency.es_name if lang == "es" and agency.es_name else agency.name
    return AgencyRef(agency.id, name, agency.short)


def topic_ref(knowledge: Knowledge, topic_id: str, lang: str = "en", score: float | None = None) -> TopicRef:
    topic = knowledge.topics[topic_id]
    return TopicRef(topic.id, topic.localized(lang).title, agency_ref(knowledge, topic.handler, lang), score)


def answer_topic(knowledge: Knowledge, topic_id: str, lang: str = "en", query: str | None = None) -> Answer:
    """The full answer for one topic, as shown for a confident match or a picked choice."""
    topic = knowledge.topics[topic_id]
    text = topic.localized(lang)
    return Answer(
        query=query if query is not None else topic.title,
        status="match",
        lang=lang,
        topic_id=topic.id,
        title=text.title,
        summary=text.summary,
        handler_chain=tuple(agency_ref(knowledge, a.id, lang) for a in reversed(knowledge.chain(topic.handler))),
        also=tuple(Involved(agency_ref(knowledge, item.agency, lang), text.role(item.agency, item.role))
                   for item in topic.also),
        sources=source_refs(knowledge, topic.source_ids),
        related=tuple(topic_ref(knowledge, other, lang) for other in topic.related),
        checked=topic.checked,
        colour=knowledge.colour(topic.handler),
        as_of=topic.as_of,
    )


def source_refs(knowledge: Knowledge, source_ids: tuple[str, ...]) -> tuple[SourceRef, ...]:
    return tuple(SourceRef(number, source.title, source.publisher, source.url)
                 for number, source in enumerate((knowledge.sources[s] for s in source_ids), start=1))


def answer_resolution(knowledge: Knowledge, resolution: Resolution, lang: str = "en") -> Answer:
    choices = tuple(topic_ref(knowledge, c.topic, lang, c.score) for c in resolution.candidates)
    if resolution.status == "match" and resolution.best is not None:
        return answer_topic(knowledge, resolution.best.topic, lang, resolution.query)
    return Answer(query=resolution.query, status=resolution.status, lang=lang, choices=choices)


# --- plain-text rendering (terminal, logs) ------------------------------------------------------------------------

LABELS = {
    "en": {"handled": "Handled by", "also": "Also involved", "sources": "Sources", "related": "Related",
           "checked": "Checked", "pick": "Several topics fit. Did you mean:", "suggest": "Did you mean:"},
    "es": {"handled": "A cargo de", "also": "También participan", "sources": "Fuentes", "related": "Relacionado",
           "checked": "Verificado", "pick": "Varios temas coinciden. ¿Quiso decir:", "suggest": "¿Quiso decir:"},
}


def render_text(answer: Answer) -> str:
    labels = LABELS.get(answer.lang, LABELS["en"])
    if answer.status != "match":
        lines = [] if answer.status == "ambiguous" else [answer.not_covered]
        if answer.choices:
            lines.append(labels["pick"] if answer.status == "ambiguous" else labels["suggest"])
            lines += [f"  - {choice.title} ({choice.handler.short}) [{choice.id}]" for choice in answer.choices]
        return "\n".join(lines)
    handler = answer.handler
    assert handler is not None
    lines = [
        f"{answer.title}",
        f"{labels['handled']}: {handler.name} ({answer.chain_text})",
        "",
        answer.summary or "",
    ]
    if answer.also:
        lines += ["", f"{labels['also']}:"] + [f"  - {item.agency.label}: {item.role}" for item in answer.also]
    lines += ["", f"{labels['sources']}:"]
    lines += [f"  [{source.number}] {source.title} ({source.publisher}) {source.url}" for source in answer.sources]
    if answer.related:
        lines += ["", f"{labels['related']}: " + ", ".join(f"{t.title} [{t.id}]" for t in answer.related)]
    checked = answer.checked.isoformat() if answer.checked else "?"
    lines += ["", f"{labels['checked']} {checked}. {answer.disclaimer}"]
    return "\n".join(lines)
