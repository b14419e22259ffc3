"""Triage rules: which mentions become items to answer, how urgent, and by when."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from repwatch.config import Deadlines, Flagging
from repwatch.records import FlagCandidate, TriageDecision
from repwatch.store import queries, session_scope
from repwatch.store.schema import utcnow

# Weights of the priority (0..100): how negative, how recent, how far it reaches.
NEGATIVITY_WEIGHT = 60.0
RECENCY_WEIGHT = 25.0
REACH_WEIGHT = 15.0
RECENCY_HALF_LIFE_DAYS = 7.0
REACH_FULL_AT = 1_000_000  # followers/score at which reach counts fully
# Star/text disagreement: 4-5 stars with a clearly negative text, or 1-2 stars with a
# clearly positive one (sarcasm, a mis-click, a complaint under a habit of 5 stars).
DISAGREEMENT_SCORE = 0.5  # |model score| (-1..1) from which the text is "clearly" one way
DISAGREEMENT_BOOST = 10.0  # priority added, so someone reads it soon


def stars(rating: float) -> float:
    """A 0..1 rating as stars out of 5 (0.0 is 1 star, 1.0 is 5 stars)."""
    return 1.0 + 4.0 * rating


def disagreement(rating: float | None, score: float | None) -> str | None:
    """Why a star rating (0..1) and the model's score (-1..1) disagree, or ``None``."""
    if rating is None or score is None:
        return None
    if stars(rating) >= 4 - 1e-9 and score <= -DISAGREEMENT_SCORE:
        return f"stars and text disagree: {stars(rating):.0f}/5 but the text is negative"
    if stars(rating) <= 2 + 1e-9 and score >= DISAGREEMENT_SCORE:
        return f"stars and text disagree: {stars(rating):.0f}/5 but the text is positive"
    return None


def decide(
    candidate: FlagCandidate, flagging: Flagging, deadlines: Deadlines, now: datetime
) -> TriageDecision | None:
    """A triage decision for a negative mention, or ``None`` when it needs no answer."""
    reasons: list[str] = []
    negativity = 0.0
    neg = candidate.negative_probability
    if neg is not None and neg >= flagging.negative_threshold:
        reasons.append(f"model: negative {neg:.2f}")
        negativity = max(negativity, neg)
    if candidate.rating is not None and stars(candidate.rating) <= flagging.max_stars + 1e-9:
        reasons.append(f"rating {stars(candidate.rating):.0f}/5")
        negativity = max(negativity, 1.0 - candidate.rating)
    conflict = disagreement(candidate.rating, candidate.sentiment_score)
    if conflict is not None:
        reasons.append(conflict)
        negativity = max(negativity, -(candidate.sentiment_score or 0.0))
    if not reasons:
        return None

    priority = NEGATIVITY_WEIGHT * negativity + (DISAGREEMENT_BOOST if conflict else 0.0)
    if candidate.published_at is not None:
        age_days = max(0.0, (now - candidate.published_at).total_seconds() / 86400)
        priority += RECENCY_WEIGHT * 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
    if candidate.author_reach:
        priority += REACH_WEIGHT * min(
            1.0, math.log10(1 + candidate.author_reach) / math.log10(REACH_FULL_AT)
        )
    priority = round(min(100.0, priority), 1)
    if priority >= deadlines.urgent_priority:
        hours = deadlines.urgent_hours
    elif priority >= deadlines.high_priority:
        hours = deadlines.high_hours
    else:
        hours = deadlines.normal_hours
    return TriageDecision(
        mention_id=candidate.mention_id,
        priority=priority,
        deadline_at=now + timedelta(hours=hours),
        reason="; ".join(reasons),
    )


def decide_all(
    candidates: Iterable[FlagCandidate], flagging: Flagging, deadlines: Deadlines, now: datetime
) -> list[TriageDecision]:
    decisions = (decide(c, flagging, deadlines, now) for c in candidates)
    return [d for d in decisions if d is not None]


def flag_new(
    engine: Engine, flagging: Flagging, deadlines: Deadlines, now: datetime | None = None
) -> int:
    """Put every negative, not yet flagged mention in the triage queue; returns how many."""
    now = now or utcnow()
    with session_scope(engine) as session:
        decisions = decide_all(queries.flag_candidates(session), flagging, deadlines, now)
        return queries.add_triage_items(session, decisions)
