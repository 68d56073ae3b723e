"""What the store keeps, as plain frozen data. No model has a user id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

EVERY_TOPIC = "*"            # a help note shown under every answer
QUESTION_LIMIT = 300         # characters of an unanswered question kept (the matcher reads no more)


@dataclass(frozen=True)
class GuildSettings:
    """One server's settings; the defaults are what a server that never ran /server gets (and what a read returns
    while the database is down)."""

    language: str | None = None            # 'en' / 'es'; None: the server's locale
    private_default: bool = False
    channels: frozenset[int] = frozenset()  # where the bot answers in public; empty: everywhere
    pin_role_id: int | None = None
    repeat_window_seconds: int | None = None
    rate_count: int | None = None
    rate_seconds: int | None = None
    report_channel_id: int | None = None
    keep_unanswered_text: bool = False


SETTING_FIELDS = ("language", "private_default", "pin_role_id", "repeat_window_seconds", "rate_count",
                  "rate_seconds", "report_channel_id", "keep_unanswered_text")


@dataclass(frozen=True)
class HelpNote:
    note_id: int
    topic_id: str           # a topic id, or EVERY_TOPIC
    body: str


@dataclass(frozen=True)
class Pin:
    message_id: int
    guild_id: int
    channel_id: int
    topic_id: str
    lang: str
    table_version: str
    via: str                # button or menu
    pinned_at: int = 0


@dataclass(frozen=True)
class TopicWeek:
    week: str
    topic_id: str           # '' for questions that matched nothing
    status: str             # match, ambiguous, none
    answers: int


@dataclass(frozen=True)
class Stats:
    """Answers by week and topic, feedback counts and the kept unanswered questions, for one server or all."""

    answers: tuple[TopicWeek, ...] = ()
    helpful: int = 0
    unhelpful: int = 0
    reports: int = 0
    unanswered: tuple[tuple[str, int], ...] = ()     # (question, times asked), most asked first
    feedback_by_topic: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # helpful, unhelpful, reports

    @property
    def helpful_ratio(self) -> float | None:
        votes = self.helpful + self.unhelpful
        return self.helpful / votes if votes else None

    @property
    def total_answers(self) -> int:
        return sum(row.answers for row in self.answers)


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_back(today: dt.date, weeks: int) -> str:
    """The first ISO week of the last `weeks` weeks, as stored (ISO week strings sort in time order)."""
    return iso_week(today - dt.timedelta(weeks=max(weeks, 1) - 1))


def normalise_alias(text: str) -> str:
    return " ".join(text.split()).casefold()
