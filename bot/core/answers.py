"""The one reply model. Both front ends render an Answer; neither decides what it says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.knowledge import Knowledge
from bot.core.matching import Level, Resolution, Status

LANGUAGES = ("en", "es")
NO_TOPIC = {
    "en": "No specific topic fits, but this is {office}'s area:",
    "es": "Ningún tema concreto coincide, pero esto es del ámbito de {office}:",
}
HELP = {
    "en": "I tell you which US office handles a question about immigration, customs or cross-border crime, with "
          "official sources. Ask in your own words, e.g. /who my dad was detained by ICE, or browse /topics.",
    "es": "Le digo qué oficina de EE. UU. se encarga de una pregunta sobre inmigración, aduanas o delitos que cruzan "
          "la frontera, con fuentes oficiales. Pregunte con sus palabras, p. ej. /who detuvieron a mi papá, o vea "
          "/topics.",
}
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
    """A topic to offer, or (level "agency") an office whose agency-level answer to offer: `id` is then its id."""

    id: str
    title: str
    handler: AgencyRef
    score: float | None = None
    level: Level = "topic"


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

    @property
    def help_text(self) -> str:
        return HELP.get(self.lang, HELP["en"])

    @property
    def level_note(self) -> str | None:
        """For an agency-level answer, the sentence that says no topic fits but the office does."""
        if self.level != "agency" or self.handler is None:
            return None
        return NO_TOPIC.get(self.lang, NO_TOPIC["en"]).format(office=self.handler.short)


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


def agency_choice(knowledge: Knowledge, agency_id: str, lang: str = "en") -> TopicRef:
    """An office's agency-level answer, as a choice to offer beside topics."""
    handler = agency_ref(knowledge, agency_id, lang)
    return TopicRef(agency_id, handler.label, handler, level="agency")


def answer_agency(knowledge: Knowledge, agency_id: str, lang: str = "en", query: str | None = None) -> Answer:
    """The agency-level answer: no topic of the table fits, but the question is this office's field. It says so."""
    agency = knowledge.agencies[agency_id]
    text = agency.localized(lang)
    return Answer(
        query=query if query is not None else agency.name,
        status="match",
        lang=lang,
        title=agency_ref(knowledge, agency_id, lang).label,
        summary=text.summary,
        handler_chain=tuple(agency_ref(knowledge, a.id, lang) for a in reversed(knowledge.chain(agency_id))),
        sources=source_refs(knowledge, agency.source_ids),
        related=tuple(topic_ref(knowledge, topic.id, lang) for topic in knowledge.topics_handled_by(agency_id)[:5]),
        checked=max((knowledge.sources[s].checked for s in agency.source_ids), default=None),
        colour=knowledge.colour(agency_id),
        level="agency",
        url=agency.url,
    )


def answer_resolution(knowledge: Knowledge, resolution: Resolution, lang: str = "en") -> Answer:
    best = resolution.best
    if resolution.status == "match" and best is not None:
        if resolution.level == "agency":
            return answer_agency(knowledge, best.handler, lang, resolution.query)
        return answer_topic(knowledge, best.topic, lang, resolution.query)
    choices = tuple(agency_choice(knowledge, c.handler, lang) if c.level == "agency" else
                    topic_ref(knowledge, c.topic, lang, c.score) for c in resolution.candidates)
    return Answer(query=resolution.query, status=resolution.status, lang=lang, choices=choices)


# --- plain-text rendering (terminal, logs) ------------------------------------------------------------------------

LABELS = {
    "en": {"handled": "Handled by", "also": "Also involved", "sources": "Sources", "related": "Related",
           "checked": "Checked", "pick": "Is this what you mean?", "suggest": "Did you mean:",
           "as_of": "As of {date}. Rules in this area can change: check the sources."},
    "es": {"handled": "A cargo de", "also": "También participan", "sources": "Fuentes", "related": "Relacionado",
           "checked": "Verificado", "pick": "¿Es esto lo que busca?", "suggest": "¿Quiso decir:",
           "as_of": "Vigente al {date}. Las reglas de este tema pueden cambiar: revise las fuentes."},
}


def render_text(answer: Answer) -> str:
    labels = LABELS.get(answer.lang, LABELS["en"])
    if answer.status == "help":
        return answer.help_text
    if answer.status != "match":
        lines = [] if answer.status == "ambiguous" else [answer.not_covered]
        if answer.choices:
            lines.append(labels["pick"] if answer.status == "ambiguous" else labels["suggest"])
            lines += [f"  - {choice.title} ({choice.handler.short}) [{choice.id}]" if choice.level == "topic" else
                      f"  - {choice.title} [agency {choice.id}]" for choice in answer.choices]
        return "\n".join(lines)
    handler = answer.handler
    assert handler is not None
    lines = [answer.level_note] if answer.level_note else []
    lines += [
        f"{answer.title}",
        f"{labels['handled']}: {handler.name} ({answer.chain_text})",
        "",
        answer.summary or "",
    ]
    if answer.url:
        lines += ["", answer.url]
    if answer.also:
        lines += ["", f"{labels['also']}:"] + [f"  - {item.agency.label}: {item.role}" for item in answer.also]
    lines += ["", f"{labels['sources']}:"]
    lines += [f"  [{source.number}] {source.title} ({source.publisher}) {source.url}" for source in answer.sources]
    if answer.related:
        lines += ["", f"{labels['related']}: " + ", ".join(f"{t.title} [{t.id}]" for t in answer.related)]
    checked = answer.checked.isoformat() if answer.checked else "?"
    if answer.as_of:
        lines += ["", labels["as_of"].format(date=answer.as_of.isoformat())]
    lines += ["", f"{labels['checked']} {checked}. {answer.disclaimer}"]
    return "\n".join(lines)
