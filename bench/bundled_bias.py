"""How the bundled model's negative bias was chosen: on corpus lines it was not trained on.

    python bench/bundled_bias.py [--dev PATH.jsonl]

Trains the bundled model (``sentiment.train.fit``, default settings but no bias) on the
corpus without the ``*-sectors.jsonl`` files, then scores those files (the validation
split: review sentences and social posts from other sectors, written separately) with a
range of values added to the negative logit. Per bias: mean macro-F1, then per language
macro-F1 / negative recall / negative precision. The shipped bias is the largest one that
keeps negative precision >= 0.75 in every validation language (a missed complaint costs
more than a false alarm, up to that point). ``--dev`` adds the same table for a labelled
JSONL file, for information only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sentiment.bundled import load_bundled, save_model
from sentiment.corpus_io import CORPUS_DIR, LabelledText, read_corpus
from sentiment.labels import SENTIMENTS
from sentiment.train import TrainParams, fit, quality

BIASES = (0.0, 0.25, 0.5, 0.75, 1.0)
PRECISION_FLOOR = 0.75
VALIDATION = "*-sectors.jsonl"


def table(name: str, scorer: object, rows: Sequence[LabelledText]) -> dict[float, float]:
    """Print one line per bias; return the lowest negative precision per bias."""
    probs = scorer.probabilities([r.text for r in rows], [r.lang for r in rows])  # type: ignore[attr-defined]
    logp = np.log(np.clip(probs, 1e-12, None))
    floor = {}
    for bias in BIASES:
        shifted = logp.copy()
        shifted[:, SENTIMENTS.index("negative")] += bias
        predicted = [SENTIMENTS[i] for i in shifted.argmax(axis=1)]
        by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row, label in zip(rows, predicted, strict=True):
            by_lang[row.lang].append((row.label, label))
        scores = {
            lang: quality([g for g, _ in pairs], [p for _, p in pairs])
            for lang, pairs in sorted(by_lang.items())
        }
        floor[bias] = min(q.neg_precision for q in scores.values())
        mean = sum(q.macro_f1 for q in scores.values()) / len(scores)
        cells = " ".join(
            f"{lang} {q.macro_f1:.2f}/{q.neg_recall:.2f}/{q.neg_precision:.2f}"
            for lang, q in scores.items()
        )
        print(f"{name} bias {bias:4.2f}: mean macro-F1 {mean:.3f} | {cells}")
    return floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, help="also score this labelled JSONL file")
    args = parser.parse_args()
    validation_files = sorted(CORPUS_DIR.glob(VALIDATION))
    validation = [e for f in validation_files for e in read_corpus(f.parent, pattern=f.name)]
    held = {(e.lang, e.text) for e in validation}
    train = [e for e in read_corpus() if (e.lang, e.text) not in held]
    params = dataclasses.replace(TrainParams(), negative_bias=0.0)
    print(f"training on {len(train)} corpus lines, validating on {len(validation)} "
          f"({', '.join(f.name for f in validation_files)})")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        save_model(Path(tmp), *fit(train, params=params))
        scorer = load_bundled(Path(tmp))
        print("cells: macro-F1 / negative recall / negative precision")
        floor = table("validation", scorer, validation)
        chosen = max([b for b in BIASES if floor[b] >= PRECISION_FLOOR], default=0.0)
        print(f"largest bias with negative precision >= {PRECISION_FLOOR} in every language: "
              f"{chosen} (shipped: {TrainParams().negative_bias})")  # fmt: skip
        if args.dev:
            rows = [json.loads(line) for line in args.dev.read_text("utf-8").splitlines() if line]
            dev = [LabelledText(lang=r["lang"], text=r["text"], label=r["label"]) for r in rows]
            table("dev", scorer, dev)


if __name__ == "__main__":
    main()
