"""Scores the matcher on a set of realistic questions; used by the tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.router import Router

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "eval"
TRAINING_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "training"
# Sets measured, never fitted or tuned on: the held-out half of an early blind set, and the first-contact sets
# written by people who never saw the table (their first figures are recorded in their headers).
UNSEEN_PREFIXES = ("holdout", "first-contact-")


def fitting_sets() -> list[Path]:
    """The labelled sets the matcher's decision is fitted on (and the table's vocabulary tuned on)."""
    return sorted(path for path in EVAL_DIR.glob("*.yaml") if not path.stem.startswith(UNSEEN_PREFIXES))


def training_sets() -> list[Path]:
    """Labelled questions written to teach the matcher, not to measure it (knowledge/training/)."""
    return sorted(TRAINING_DIR.glob("*.yaml"))


def unseen_sets() -> list[Path]:
    return sorted(path for path in EVAL_DIR.glob("*.yaml") if path.stem.startswith(UNSEEN_PREFIXES))


@dataclass
class Score:
    in_scope: int = 0
    top1: int = 0
    out_of_scope: int = 0
    rejected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.in_scope if self.in_scope else 1.0

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.out_of_scope if self.out_of_scope else 1.0


def load_queries(path: Path, lang: str | None = None) -> list[tuple[str, frozenset[str]]]:
    """(question, accepted handler ids) of a set; with `lang`, only the questions marked in that language."""
    return [(item["q"], frozenset(item.get("accept") or ())) for item in yaml.safe_load(path.read_text("utf-8"))
            if lang is None or item.get("lang") == lang]


def evaluate(router: Router, queries: list[tuple[str, frozenset[str]]]) -> Score:
    """In scope, the answer's handler (the best candidate's, when several fit) must be an accepted one;
    out of scope, the matcher must say it has no answer."""
    score = Score()
    for query, accept in queries:
        resolution = router.resolve(query)
        best = resolution.best if resolution.status != "none" else None
        if accept:
            score.in_scope += 1
            if best is not None and best.handler in accept:
                score.top1 += 1
            else:
                got = f"{best.topic} ({best.handler})" if best else "none"
                score.misses.append(f"{query!r}: got {got}, want {sorted(accept)} [{resolution.status}]")
        else:
            score.out_of_scope += 1
            if best is None:
                score.rejected += 1
            else:
                score.misses.append(f"{query!r}: got {best.topic} ({best.handler}), want none [{resolution.status}]")
    return score
