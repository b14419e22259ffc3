"""Read the project's own labelled training corpus (``sentiment/corpus/<lang>.jsonl``).

Each line is ``{"lang", "text", "label", "topics", "aspects"}`` with label negative, neutral
or positive. The corpus is written by the project (never copied from evaluation data) and
ships with the package, so ``repwatch models train`` can rebuild the bundled model anywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from repwatch.errors import RepwatchError
from sentiment.labels import SENTIMENTS

CORPUS_DIR = Path(__file__).with_name("corpus")


class CorpusError(RepwatchError):
    """The training corpus is missing or has a line that cannot be used."""


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One training example."""

    lang: str
    text: str
    label: str  # negative, neutral or positive
    origin: str = "corpus"  # "corpus" or "correction"


def read_corpus(directory: Path = CORPUS_DIR, pattern: str = "*.jsonl") -> list[LabelledText]:
    """Every example of every ``pattern`` file in ``directory``, files in name order.

    Exact duplicates (same language, text and label) are kept once; a line whose label is
    not a sentiment, or that is not JSON, raises ``CorpusError`` naming file and line.
    """
    files = sorted(directory.glob(pattern))
    if not files:
        raise CorpusError(
            f"No training corpus in {directory} (expected <lang>.jsonl files). "
            "Reinstall repwatch, or pass --corpus DIR."
        )
    seen: set[tuple[str, str, str]] = set()
    out: list[LabelledText] = []
    for path in files:
        for example in _read_file(path):
            key = (example.lang, example.text, example.label)
            if key not in seen:
                seen.add(key)
                out.append(example)
    return out


def _read_file(path: Path) -> Iterable[LabelledText]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise CorpusError(f"{path}:{number}: not valid JSON ({exc})") from None
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or label not in SENTIMENTS:
            raise CorpusError(
                f"{path}:{number}: needs a text and a label of {', '.join(SENTIMENTS)}"
            )
        lang = row.get("lang") if isinstance(row.get("lang"), str) else path.stem
        if text.strip():
            yield LabelledText(lang=lang, text=text.strip(), label=label)


def corpus_digest(examples: Iterable[LabelledText]) -> str:
    """A short hash of the examples, recorded in the model so its training data is known."""
    sha = hashlib.sha256()
    for e in examples:
        sha.update(f"{e.lang}\t{e.label}\t{e.text}\n".encode())
    return sha.hexdigest()[:16]
