"""The matcher on realistic questions: top-1 handler accuracy and out-of-scope rejection.

Each file in tests/eval is one set: english.yaml and spanish.yaml are the development sets the thresholds were
tuned on; a set named holdout*.yaml was written separately and is never tuned on, so its figure says how the
matcher does on questions it has not seen.
"""

from pathlib import Path

import pytest

from bot.core.router import Router
from bot.evaluation import EVAL_DIR, evaluate, load_queries

TOP1_GOAL = 0.95
REJECTION_GOAL = 0.90
SETS = sorted(EVAL_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.load()


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
