"""Aspect sentiment: each topic a mention talks about, with the polarity of what it says.

"The food was great but the staff were rude" is positive about product_quality and
negative about staff_attitude, whatever the text is as a whole. For a batch of mentions:

1. every text is cut into clauses (``sentiment.sentences.segments``);
2. the topic detector scores the whole texts and all clauses in one call; the whole
   text's scores decide which topics are reported (the classifier learnt from whole
   reviews and over-reads three-word clauses);
3. each reported topic is attributed to the clauses that score highest for it (within
   ``ATTRIBUTION_MARGIN`` of the best, and at least ``min_score``); those clauses are scored
   by the sentiment model, all of the batch's in one ``predict`` call (deduplicated);
4. a topic's polarity is the sentiment of its clauses (probabilities averaged, weighted by
   topic score); when that is neutral, the whole text's: a narrative clause ("the store
   says it's the courier") reads neutral on its own but belongs to the complaint around
   it. A topic no clause carries on its own, or a one-clause text, takes the whole text's
   sentiment.

Measured on the corpus's held-out lines with aspect labels (the sentiment model trained
without them): 0.714 of topic polarities right with clauses alone, 0.815 with the neutral
fallback; on lines whose aspects differ in polarity, 0.504 and 0.547. Blending every
clause with the whole text scored higher on those lines (0.60) but turned "the food was
great but the staff were rude" into negative food: a confident whole text drowns the
clause, so the fallback only applies to neutral clauses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from repwatch.records import SentimentLabel, TopicFinding
from sentiment.labels import SENTIMENTS, Prediction
from sentiment.sentences import segments
from sentiment.topics import TopicDetector

MAX_SEGMENTS = 40  # clauses read per mention; longer texts are rare and their tail is kept whole
ATTRIBUTION_MARGIN = 0.1


class SentimentPredictor(Protocol):
    """What aspect scoring needs of a sentiment scorer."""

    def predict(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[Prediction]: ...


def _cap(parts: list[str]) -> list[str]:
    if len(parts) <= MAX_SEGMENTS:
        return parts
    return [*parts[: MAX_SEGMENTS - 1], " ".join(parts[MAX_SEGMENTS - 1 :])]


def topic_findings(
    texts: Sequence[str],
    languages: Sequence[str | None],
    whole: Sequence[Prediction],
    scorer: SentimentPredictor,
    detector: TopicDetector,
) -> list[dict[str, TopicFinding]]:
    """The topics of each text with score and polarity; ``whole`` is each text's sentiment."""
    parts = [_cap(segments(t, lang)) for t, lang in zip(texts, languages, strict=True)]
    flat = [*texts, *(p for ps in parts for p in ps)]
    scores = detector.scores(flat)
    threshold = detector.min_score
    plans: list[tuple[dict[str, float], list[tuple[str, dict[str, float]]]]] = []
    to_score: dict[str, int] = {}
    clause_language: dict[str, str | None] = {}
    offset = len(texts)
    for i, ps in enumerate(parts):
        clause_scores = scores[offset : offset + len(ps)]
        offset += len(ps)
        found = {k: s for k, s in scores[i].items() if s >= threshold}
        clauses: list[tuple[str, dict[str, float]]] = []
        if len(ps) > 1:
            best = {k: max(c[k] for c in clause_scores) for k in found}
            for clause, cs in zip(ps, clause_scores, strict=True):
                carries = {
                    k: cs[k]
                    for k in found
                    if cs[k] >= threshold and cs[k] >= best[k] - ATTRIBUTION_MARGIN
                }
                if carries:
                    clauses.append((clause, carries))
                    to_score.setdefault(clause, len(to_score))
                    clause_language.setdefault(clause, languages[i])
        plans.append((found, clauses))
    predicted = (
        scorer.predict(list(to_score), [clause_language[c] for c in to_score]) if to_score else []
    )
    out: list[dict[str, TopicFinding]] = []
    for (found, clauses), overall in zip(plans, whole, strict=True):
        result: dict[str, TopicFinding] = {}
        for key, score in sorted(found.items(), key=lambda kv: (-kv[1], kv[0])):
            weighted = [
                (cs[key], predicted[to_score[clause]]) for clause, cs in clauses if key in cs
            ]
            result[key] = TopicFinding(score=round(score, 4), polarity=_polarity(weighted, overall))
        out.append(result)
    return out


def _polarity(weighted: list[tuple[float, Prediction]], overall: Prediction) -> SentimentLabel:
    """The sentiment of a topic's clauses; the whole text's when none carries it or they are
    neutral."""
    if not weighted:
        return overall.label
    total = sum(w for w, _ in weighted)
    probs = {
        s: sum(w * p.probabilities.get(s, 0.0) for w, p in weighted) / total for s in SENTIMENTS
    }
    label = max(SENTIMENTS, key=lambda s: probs[s])
    return overall.label if label == "neutral" else label
