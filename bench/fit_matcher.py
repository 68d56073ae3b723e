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
from dataclasses import astuple, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.knowledge import default_directory
from bot.core.matching import FITTED_NAME, OUTSIDE, Features, Fitted, OfficeWords, content_words
from bot.core.router import Router
from bot.core.text import normalise
from bot.evaluation import fitting_sets, load_queries, training_sets

# Out-of-scope questions refused on the labelled sets, each weighed as if new. Their look-alikes are harder than most
# (the training sets hold pairs written to split), so 0.85 there measured 0.93-0.97 on the first-contact sets.
REJECTION_TARGET = 0.85
MATCH_PRECISION = 0.97   # answered without asking: right at least this often on the fitting sets
L2 = 0.01                # ridge penalty: keeps weights sensible where two features say the same
DIGITS = 3
SMOOTHINGS = (0.03, 0.1, 0.3)          # the words model's add-k smoothing, chosen from these by the fit
BLENDS = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8)  # the words model's share of a candidate's score, likewise


def labelled() -> list[tuple[str, frozenset[str]]]:
    return [item for path in (*fitting_sets(), *training_sets()) for item in load_queries(path)]


def label(accept: frozenset[str]) -> dict[str, float]:
    """A question's class weights: its offices shared equally, or OUTSIDE when no office handles it."""
    return {office: 1 / len(accept) for office in accept} if accept else {OUTSIDE: 1.0}


def office_words(router: Router, questions: list[tuple[str, frozenset[str]]], smoothing: float) -> OfficeWords:
    """The words model counted from the table's names (each topic's for its office, each office's own), the labelled
    questions, and the table's out-of-scope look-alikes."""
    knowledge = router.knowledge
    texts = [(name, {topic.handler: 1.0}) for topic in knowledge.topics.values()
             for name in (topic.title, *topic.aliases, *topic.keywords, *topic.signals)]
    texts += [(name, {agency.id: 1.0}) for agency in knowledge.agencies.values()
              for name in (agency.name, agency.short, agency.es_name, *agency.aliases) if name]
    texts += [(query, label(accept)) for query, accept in questions]
    texts += [(query, {OUTSIDE: 1.0}) for query in knowledge.out_of_scope]
    return OfficeWords.count(texts, smoothing)


Questions = list[tuple[str, frozenset[str]]]


def weighed(router: Router, questions: Questions, blend: float) -> list[tuple[Features, int, bool]]:
    """(features, 1 if the best candidate's office is accepted, whether the question is in scope) per question that
    the ranker decides (exact names and greetings are answered before any weighing). Each question is weighed by a
    words model without its own counts, as if it were new."""
    matcher = router.matcher
    rows = []
    for query, accept in questions:
        key = normalise(query)
        if not content_words(key) or matcher._exact_match(key) is not None:
            continue
        ranked, offices = matcher.weigh(key, own=label(accept), blend=blend)
        if not ranked:
            continue
        right = int(bool(accept) and matcher.entries[ranked[0].topic].handler in accept)
        rows.append((matcher.features(key, ranked, offices), right, bool(accept)))
    return rows


def choose_words(router: Router, questions: list[tuple[str, frozenset[str]]]) -> tuple[OfficeWords, float]:
    """The words model's smoothing and its share of a candidate's score: those that put the right office first for
    the most training questions in scope (each weighed as if new). Only the training sets judge: the table's names
    were written with the fitting sets in view, so on those the ranker looks better than on new questions."""
    in_scope = [item for path in training_sets() for item in load_queries(path) if item[1]]
    best: tuple[float, float, float] | None = None
    models = {}
    for smoothing in SMOOTHINGS:
        models[smoothing] = words = office_words(router, questions, smoothing)
        router.matcher.fitted = replace(router.matcher.fitted, words=words)
        for blend in BLENDS:
            right = sum(row[1] for row in weighed(router, in_scope, blend))
            if best is None or right > best[0]:
                best = (right, smoothing, blend)
    assert best is not None
    return models[best[1]], best[2]


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
    words, blend = choose_words(router, questions)
    router.matcher.fitted = replace(router.matcher.fitted, words=words, blend=blend)
    rows = [(list(astuple(features)), right, inside) for features, right, inside in weighed(router, questions, blend)]
    weights, bias = fit_logistic(rows)
    names = Fitted.feature_names()
    model = Fitted(dict(zip(names, weights, strict=True)), bias, 1.0, 0.0)
    scored = [(model.confidence(Features(*values)), right, inside) for values, right, inside in rows]
    offer, match = thresholds(scored)
    return {
        "weights": {name: round(weight, DIGITS) for name, weight in zip(names, weights, strict=True)},
        "bias": round(bias, DIGITS),
        "offer": offer,
        "match": match,
        "blend": blend,
        "fitted_on": sorted(path.name for path in (*fitting_sets(), *training_sets())),
        "questions": len(rows),
        "words": words.to_json(),
    }


def as_text(fitted: dict) -> str:
    """fitted.json with one line a word, so that a refit's diff shows which words moved."""
    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    words = fitted["words"]
    head = {key: value for key, value in fitted.items() if key != "words"}
    lines = json.dumps(head, indent=1, ensure_ascii=False)[:-2].splitlines()
    lines[-1] += ","
    lines += [' "words": {', f'  "smoothing": {words["smoothing"]},', f'  "documents": {compact(words["documents"])},',
              '  "counts": {']
    rows = [f"   {compact(gram)}: {compact(row)}" for gram, row in words["counts"].items()]
    lines += [",\n".join(rows)]
    lines += ["  }", " }", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if knowledge/fitted.json is not a fresh fit")
    args = parser.parse_args()
    fitted = fit(Router.load())
    target = default_directory() / FITTED_NAME
    text = as_text(fitted)
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
