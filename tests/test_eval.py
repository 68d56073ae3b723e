"""The matcher on realistic questions: top-1 handler accuracy and out-of-scope rejection.

queries.yaml is the development set the thresholds were tuned on; holdout.yaml was written separately and is
never tuned on, so its figure says how the matcher does on questions it has not seen.
"""

import pytest

from bot.core.router import Router
from bot.evaluation import EVAL_DIR, evaluate, load_queries

TOP1_GOAL = 0.95
REJECTION_GOAL = 0.90


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.load()


@pytest.mark.parametrize("name", ["queries.yaml", "holdout.yaml"])
def test_eval_set_is_large_and_mixed(name: str):
    queries = load_queries(EVAL_DIR / name)
    assert len(queries) >= (150 if name == "queries.yaml" else 80)
    assert sum(1 for _, accept in queries if not accept) >= len(queries) // 10


@pytest.mark.parametrize("name", ["queries.yaml", "holdout.yaml"])
def test_accuracy_goals(router: Router, name: str):
    score = evaluate(router, load_queries(EVAL_DIR / name))
    report = "\n".join(score.misses)
    assert score.top1_rate >= TOP1_GOAL, f"top-1 {score.top1_rate:.3f} on {name}; misses:\n{report}"
    assert score.rejection_rate >= REJECTION_GOAL, f"rejection {score.rejection_rate:.3f} on {name}:\n{report}"
