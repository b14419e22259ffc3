"""Topic detection quality on the corpus's held-out split; prints micro and per-topic figures.

    python bench/topic_quality.py [--corpus DIR] [--min-score 0.4]

The detector is built, as ``repwatch score`` builds it, from the built-in taxonomy and the
corpus lines outside the held-out split (``sentiment.train.is_held_out``, the split the
sentiment model is measured on); it is then run on the held-out lines and its topics are
compared with their labels. Also prints the figures of the keyword cues alone, and how
long building the detector takes (median of three builds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentiment.taxonomy import BUILTIN_TOPICS  # noqa: E402
from sentiment.topics import (  # noqa: E402
    CORPUS_DIR,
    DEFAULT_MIN_SCORE,
    TopicDetector,
    read_topic_corpus,
)
from sentiment.train import is_held_out  # noqa: E402


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _evaluate(found: list[set[str]], gold: list[frozenset[str]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for predicted, expected in zip(found, gold, strict=True):
        for key in predicted | expected:
            c = counts.setdefault(key, Counter())
            c[
                "tp" if key in predicted and key in expected else "fp" if key in predicted else "fn"
            ] += 1
    return counts


def _report(title: str, counts: dict[str, Counter[str]], per_topic: bool) -> None:
    total = Counter[str]()
    for c in counts.values():
        total.update(c)
    p, r, f = _prf(total["tp"], total["fp"], total["fn"])
    print(f"{title}: micro precision {p:.3f}, recall {r:.3f}, F1 {f:.3f}")
    if per_topic:
        print(f"  {'topic':20} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
        for key in sorted(counts):
            c = counts[key]
            p, r, f = _prf(c["tp"], c["fp"], c["fn"])
            print(f"  {key:20} {p:6.3f} {r:6.3f} {f:6.3f} {c['tp'] + c['fn']:5d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE)
    args = parser.parse_args()

    corpus = read_topic_corpus(args.corpus)
    train = [line for line in corpus if not is_held_out(line.text)]
    test = [line for line in corpus if is_held_out(line.text)]
    print(f"corpus: {len(corpus)} lines, {len(train)} to build on, {len(test)} held out")

    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        detector = TopicDetector(BUILTIN_TOPICS, train, min_score=args.min_score)
        seconds.append(time.perf_counter() - start)
    print(f"build: median {statistics.median(seconds):.2f} s")

    texts = [line.text for line in test]
    gold = [line.topics for line in test]
    found = [set(row) for row in detector.detect(texts)]
    _report("detector", _evaluate(found, gold), per_topic=True)
    cues_only = TopicDetector(BUILTIN_TOPICS, (), min_score=args.min_score)
    cue_found = [set(row) for row in cues_only.detect(texts)]
    _report("keyword cues and taxonomy examples only", _evaluate(cue_found, gold), per_topic=False)
    by_lang: dict[str, list[int]] = {}
    for i, line in enumerate(test):
        by_lang.setdefault(line.lang or "?", []).append(i)
    for lang, rows in sorted(by_lang.items()):
        counts = _evaluate([found[i] for i in rows], [gold[i] for i in rows])
        _report(f"  {lang} ({len(rows)} lines)", counts, per_topic=False)


if __name__ == "__main__":
    main()
