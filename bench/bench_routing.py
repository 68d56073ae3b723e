"""Routing benchmark: the matcher on the real table, and side by side with plain scans on large synthetic tables.

    python bench/bench_routing.py [--quick]

Figures are compared within one run (ratios), because these machines are noisy. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import statistics
import string
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.knowledge import default_directory
from bot.core.matching import Entry, Matcher, OfficeWords
from bot.core.router import Router, fitted_for
from bot.evaluation import Score, evaluate, fitting_sets, load_queries, unseen_sets


def percentiles(samples_ms: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p99_index = min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))
    return statistics.median(ordered), ordered[p99_index]


def timed(function: Callable[[str], object], inputs: Sequence[str], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for text in inputs:
            start = time.perf_counter_ns()
            function(text)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def keystrokes(queries: Sequence[str]) -> list[str]:
    """Every prefix a person types on the way to each query (up to 20 characters), as autocomplete sees them."""
    return [query[:end] for query in queries for end in range(1, min(len(query), 20) + 1)]


# --- synthetic tables ---------------------------------------------------------------------------------------------

def synthetic_table(alias_count: int, seed: int = 7) -> tuple[list[Entry], list[str], list[str]]:
    """Topics of 10 aliases each, made of 2-3 pseudo-words from a shared vocabulary, plus queries with one typo
    (and the true topic of each), like people's misspellings of real aliases."""
    rng = random.Random(seed)
    vocabulary_size = max(2_000, alias_count // 5)
    vocabulary = sorted({   # sorted: a set's order changes with the process's hash seed, and so would the table
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9))) for _ in range(vocabulary_size)
    })
    entries, alias_topic = [], {}
    for number in range(alias_count // 10):
        names = []
        while len(names) < 10:
            alias = " ".join(rng.sample(vocabulary, rng.randint(2, 3)))
            if alias not in alias_topic:
                alias_topic[alias] = f"t{number}"
                names.append(alias)
        entries.append(Entry(f"t{number}", f"h{number % 50}", tuple(names)))
    aliases = list(alias_topic)
    queries, truth = [], []
    for alias in rng.sample(aliases, 400):
        words = alias.split()
        index = rng.randrange(len(words))
        word = words[index]
        position = rng.randrange(len(word))
        words[index] = word[:position] + rng.choice(string.ascii_lowercase) + word[position + 1:]
        queries.append(" ".join(words))
        truth.append(alias_topic[alias])
    return entries, queries, truth


def compare_on_synthetic(alias_count: int, query_count: int, difflib_count: int) -> dict:
    entries, queries, truth = synthetic_table(alias_count)
    queries, truth = queries[:query_count], truth[:query_count]
    build_start = time.perf_counter()
    # The decision fitted on the real table, without its words model: that knows the real offices, not these.
    matcher = Matcher(entries, fitted=replace(fitted_for(default_directory()), words=OfficeWords(), blend=0.0))
    build_s = time.perf_counter() - build_start
    aliases = [name for entry in entries for name in entry.names]
    alias_topic = {name: entry.id for entry in entries for name in entry.names}

    def ours(query: str) -> str | None:
        best = matcher.resolve(query).best
        return best.topic if best else None

    def extract_one(query: str) -> str | None:
        found = process.extractOne(query, aliases, scorer=fuzz.WRatio)
        return alias_topic[found[0]] if found else None

    def close_matches(query: str) -> str | None:
        found = difflib.get_close_matches(query, aliases, n=1)
        return alias_topic[found[0]] if found else None

    result = {"aliases": len(aliases), "build_s": round(build_s, 2)}
    # Interleaved, query by query, so that both see the same machine load.
    ours_ms, scan_ms, ours_right, scan_right = [], [], 0, 0
    for query, topic in zip(queries, truth, strict=True):
        start = time.perf_counter_ns()
        ours_right += ours(query) == topic
        ours_ms.append((time.perf_counter_ns() - start) / 1e6)
        start = time.perf_counter_ns()
        scan_right += extract_one(query) == topic
        scan_ms.append((time.perf_counter_ns() - start) / 1e6)
    diff_ms, diff_right = [], 0
    for query, topic in list(zip(queries, truth, strict=True))[:difflib_count]:
        start = time.perf_counter_ns()
        diff_right += close_matches(query) == topic
        diff_ms.append((time.perf_counter_ns() - start) / 1e6)
    result.update({
        "resolve_p50_ms": round(percentiles(ours_ms)[0], 3),
        "resolve_p99_ms": round(percentiles(ours_ms)[1], 3),
        "resolve_mean_ms": round(statistics.fmean(ours_ms), 3),
        "extractone_mean_ms": round(statistics.fmean(scan_ms), 3),
        "difflib_mean_ms": round(statistics.fmean(diff_ms), 1) if diff_ms else None,
        "ratio_resolve_vs_extractone": round(statistics.fmean(ours_ms) / statistics.fmean(scan_ms), 3),
        "accuracy_resolve": round(ours_right / len(queries), 3),
        "accuracy_extractone": round(scan_right / len(queries), 3),
        "accuracy_difflib": round(diff_right / len(diff_ms), 3) if diff_ms else None,
        "queries": len(queries),
    })
    return result


def line(score: Score) -> str:
    return (f"top-1 {score.top1_rate:.3f}  rejection {score.rejection_rate:.3f}  "
            f"({score.in_scope} in scope, {score.out_of_scope} out)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and queries; under a minute")
    args = parser.parse_args()
    rounds = 3 if args.quick else 20

    router = Router.load()
    dev = [query for path in fitting_sets() for query in load_queries(path)]
    texts = [query for query, _ in dev]
    for text in texts:  # warm caches once so the figures are steady-state, as in a running bot
        router.resolve(text)
    resolve_p50, resolve_p99 = percentiles(timed(router.resolve, texts, rounds))
    suggest_p50, suggest_p99 = percentiles(timed(router.suggest, keystrokes(texts), max(1, rounds // 3)))
    dev_score = evaluate(router, dev)
    print(f"real table: {len(router.knowledge.topics)} topics, "
          f"{sum(len(t.aliases) for t in router.knowledge.topics.values())} aliases")
    print(f"  resolve  p50 {resolve_p50:.3f} ms  p99 {resolve_p99:.3f} ms  ({len(texts)} queries x {rounds})")
    print(f"  suggest  p50 {suggest_p50:.3f} ms  p99 {suggest_p99:.3f} ms  (every prefix of each query)")
    print("  sets fitted and tuned on (their figures flatter the matcher):")
    print(f"    all           {line(dev_score)}")
    print("  sets never fitted or tuned on (the honest figures):")
    unseen: dict[str, dict[str, float]] = {}
    for path in unseen_sets():
        for lang in ("en", "es", None):
            queries = load_queries(path, lang)
            if queries:
                score = evaluate(router, queries)
                print(f"    {path.stem:22} {lang or 'all':3} {line(score)}")
                unseen[f"{path.stem}/{lang or 'all'}"] = {"top1": round(score.top1_rate, 4),
                                                          "rejection": round(score.rejection_rate, 4)}

    synthetic = {}
    for alias_count in (10_000, 100_000):
        synthetic[alias_count] = figures = compare_on_synthetic(
            alias_count, query_count=100 if args.quick else 400, difflib_count=3 if args.quick else 10
        )
        print(f"synthetic {alias_count:,} aliases (index built in {figures['build_s']} s):")
        print(f"  ours        mean {figures['resolve_mean_ms']:.3f} ms  p99 {figures['resolve_p99_ms']:.3f} ms  "
              f"accuracy {figures['accuracy_resolve']:.3f}")
        print(f"  extractOne  mean {figures['extractone_mean_ms']:.3f} ms  "
              f"accuracy {figures['accuracy_extractone']:.3f}   "
              f"ratio ours/extractOne {figures['ratio_resolve_vs_extractone']:.3f}")
        print(f"  difflib     mean {figures['difflib_mean_ms']} ms  accuracy {figures['accuracy_difflib']} "
              f"(first {3 if args.quick else 10} queries)")

    print(json.dumps({
        "resolve_p50_ms": round(resolve_p50, 4),
        "resolve_p99_ms": round(resolve_p99, 4),
        "suggest_p50_ms": round(suggest_p50, 4),
        "suggest_p99_ms": round(suggest_p99, 4),
        "fitted_sets_top1": round(dev_score.top1_rate, 4),
        "fitted_sets_rejection": round(dev_score.rejection_rate, 4),
        "unseen": unseen,
        "ratio_resolve_vs_extractone_10k": synthetic[10_000]["ratio_resolve_vs_extractone"],
        "ratio_resolve_vs_extractone_100k": synthetic[100_000]["ratio_resolve_vs_extractone"],
        "accuracy_resolve_100k": synthetic[100_000]["accuracy_resolve"],
        "accuracy_extractone_100k": synthetic[100_000]["accuracy_extractone"],
    }))


if __name__ == "__main__":
    main()
