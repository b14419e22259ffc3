"""Polarity lexicons: the words, stems and phrases that carry sentiment, per language.

The bundled classifier learns n-grams from ~5,000 corpus lines, which cannot hold every
word customers use. Hand-written lexicons (``sentiment/lexicon/<lang>.tsv``, plus
``emoji.tsv`` for every language) add what a small corpus misses: ``disappoint*`` covers
every form of the word, ``не`` + ``рекомендую`` is a negated positive. ``PolarityFeatures``
turns a text into a few dense numbers (how much positive and negative wording, plain,
negated, intensified or after a "but") that the classifier weighs beside the n-grams.

We write our own matcher because the lexicon libraries on PyPI (VADER, AFINN, TextBlob's
French and German lexicons) are each one or two languages with their own formats and
rules; one format and one negation rule for six languages keeps the features comparable.

A lexicon line is ``term<TAB>value``: ``term`` is a word, a stem ending in ``*`` or a
phrase of words (only its last word may be a stem); ``value`` is a polarity from -3 to 3 or
``negator``, ``intensifier`` or ``contrast``. Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from repwatch.errors import RepwatchError

LEXICON_DIR = Path(__file__).with_name("lexicon")
EMOJI = "emoji"  # the lexicon every language uses
KINDS = ("negator", "intensifier", "contrast")
NEGATION_SCOPE = 3  # words after a negator that it flips
POST_NEGATION = {"de": 2, "sv": 2}  # languages that negate after the verb: "empfehle nicht"
MIN_STEM = 3
MEMO_SIZE = 200_000  # words whose lookup is remembered, per lexicon

_WORD = re.compile(r"\w+")
_CLAUSE = re.compile(r"[.!?;:,\n()\"“”«»]+")

FEATURES = (
    "positive",
    "negative",
    "negated_positive",
    "negated_negative",
    "intensified_positive",
    "intensified_negative",
    "final_positive",
    "final_negative",
    "no_polarity",
    "question",
    "exclamation",
)


class LexiconError(RepwatchError):
    """A lexicon file has a line that cannot be used."""


Value = int | str  # a polarity, or one of KINDS


@dataclass(slots=True)
class Lexicon:
    """One language's entries, indexed for matching."""

    words: dict[str, Value] = field(default_factory=dict)
    stems: dict[str, Value] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[str, ...], Value]]] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)  # emoji and emoticons
    max_stem: int = 0
    _seen: dict[str, Value | None] = field(default_factory=dict)  # lookup memo, bounded

    def add(self, term: str, value: Value) -> None:
        term = fold(term)
        words = _WORD.findall(term.rstrip("*"))
        if not words:
            self.symbols[term] = int(value)
            return
        stem = term.endswith("*")
        if len(words) == 1:
            if stem:
                self.stems[words[0]] = value
                self.max_stem = max(self.max_stem, len(words[0]))
            else:
                self.words[words[0]] = value
            return
        key = (*words[:-1], words[-1] + ("*" if stem else ""))
        self.phrases.setdefault(words[0], []).append((key, value))
        self.phrases[words[0]].sort(key=lambda p: -len(p[0]))

    def lookup(self, word: str) -> Value | None:
        """The value of one word: exact entry first, then the longest stem it starts with."""
        if word in self._seen:
            return self._seen[word]
        value = self.words.get(word)
        if value is None:
            for n in range(min(len(word), self.max_stem), MIN_STEM - 1, -1):
                value = self.stems.get(word[:n])
                if value is not None:
                    break
        if len(self._seen) >= MEMO_SIZE:  # memory stays flat however many texts are scored
            self._seen.clear()
        self._seen[word] = value
        return value

    def match(self, words: Sequence[str], i: int) -> tuple[Value | None, int]:
        """The entry starting at ``words[i]`` (longest phrase first) and how many words."""
        for phrase, value in self.phrases.get(words[i], ()):
            n = len(phrase)
            if i + n <= len(words) and all(
                _same(want, got) for want, got in zip(phrase, words[i : i + n], strict=True)
            ):
                return value, n
        return self.lookup(words[i]), 1


def fold(text: str) -> str:
    """Lower case, with Russian "yo" read as "ye" (writers use either)."""
    return text.lower().replace("\u0451", "\u0435")


def _same(want: str, got: str) -> bool:
    return got.startswith(want[:-1]) if want.endswith("*") else got == want


def parse_lexicon(lines: Iterable[str], source: str) -> list[tuple[str, Value]]:
    """The ``(term, value)`` entries of a lexicon file; ``LexiconError`` names a bad line."""
    out: list[tuple[str, Value]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        term, sep, raw = line.rstrip("\n").partition("\t")
        term, raw = term.strip().lower(), raw.strip()
        value: Value
        if raw in KINDS:
            value = raw
        else:
            try:
                value = int(raw)
            except ValueError:
                value = 0
        if not sep or not term or value == 0 or (isinstance(value, int) and abs(value) > 3):
            raise LexiconError(
                f"{source}:{number}: expected 'term<TAB>value' with a value from -3 to 3 "
                f"or one of {', '.join(KINDS)}; got {line.strip()!r}"
            )
        if term in seen:
            raise LexiconError(f"{source}:{number}: {term!r} is already on line {seen[term]}")
        seen[term] = number
        out.append((term, value))
    return out


def read_lexicons(directory: Path = LEXICON_DIR) -> dict[str, list[tuple[str, Value]]]:
    """Every ``<name>.tsv`` in ``directory`` as ``{name: entries}``, sorted for reproducibility."""
    files = sorted(directory.glob("*.tsv"))
    if not files:
        raise LexiconError(f"No lexicons in {directory} (expected <lang>.tsv files).")
    return {
        f.stem: sorted(parse_lexicon(f.read_text(encoding="utf-8").splitlines(), str(f)))
        for f in files
    }


class PolarityFeatures:
    """Dense polarity features of texts, from per-language lexicons plus the emoji lexicon."""

    def __init__(self, entries: Mapping[str, Sequence[tuple[str, Value]]]) -> None:
        emoji = entries.get(EMOJI, ())
        self._by_lang: dict[str, Lexicon] = {}
        merged = Lexicon()
        for lang, items in sorted(entries.items()):
            if lang == EMOJI:
                continue
            lexicon = Lexicon()
            for term, value in (*items, *emoji):
                lexicon.add(term, value)
            for term, value in items:
                merged.add(term, value)
            self._by_lang[lang] = lexicon
        for term, value in emoji:
            merged.add(term, value)
        self._merged = merged  # for texts whose language has no lexicon
        symbols = sorted(merged.symbols, key=lambda s: (-len(s), s))
        self._symbols = re.compile("|".join(re.escape(s) for s in symbols)) if symbols else None

    def transform(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[list[float]]:
        """One row of ``len(FEATURES)`` numbers per text."""
        langs = languages if languages is not None else [None] * len(texts)
        return [self._row(t, self._by_lang.get(lang or "", self._merged), lang)
                for t, lang in zip(texts, langs, strict=True)]  # fmt: skip

    def _row(self, text: str, lexicon: Lexicon, lang: str | None) -> list[float]:
        sums = dict.fromkeys(FEATURES, 0.0)
        folded = fold(text)
        if self._symbols is not None:
            for symbol in self._symbols.findall(folded):
                polarity = self._merged.symbols[symbol]
                sums["positive" if polarity > 0 else "negative"] += abs(polarity)
        clauses = [c for c in _CLAUSE.split(folded) if c.strip()]
        after_contrast = False
        post = POST_NEGATION.get(lang or "", 0)
        for clause in clauses:
            words = _WORD.findall(clause)
            hits, has_contrast = _clause_hits(words, lexicon, post)
            for polarity, negated, intensified, contrasted in hits:
                side = "positive" if polarity > 0 else "negative"
                weight = abs(polarity) * (1.5 if intensified else 1.0)
                if negated:
                    sums[f"negated_{side}"] += weight
                else:
                    sums[side] += weight
                    if intensified:
                        sums[f"intensified_{side}"] += weight
                if contrasted or after_contrast:
                    final = ("negative" if polarity > 0 else "positive") if negated else side
                    sums[f"final_{final}"] += weight
            after_contrast = after_contrast or has_contrast
        polar = sum(sums[k] for k in FEATURES[:4])
        sums["no_polarity"] = 1.0 if polar == 0 else 0.0
        sums["question"] = 1.0 if "?" in text else 0.0
        sums["exclamation"] = min(text.count("!"), 3) / 3
        return [math.log1p(sums[k]) if k not in FEATURES[-3:] else sums[k] for k in FEATURES]


def _clause_hits(
    words: Sequence[str], lexicon: Lexicon, post: int
) -> tuple[list[tuple[int, bool, bool, bool]], bool]:
    """(polarity, negated, intensified, after a contrast word) of each polar term, and
    whether the clause has a contrast word."""
    hits: list[tuple[int, bool, bool, bool]] = []
    negated_until = intensified_until = -1
    contrasted = False
    positions: list[int] = []  # word index of each hit, for negation after the verb
    negators: list[int] = []
    i = 0
    while i < len(words):
        value, n = lexicon.match(words, i)
        if value == "negator":
            negated_until = i + n + NEGATION_SCOPE - 1
            negators.append(i)
        elif value == "intensifier":
            intensified_until = i + n
        elif value == "contrast":
            contrasted = True
        elif isinstance(value, int):
            # A phrase that holds its own negation ("не работает", "no funciona") keeps its
            # value after another negator: "ничего не работает" is negative concord.
            own = n > 1 and lexicon.lookup(words[i]) == "negator"
            negated = i <= negated_until and not own
            hits.append((value, negated, i <= intensified_until, contrasted))
            positions.append(i)
        i += n
    if post and negators:
        for k, at in enumerate(positions):
            polarity, negated, intensified, contrast = hits[k]
            if not negated and any(0 < neg - at <= post for neg in negators):
                hits[k] = (polarity, True, intensified, contrast)
    return hits, contrasted
