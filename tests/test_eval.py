"""The matcher on realistic questions: top-1 handler accuracy and out-of-scope rejection.

Each file in tests/eval is one set. The development sets (english, spanish, queries, paraphrases, blind-*) are what
the thresholds and the table's vocabulary were tuned on, so each must meet the goals. holdout.yaml is half of a
set written blind from the facts file; it is never tuned on, so its figure says how the matcher does on questions it
has not seen, and its floor sits just under that figure to catch regressions.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.router import Router
from bot.core.text import normalise
from bot.evaluation import EVAL_DIR, evaluate, fitting_sets, load_queries, training_sets, unseen_sets

ROOT = Path(__file__).resolve().parent.parent
TOP1_GOAL = 0.95
REJECTION_GOAL = 0.90
# The held-out set is measured, not tuned on; its floor only guards against regressions, and the figure itself is
# reported by bench/bench_routing.py.
HOLDOUT_TOP1_FLOOR = 0.84
HOLDOUT_REJECTION_FLOOR = 0.94
# The hard-* sets were written to defeat a keyword matcher (questions whose words point one way and whose answer
# lies another, voices no other set has); they are tuned on but hold a floor under what they measure, not the goal.
HARD_TOP1_FLOOR = 0.85
HARD_REJECTION_FLOOR = 0.875
# blind-short's out-of-scope questions are two- to five-word traps ("secret service movie with clint eastwood") whose
# words name an office outright; the threshold that refuses 94% of the first-contact sets' out-of-scope questions
# refuses 84% of these, so it holds a floor of its own under that.
BLIND_SHORT_REJECTION_FLOOR = 0.82
FLOOR_SETS = ("hard-", "blind-short")
HARD_SETS = sorted(path for path in fitting_sets() if path.stem.startswith(FLOOR_SETS))
SETS = sorted(path for path in fitting_sets() if not path.stem.startswith(FLOOR_SETS))


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.load()


# The first-contact sets are measured, never tuned on (their first figures are in their headers); these floors sit
# a few points under the lowest of them today and only catch a change that makes new questions fare worse.
FIRST_CONTACT_TOP1_FLOOR = 0.70
FIRST_CONTACT_REJECTION_FLOOR = 0.80


@pytest.mark.parametrize("path", sorted(EVAL_DIR.glob("first-contact-*.yaml")), ids=lambda path: path.stem)
def test_first_contact_sets_do_not_regress(router: Router, path: Path):
    score = evaluate(router, load_queries(path))
    assert score.top1_rate >= FIRST_CONTACT_TOP1_FLOOR, f"top-1 {score.top1_rate:.3f} on {path.name}"
    assert score.rejection_rate >= FIRST_CONTACT_REJECTION_FLOOR, f"rejection {score.rejection_rate:.3f} on {path.name}"


def test_holdout_does_not_regress(router: Router):
    score = evaluate(router, load_queries(EVAL_DIR / "holdout.yaml"))
    assert score.top1_rate >= HOLDOUT_TOP1_FLOOR, "\n".join(score.misses)
    assert score.rejection_rate >= HOLDOUT_REJECTION_FLOOR, "\n".join(score.misses)


@pytest.mark.parametrize("path", HARD_SETS, ids=lambda path: path.stem)
def test_hard_sets_do_not_regress(router: Router, path: Path):
    score = evaluate(router, load_queries(path))
    rejection_floor = BLIND_SHORT_REJECTION_FLOOR if path.stem == "blind-short" else HARD_REJECTION_FLOOR
    assert score.top1_rate >= HARD_TOP1_FLOOR, "\n".join(score.misses)
    assert score.rejection_rate >= rejection_floor, "\n".join(score.misses)


def test_evaluation_is_large_and_mixed():
    queries = [query for path in SETS for query in load_queries(path)]
    assert len(queries) >= 150
    assert sum(1 for _, accept in queries if not accept) >= len(queries) // 10
    assert len(load_queries(EVAL_DIR / "spanish.yaml")) >= 50


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_accuracy_goals(router: Router, path: Path):
    score = evaluate(router, load_queries(path))
    report = "\n".join(score.misses)
    assert score.top1_rate >= TOP1_GOAL, f"top-1 {score.top1_rate:.3f} on {path.name}; misses:\n{report}"
    assert score.rejection_rate >= REJECTION_GOAL, f"rejection {score.rejection_rate:.3f} on {path.name}:\n{report}"


def test_the_fitted_decision_is_current():
    """knowledge/fitted.json is what bench/fit_matcher.py fits from the table and the labelled sets today."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "fit_matcher.py"), "--check"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_training_questions_are_labelled_with_real_offices_and_never_copied_from_an_unseen_set(router: Router):
    """knowledge/training/ teaches the matcher; a question of a set that measures it must never be taught."""
    offices = set(router.knowledge.agencies)
    training = [item for path in training_sets() for item in load_queries(path)]
    assert len(training) >= 1000 and sum(1 for _, accept in training if not accept) >= len(training) // 4
    assert all(accept <= offices for _, accept in training), [q for q, a in training if not a <= offices]
    unseen = {normalise(query) for path in unseen_sets() for query, _ in load_queries(path)}
    assert not [query for query, _ in training if normalise(query) in unseen]
