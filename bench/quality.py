"""How well a sentiment model does on a labelled JSONL file, per language, against targets.

    python bench/quality.py PATH.jsonl [--model ID_OR_PATH] [--model-dir DIR] [--aspects]
    python bench/quality.py PATH.jsonl --predictions PREDICTIONS.jsonl

Each line of PATH.jsonl is ``{"lang", "text", "label"}`` (label negative/neutral/positive),
optionally with ``id`` and ``aspects`` (``[{"category", "polarity"}]``). The texts are scored
by ``--model`` (``bundled``, a Hugging Face id or a directory, loaded with
``sentiment.load.load_scorer``; by default ``bundled``, the offline model repwatch uses out
of the box), or the labels are read from
``--predictions``, a JSONL file of ``{"id", "label"}`` made outside repwatch.

Prints a Markdown table per language and over all: n, accuracy, macro-F1 (the mean F1 of
the classes that occur in the labels or predictions), negative recall and precision, and
PASS/FAIL against the targets (negative recall >= 0.90 with negative precision >= 0.75,
macro-F1 >= 0.80, in every language). ``--aspects`` adds how many aspect annotations of
each category there are, by polarity (topic scoring is not built yet). ``--check`` exits
with 1 when a language misses a target. A file that cannot be used is one line on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repwatch.config import DEFAULT_MODEL
from repwatch.errors import RepwatchError
from sentiment.labels import SENTIMENTS
from sentiment.train import quality

NEG_RECALL_TARGET = 0.90
NEG_PRECISION_TARGET = 0.75
MACRO_F1_TARGET = 0.80
LABELS = ", ".join(SENTIMENTS[:-1]) + f" or {SENTIMENTS[-1]}"


class BenchInputError(RepwatchError):
    """A data or predictions file that cannot be used."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text."""

    id: str
    lang: str
    text: str
    label: str
    aspects: tuple[tuple[str, str], ...]  # (category, polarity)


@dataclass(frozen=True, slots=True)
class Metrics:
    """How predictions compare with the labels of one group of examples."""

    n: int
    accuracy: float
    macro_f1: float
    neg_recall: float | None  # None: no negative labels
    neg_precision: float | None  # None: nothing predicted negative

    def misses(self) -> list[str]:
        """The targets this group misses (a metric that cannot be computed misses)."""
        checks = (
            ("negative recall", self.neg_recall, NEG_RECALL_TARGET),
            ("negative precision", self.neg_precision, NEG_PRECISION_TARGET),
            ("macro-F1", self.macro_f1, MACRO_F1_TARGET),
        )
        return [name for name, value, target in checks if value is None or value < target]


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BenchInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise BenchInputError(f"{path}:{number}: not valid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise BenchInputError(f"{path}:{number}: not a JSON object")
        yield number, row


def _label(path: Path, number: int, value: Any) -> str:
    if value not in SENTIMENTS:
        raise BenchInputError(f"{path}:{number}: label {value!r} is not {LABELS}")
    return str(value)


def read_examples(path: Path) -> list[Example]:
    """The labelled examples in ``path``; ``BenchInputError`` names the first bad line."""
    examples: list[Example] = []
    for number, row in _json_lines(path):
        missing = [k for k in ("lang", "text", "label") if not isinstance(row.get(k), str)]
        if missing:
            raise BenchInputError(
                f"{path}:{number}: no {', '.join(missing)}; every line needs the strings "
                "lang, text and label"
            )
        aspects = tuple(
            (str(a.get("category")), str(a.get("polarity")))
            for a in row.get("aspects") or ()
            if isinstance(a, dict)
        )
        examples.append(
            Example(
                id=str(row.get("id", f"line {number}")),
                lang=row["lang"],
                text=row["text"],
                label=_label(path, number, row["label"]),
                aspects=aspects,
            )
        )
    if not examples:
        raise BenchInputError(f"{path}: no examples in it")
    return examples


def read_predictions(path: Path, examples: Sequence[Example]) -> list[str]:
    """The predicted label of each example, in order, from a JSONL file of id and label."""
    by_id: dict[str, str] = {}
    for number, row in _json_lines(path):
        if "id" not in row:
            raise BenchInputError(f'{path}:{number}: no id; every line needs "id" and "label"')
        by_id[str(row["id"])] = _label(path, number, row.get("label"))
    missing = [e.id for e in examples if e.id not in by_id]
    if missing:
        raise BenchInputError(
            f"{path}: no prediction for {len(missing)} of {len(examples)} examples "
            f"(first: {missing[0]!r})"
        )
    return [by_id[e.id] for e in examples]


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> Metrics:
    """Accuracy, macro-F1 and negative recall/precision of ``predicted`` against ``gold``.

    The figures are ``sentiment.train.quality``'s (what ``repwatch models train`` reports);
    here a negative recall or precision that has no denominator is ``None``, a miss.
    """
    q = quality(gold, predicted)
    return Metrics(
        n=q.n,
        accuracy=q.accuracy,
        macro_f1=q.macro_f1,
        neg_recall=q.neg_recall if "negative" in gold else None,
        neg_precision=q.neg_precision if "negative" in predicted else None,
    )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def quality_table(examples: Sequence[Example], predicted: Sequence[str]) -> tuple[str, list[str]]:
    """The Markdown table, and the languages that miss a target."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        groups[example.lang].append(i)
    lines = [
        "| lang | n | accuracy | macro-F1 | neg recall | neg precision | targets |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    failing = []
    rows = [(lang, groups[lang]) for lang in sorted(groups)]
    rows.append(("all", list(range(len(examples)))))
    for name, indexes in rows:
        m = metrics([examples[i].label for i in indexes], [predicted[i] for i in indexes])
        misses = m.misses()
        if misses and name != "all":
            failing.append(name)
        verdict = f"FAIL ({', '.join(misses)})" if misses else "PASS"
        lines.append(
            f"| {name} | {m.n} | {m.accuracy:.3f} | {m.macro_f1:.3f} | {_cell(m.neg_recall)} "
            f"| {_cell(m.neg_precision)} | {verdict} |"
        )
    return "\n".join(lines), failing


def aspect_table(examples: Sequence[Example]) -> str:
    """How many aspect annotations there are per language and category, by polarity."""
    counts: Counter[tuple[str, str, str]] = Counter(
        (e.lang, category, polarity) for e in examples for category, polarity in e.aspects
    )
    keys = sorted({(lang, category) for lang, category, _ in counts})
    lines = [
        "| lang | aspect category | n | negative | neutral | positive |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for lang, category in keys:
        by = [counts[(lang, category, s)] for s in SENTIMENTS]
        n = sum(v for (la, ca, _), v in counts.items() if (la, ca) == (lang, category))
        lines.append(f"| {lang} | {category} | {n} | {by[0]} | {by[1]} | {by[2]} |")
    if not keys:
        lines.append("| - | (no aspect annotations) | 0 | 0 | 0 | 0 |")
    return "\n".join(lines)


def predict_with_model(args: argparse.Namespace, examples: Sequence[Example]) -> list[str]:
    from sentiment.load import load_scorer  # torch: only when a hub model is asked for

    scorer = load_scorer(
        args.model,
        model_dir=Path(args.model_dir),
        revision=args.revision,
        batch_size=args.batch_size,
    )
    start = time.perf_counter()
    texts, languages = [e.text for e in examples], [e.lang for e in examples]
    labels: list[str] = [p.label for p in scorer.predict(texts, languages)]
    seconds = time.perf_counter() - start
    print(f"model {scorer.model_name} (revision {scorer.revision}): {len(examples)} texts "
          f"in {seconds:.1f}s ({len(examples) / seconds:.0f}/s)")  # fmt: skip
    return labels


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="labelled JSONL: lang, text, label")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model", default=DEFAULT_MODEL, help='"bundled" (default), a model id or directory'
    )
    source.add_argument("--predictions", type=Path, help="JSONL of id and predicted label")
    parser.add_argument("--model-dir", default="models", help="where pulled models live")
    parser.add_argument("--revision", help="Hub revision of --model")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per model batch")
    parser.add_argument("--aspects", action="store_true", help="also count aspect categories")
    parser.add_argument("--check", action="store_true", help="exit 1 if a language fails")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        examples = read_examples(args.data)
        if args.predictions is not None:
            predicted = read_predictions(args.predictions, examples)
            print(f"predictions {args.predictions}: {len(examples)} texts")
        else:
            predicted = predict_with_model(args, examples)
    except RepwatchError as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    table, failing = quality_table(examples, predicted)
    print(table)
    print(
        f"targets in every language: negative recall >= {NEG_RECALL_TARGET:.2f}, negative "
        f"precision >= {NEG_PRECISION_TARGET:.2f}, macro-F1 >= {MACRO_F1_TARGET:.2f}: "
        + (f"FAIL in {', '.join(failing)}" if failing else "PASS")
    )
    if args.aspects:
        print()
        print(aspect_table(examples))
    return 1 if args.check and failing else 0


if __name__ == "__main__":
    sys.exit(main())
