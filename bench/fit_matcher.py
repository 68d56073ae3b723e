"""Fit the matcher's decision from the labelled sets: when to answer, when to offer a choice, when to say no.

    python bench/fit_matcher.py [--check]

For every question of the tuning sets (tests/eval/*.yaml, except the held-out and first-contact sets, which are
never fitted on) the ranker proposes its best candidate and reports its Features. A logistic model learns from
them whether that candidate's office is one a careful expert accepts (out-of-scope questions have none); two
thresholds then turn its probability into an answer, an offer of one to three choices, or no answer:
- `offer`: the probability below which a question is refused: the lowest that refuses REJECTION_TARGET of the
  out-of-scope questions, so that as many questions in scope as possible get an answer (the project's goals are
  90% rejection and then the best top-1);
- `match`: the probability from which the best candidate is answered without asking, the lowest at which answered
  questions are right at least MATCH_PRECISION of the time.
The result is written to knowledge/fitted.json, beside the table it was fitted on; `--check` exits 1 when the
file differs from a fresh fit (tests/test_eval.py runs the same check, so a change of the table or of the sets that
moves the fit must come with the new fit).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.knowledge import default_directory
from bot.core.matching import FITTED_NAME, Background, Fitted, Resolution
from bot.core.router import Router
from bot.core.text import normalise
from bot.evaluation import fitting_sets, load_queries

REJECTION_TARGET = 0.87  # out-of-scope questions refused on the fitting sets (the goal is 0.90; a margin for new ones)
MATCH_PRECISION = 0.97   # answered without asking: right at least this often on the fitting sets
L2 = 0.01                # ridge penalty: keeps weights sensible where two features say the same
DIGITS = 3


def labelled() -> list[tuple[str, frozenset[str]]]:
    return [item for path in fitting_sets() for item in load_queries(path)]


def background(router: Router, questions: list[tuple[str, frozenset[str]]]) -> Background:
    """Word counts of questions in scope (the fitting sets' and the table's own names) against questions out of
    scope (the fitting sets' and the table's out-of-scope.yaml)."""
    knowledge = router.knowledge
    names = [name for topic in knowledge.topics.values() for name in (topic.title, *topic.aliases)]
    in_scope = [query for query, accept in questions if accept] + names
    out_of_scope = [query for query, accept in questions if not accept] + list(knowledge.out_of_scope)
    return Background.count(in_scope, out_of_scope)


def examples(router: Router, questions: list[tuple[str, frozenset[str]]]) -> list[tuple[list[float], int, bool]]:
    """(features, 1 if the best candidate's office is accepted, whether the question is in scope) per question that
    the ranker decides (exact names and greetings are answered before any weighing). Each question's background
    evidence leaves its own words out of the counts, as if it were new."""
    matcher = router.matcher
    rows = []
    for query, accept in questions:
        first: Resolution = matcher.resolve(query)
        if first.confidence is None and first.status != "none":   # an exact name or a greeting: nothing to weigh
            continue
        key = normalise(query)
        ranked = matcher._rank(key)
        if not ranked:
            continue
        features = matcher.features(key, ranked, matcher.named(key), own=(1, 0) if accept else (0, 1))
        right = int(bool(accept) and matcher.entries[ranked[0].topic].handler in accept)
        rows.append((list(asdict(features).values()), right, bool(accept)))
    return rows


def fit_logistic(rows: list[tuple[list[float], int, bool]], iterations: int = 25) -> tuple[list[float], float]:
    """Newton's method on the L2-penalised log-likelihood: a handful of features, so a small dense solve."""
    size = len(rows[0][0]) + 1
    beta = [0.0] * size
    for _ in range(iterations):
        gradient = [0.0] * size
        hessian = [[0.0] * size for _ in range(size)]
        for values, label, _ in rows:
            x = [1.0, *values]
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, sum(b * v for b, v in zip(beta, x, strict=True))))))
            for i in range(size):
                gradient[i] += (label - p) * x[i]
                for j in range(size):
                    hessian[i][j] += p * (1 - p) * x[i] * x[j]
        for i in range(1, size):
            gradient[i] -= L2 * len(rows) * beta[i]
            hessian[i][i] += L2 * len(rows)
        step = _solve(hessian, gradient)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return beta[1:], beta[0]


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the matrix is small and positive definite)."""
    size = len(vector)
    rows = [[*matrix[i], vector[i]] for i in range(size)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for r in range(size):
            if r != column and rows[column][column]:
                factor = rows[r][column] / rows[column][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    return [rows[i][size] / rows[i][i] if rows[i][i] else 0.0 for i in range(size)]


def thresholds(scored: list[tuple[float, int, bool]]) -> tuple[float, float]:
    """(offer, match) from (probability, right, in scope) per question."""
    out_of_scope = sum(1 for _, _, inside in scored if not inside) or 1
    candidates = sorted({round(p, DIGITS) for p, _, _ in scored} | {0.5})

    def rejection(threshold: float) -> float:
        return sum(1 for p, _, inside in scored if not inside and p < threshold) / out_of_scope

    offer = next((t for t in candidates if rejection(t) >= REJECTION_TARGET), candidates[-1])
    match = next((t for t in candidates if t >= offer and _precision(scored, t) >= MATCH_PRECISION), 1.0)
    return offer, match


def _precision(scored: list[tuple[float, int, bool]], threshold: float) -> float:
    answered = [ok for p, ok, _ in scored if p >= threshold]
    return sum(answered) / len(answered) if answered else 1.0


def fit(router: Router) -> dict:
    questions = labelled()
    words = background(router, questions)
    router.matcher.background = words
    rows = examples(router, questions)
    weights, bias = fit_logistic(rows)
    names = Fitted.feature_names()
    model = Fitted(dict(zip(names, weights, strict=True)), bias, 1.0, 0.0)
    scored = [(model.confidence(router.matcher.features_from(values)), label, inside) for values, label, inside in rows]
    offer, match = thresholds(scored)
    return {
        "weights": {name: round(weight, DIGITS) for name, weight in zip(names, weights, strict=True)},
        "bias": round(bias, DIGITS),
        "offer": offer,
        "match": match,
        "fitted_on": sorted(path.name for path in fitting_sets()),
        "questions": len(rows),
        "background": {"inside_count": words.inside_count, "outside_count": words.outside_count,
                       "inside": _frequent(words.inside), "outside": _frequent(words.outside)},
    }


def _frequent(counts: dict[str, int]) -> dict[str, int]:
    """Counts of the words and pairs seen at least twice (a pair seen once says nothing a new question can use)."""
    return {gram: count for gram, count in sorted(counts.items()) if count >= 2 or " " not in gram}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if knowledge/fitted.json is not a fresh fit")
    args = parser.parse_args()
    fitted = fit(Router.load())
    target = default_directory() / FITTED_NAME
    text = json.dumps(fitted, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is not what the labelled sets fit; run python bench/fit_matcher.py", file=sys.stderr)
            return 1
        print("fitted.json is current")
        return 0
    target.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
