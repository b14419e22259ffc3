"""Map a model's output labels to negative / neutral / positive and a score in [-1, 1].

Sentiment models name their outputs in many ways: ``negative``/``positive``,
``NEG``/``NEU``/``POS``, ``LABEL_0``..``LABEL_2``, or star ratings (``1 star``..``5 stars``).
``label_map`` reads
``config.id2label`` once and returns a ``LabelMap`` that turns each row of class
probabilities into a ``Prediction``. It needs no torch, so it is cheap to test exhaustively.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from repwatch.errors import ModelInvalid
from repwatch.records import SentimentLabel

SENTIMENTS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")

_POLARITY: dict[str, SentimentLabel] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
# Generic names carry no meaning of their own; by convention they run from worst to best.
_GENERIC: dict[int, tuple[SentimentLabel, ...]] = {
    2: ("negative", "positive"),
    3: ("negative", "neutral", "positive"),
}
_FIVE_WORDS = {
    "very negative": 1,
    "negative": 2,
    "neutral": 3,
    "positive": 4,
    "very positive": 5,
}
_STARS = re.compile(r"^([1-5])(?: stars?)?$")
_GENERIC_NAME = re.compile(r"^label ?(\d+)$")

EXPECTED = (
    "expected 2 labels (negative/positive), 3 (negative/neutral/positive) "
    "or 5 star ratings ('1 star'..'5 stars')"
)


@dataclass(frozen=True, slots=True)
class Prediction:
    """The sentiment of one text."""

    label: SentimentLabel
    score: float  # -1 (very negative) .. 1 (very positive)
    confidence: float  # probability of ``label``
    probabilities: dict[str, float]  # negative, neutral, positive; sums to 1


def _normalise(label: str) -> str:
    return " ".join(label.lower().replace("_", " ").replace("-", " ").split())


@dataclass(frozen=True, slots=True)
class LabelMap:
    """How one model's output classes combine into negative/neutral/positive.

    Exactly one of ``sentiments`` (polarity models) and ``stars`` (star-rating models)
    is set; each has one entry per model output, in output order.
    """

    sentiments: tuple[SentimentLabel, ...] | None = None
    stars: tuple[int, ...] | None = None

    def predict(self, row: Sequence[float]) -> Prediction:
        """The prediction for one row of class probabilities (in model output order)."""
        total = sum(row) or 1.0
        probs: dict[str, float] = dict.fromkeys(SENTIMENTS, 0.0)
        if self.stars is not None:
            expected = 0.0
            for star, p in zip(self.stars, row, strict=True):
                probs[_star_sentiment(star)] += p / total
                expected += star * p / total
            score = (expected - 3.0) / 2.0  # 1 star -> -1, 3 -> 0, 5 -> 1
        else:
            assert self.sentiments is not None
            for sentiment, p in zip(self.sentiments, row, strict=True):
                probs[sentiment] += p / total
            score = probs["positive"] - probs["negative"]
        label = max(SENTIMENTS, key=lambda s: probs[s])
        return Prediction(
            label=label,
            score=min(1.0, max(-1.0, score)),
            confidence=probs[label],
            probabilities=probs,
        )


def _star_sentiment(star: int) -> SentimentLabel:
    if star <= 2:
        return "negative"
    return "neutral" if star == 3 else "positive"


def _as_polarity(names: list[str]) -> tuple[SentimentLabel, ...] | None:
    generic = [_GENERIC_NAME.match(n) for n in names]
    if all(generic) and len(names) in _GENERIC:
        if sorted(int(m[1]) for m in generic if m) != list(range(len(names))):
            return None
        return tuple(_GENERIC[len(names)][int(m[1])] for m in generic if m)
    mapped = tuple(_POLARITY.get(n) for n in names)
    wanted = set(_GENERIC.get(len(names), ()))
    if None in mapped or set(mapped) != wanted or len(set(mapped)) != len(names):
        return None
    return mapped  # type: ignore[return-value]  # None was ruled out above


def _as_stars(names: list[str]) -> tuple[int, ...] | None:
    stars: list[int] = []
    for name in names:
        match = _STARS.match(name)
        if match:
            stars.append(int(match[1]))
        elif name in _FIVE_WORDS:
            stars.append(_FIVE_WORDS[name])
        else:
            return None
    return tuple(stars) if sorted(stars) == [1, 2, 3, 4, 5] else None


def label_map(model_name: str, id2label: Mapping[int, str] | Mapping[str, str]) -> LabelMap:
    """How ``model_name``'s outputs map to sentiment; ``ModelInvalid`` if they do not.

    ``id2label`` is the model config's mapping from output index to label name.
    """
    by_index = {int(k): str(v) for k, v in id2label.items()}
    raw = [by_index.get(i, "") for i in range(len(by_index))]
    names = [_normalise(n) for n in raw]
    found: LabelMap | None = None
    if len(names) in _GENERIC:
        sentiments = _as_polarity(names)
        found = LabelMap(sentiments=sentiments) if sentiments else None
    elif len(names) == 5:
        stars = _as_stars(names)
        found = LabelMap(stars=stars) if stars else None
    if found is None:
        raise ModelInvalid(
            f"Model {model_name!r} has labels {raw} that repwatch cannot map to sentiment; "
            f"{EXPECTED}. Pass --model with a sentiment classification model."
        )
    return found
