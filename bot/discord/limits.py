"""Behaviour in a busy server: no second public copy of a fresh answer, and no floods from one member.

Plain Python with an injectable clock (time.monotonic by default), so tests move time instead of sleeping. Both
structures forget what is older than their window and hold at most a fixed number of entries (the oldest go
first), so memory stays bounded however long the bot runs and however many members and channels it serves.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

REPEAT_WINDOW_SECONDS = 60.0   # the same topic again in the same channel within this gets a pointer, not a copy
USER_RATE_COUNT = 5            # a member may run this many commands...
USER_RATE_SECONDS = 30.0       # ...in this many seconds
RECENT_ANSWERS_CAP = 10_000    # channel-and-topic pairs remembered (a few MB at most)
USER_RATE_CAP = 50_000         # members whose recent commands are counted

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limits:
    repeat_window_seconds: float = REPEAT_WINDOW_SECONDS
    user_rate_count: int = USER_RATE_COUNT
    user_rate_seconds: float = USER_RATE_SECONDS

    @classmethod
    def from_settings(cls, settings: object) -> Limits:
        """From bot.settings.Settings (anything with the same three attributes)."""
        return cls(
            repeat_window_seconds=float(getattr(settings, "repeat_window_seconds", REPEAT_WINDOW_SECONDS)),
            user_rate_count=int(getattr(settings, "user_rate_count", USER_RATE_COUNT)),
            user_rate_seconds=float(getattr(settings, "user_rate_seconds", USER_RATE_SECONDS)),
        )


@dataclass(frozen=True)
class Earlier:
    """A public answer already given (or being given) in a channel."""

    at: float
    jump_url: str | None    # None while the earlier answer is still being sent


class RecentAnswers:
    """Which public answers each channel got in the last `window` seconds."""

    def __init__(self, window: float = REPEAT_WINDOW_SECONDS, clock: Clock = time.monotonic,
                 cap: int = RECENT_ANSWERS_CAP):
        self.window, self.clock, self.cap = window, clock, cap
        self._answers: OrderedDict[tuple[int, Hashable], Earlier] = OrderedDict()

    def claim(self, channel_id: int, key: Hashable, window: float | None = None) -> Earlier | None:
        """None, and the slot is reserved for the caller, when `key` was not answered in the channel within the
        window; otherwise the earlier answer, to point at. `window`, a server's own (/server limits), can only be
        shorter than the bot's: what is older than the bot's window is forgotten."""
        now = self.clock()
        self._forget(now)
        earlier = self._answers.get((channel_id, key))
        if earlier is not None and (window is None or now - earlier.at < window):
            return earlier
        self._answers[(channel_id, key)] = Earlier(now, None)
        if len(self._answers) > self.cap:   # forgetting the oldest only costs someone a second public copy
            self._answers.popitem(last=False)
        return None

    def record(self, channel_id: int, key: Hashable, jump_url: str | None) -> None:
        """The reserved answer went out at `jump_url`."""
        slot = (channel_id, key)
        earlier = self._answers.get(slot)
        if earlier is not None:
            self._answers[slot] = Earlier(earlier.at, jump_url)

    def release(self, channel_id: int, key: Hashable) -> None:
        """The reserved answer was not sent after all."""
        self._answers.pop((channel_id, key), None)

    def _forget(self, now: float) -> None:
        while self._answers:
            slot, earlier = next(iter(self._answers.items()))
            if now - earlier.at < self.window:
                break
            del self._answers[slot]

    def __len__(self) -> int:
        return len(self._answers)


class UserRate:
    """At most `count` commands per member in any `per` seconds (a sliding window)."""

    def __init__(self, count: int = USER_RATE_COUNT, per: float = USER_RATE_SECONDS, clock: Clock = time.monotonic,
                 cap: int = USER_RATE_CAP):
        self.count, self.per, self.clock, self.cap = count, per, clock, cap
        self._hits: OrderedDict[int, deque[float]] = OrderedDict()

    def hit(self, user_id: int, count: int | None = None, per: float | None = None) -> float:
        """0.0 when the member may go ahead (and the use is counted); else the seconds until they may. `count` and
        `per` are a server's own limit, when it set one; it can only be stricter than the bot's, whose window is what
        is remembered."""
        count = min(count or self.count, self.count)
        per = min(per or self.per, self.per)
        now = self.clock()
        self._forget(now)
        hits = self._hits.get(user_id)
        if hits is None:
            hits = self._hits[user_id] = deque(maxlen=self.count)
        while hits and now - hits[0] >= self.per:
            hits.popleft()
        # Uses are in time order, so the count-th newest tells whether `count` of them fall within `per`, and when
        # the member may go on: no need to look at all of them (thousands, where the bot's limit is set very high).
        if len(hits) >= count and now - hits[-count] < per:
            return max(per - (now - hits[-count]), 0.001)
        hits.append(now)
        self._hits.move_to_end(user_id)
        if len(self._hits) > self.cap:   # the member quiet the longest starts afresh
            self._hits.popitem(last=False)
        return 0.0

    def _forget(self, now: float) -> None:
        """Drop members whose newest use is out of the window; they are in order of their newest use."""
        while self._hits:
            user_id, hits = next(iter(self._hits.items()))
            if hits and now - hits[-1] < self.per:
                break
            del self._hits[user_id]

    def __len__(self) -> int:
        return len(self._hits)
