"""The core's front door: one loaded table and its index, answering queries as Answers.

A front end holds one Router. A reload builds a whole new Router and swaps the reference, so every request sees
the old table or the new one, never half of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.core.answers import Answer, TopicRef, answer_agency, answer_resolution, answer_topic, topic_ref
from bot.core.knowledge import Knowledge, Topic, default_directory, load_knowledge
from bot.core.matching import FITTED_NAME, Entry, Fitted, Matcher, Resolution
from bot.core.text import MAX_QUERY_CHARS

# Members ask the same few things over and over, and a table never changes under a Router (a reload builds a new
# one), so answers are kept: a repeated question costs a dictionary look-up instead of a ranking.
ANSWER_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Router:
    knowledge: Knowledge
    matcher: Matcher

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cached_ask", lru_cache(maxsize=ANSWER_CACHE_SIZE)(self._ask))
        object.__setattr__(self, "_cached_topic", lru_cache(maxsize=ANSWER_CACHE_SIZE)(self._topic))

    @classmethod
    def load(cls, directory: Path | str | None = None) -> Router:
        return cls.build(load_knowledge(directory))

    @classmethod
    def build(cls, knowledge: Knowledge) -> Router:
        entries = (
            Entry(topic.id, topic.handler, (topic.title, *topic.aliases, *_translated_titles(topic)), topic.keywords,
                  topic.signals)
            for topic in knowledge.topics.values()
        )
        offices = [agency.id for agency in knowledge.agencies.values() if agency.summary]
        return cls(knowledge, Matcher(entries, offices=offices,
                                      fitted=fitted_for(knowledge.directory)))

    def resolve(self, query: str) -> Resolution:
        return self.matcher.resolve(query)

    def ask(self, query: str, lang: str = "en") -> Answer:
        if len(query) > MAX_QUERY_CHARS:   # a pasted essay is not worth keeping
            return self._ask(query, lang)
        return self._cached_ask(query, lang)

    def topic(self, topic_id: str, lang: str = "en") -> Answer | None:
        if topic_id not in self.knowledge.topics:
            return None
        return self._cached_topic(topic_id, lang)

    def _ask(self, query: str, lang: str) -> Answer:
        return answer_resolution(self.knowledge, self.matcher.resolve(query), lang)

    def _topic(self, topic_id: str, lang: str) -> Answer:
        return answer_topic(self.knowledge, topic_id, lang)

    def agency(self, agency_id: str, lang: str = "en") -> Answer | None:
        """An office's agency-level answer (None for an unknown id or an office without a summary)."""
        agency = self.knowledge.agencies.get(agency_id)
        if agency is None or not agency.summary:
            return None
        return answer_agency(self.knowledge, agency_id, lang)

    def ice(self, aspect: str, lang: str = "en") -> Answer:
        topic_id = self.knowledge.ice_aspects.get(aspect.strip().casefold())
        if topic_id is None:
            aspects = self.knowledge.ice_aspects.values()
            return Answer(query=aspect, status="none", lang=lang,
                          choices=tuple(topic_ref(self.knowledge, t, lang) for t in aspects))
        return answer_topic(self.knowledge, topic_id, lang, query=aspect)

    def suggest(self, prefix: str, limit: int = 25) -> list[str]:
        return self.matcher.suggest(prefix, limit)

    def suggest_refs(self, prefix: str, lang: str = "en", limit: int = 25) -> list[TopicRef]:
        return [topic_ref(self.knowledge, topic_id, lang) for topic_id in self.matcher.suggest(prefix, limit)]


def fitted_for(directory: Path) -> Fitted:
    """The decision fitted on this table (its fitted.json), else the one fitted on the bundled table."""
    own = directory / FITTED_NAME
    return Fitted.load(own if own.is_file() else default_directory() / FITTED_NAME)


def _translated_titles(topic: Topic) -> tuple[str, ...]:
    return tuple(text.title for text in topic.translations.values())
