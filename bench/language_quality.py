"""How often the language detector finds the right language, per language, and how fast.

    python bench/language_quality.py PATH.jsonl [--languages en,fr,sv,ru,de,es]
                                     [--min-confidence 0.5] [--repeat 5]

Reads any JSONL file whose lines have ``lang`` and ``text``, detects every text with
``sentiment.language.LanguageDetector`` (restricted to ``--languages``) and prints a
Markdown table per language: n, accuracy (right language), unknown (too short or
ambiguous) and wrong (another language), then the languages the wrong ones went to.
Then the median time of ``--repeat`` runs over all texts (texts/s, after the models are
loaded), the time to load the models, and the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import timeit
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from sentiment.language import DEFAULT_LANGUAGES, UNKNOWN, LanguageDetector


def read_texts(path: Path) -> list[tuple[str, str]]:
    """(lang, text) of every line of ``path``; ``ValueError`` names the first bad line."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc})") from None
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), str) for k in ("lang", "text")
        ):
            raise ValueError(f"{path}:{number}: every line needs the strings lang and text")
        pairs.append((row["lang"], row["text"]))
    if not pairs:
        raise ValueError(f"{path}: no texts in it")
    return pairs


def report(pairs: Sequence[tuple[str, str]], found: Sequence[str]) -> str:
    """The per-language table and where the wrong detections went."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for (lang, _), detected in zip(pairs, found, strict=True):
        groups[lang][detected] += 1
    lines = [
        "| lang | n | accuracy | unknown | wrong |",
        "|---|---:|---:|---:|---:|",
    ]
    confusions = []
    totals = Counter[str]()
    for lang in sorted(groups):
        got = groups[lang]
        n = sum(got.values())
        right, unknown = got[lang], got[UNKNOWN]
        totals.update(n=n, right=right, unknown=unknown)
        lines.append(f"| {lang} | {n} | {right / n:.3f} | {unknown} | {n - right - unknown} |")
        wrong = [(other, k) for other, k in got.most_common() if other not in (lang, UNKNOWN)]
        confusions += [f"{lang}->{other}: {k}" for other, k in wrong]
    n, right, unknown = totals["n"], totals["right"], totals["unknown"]
    lines.append(f"| all | {n} | {right / n:.3f} | {unknown} | {n - right - unknown} |")
    lines.append("")
    lines.append("wrong: " + (", ".join(confusions) or "none"))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="JSONL with lang and text")
    parser.add_argument("--languages", default=",".join(DEFAULT_LANGUAGES))
    parser.add_argument("--min-confidence", type=float, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    try:
        pairs = read_texts(args.data)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = {} if args.min_confidence is None else {"min_confidence": args.min_confidence}
    start = time.perf_counter()
    detector = LanguageDetector(args.languages.split(","), preload=True, **options)
    loading = time.perf_counter() - start
    texts = [text for _, text in pairs]
    found = [d.language for d in detector.detect_many(texts)]
    print(f"{detector!r}")
    print(report(pairs, found))
    seconds = statistics.median(
        timeit.repeat(lambda: detector.detect_many(texts), number=1, repeat=args.repeat)
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"detect {len(texts)} texts: median {seconds:.3f}s, {len(texts) / seconds:.0f}/s; "
        f"models loaded in {loading:.1f}s; peak RSS {rss:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
