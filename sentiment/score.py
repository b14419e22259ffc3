"""Score every stored mention that the loaded model has not scored yet.

Batch by batch, so an interrupted run keeps what it finished, a re-run picks up where it
stopped, and nothing is scored twice by the same model revision. Several workers (on one
or more machines) can score one PostgreSQL database at once: each batch is claimed with
row locks (``repwatch.store.scoring.claim_unscored``) held while it is scored and saved,
and the other workers skip it. On SQLite (one writer, one worker) a batch is read, scored
outside any transaction, then written, so crawls writing meanwhile never wait for the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from repwatch.records import Analysis, MentionText, TopicFinding
from repwatch.store import queries, session_scope
from repwatch.store.scoring import claim_unscored, claims_rows

if TYPE_CHECKING:
    from sentiment.load import Scorer
    from sentiment.topics import TopicDetector

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float], None]  # (done, total, seconds so far)


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """What one scoring run did."""

    scored: int
    seconds: float
    per_second: float


def text_to_score(mention: MentionText) -> str:
    """The text the model reads: the title, when there is one, then the review."""
    if not mention.title:
        return mention.text
    title = mention.title.strip()
    joiner = " " if title.endswith((".", "!", "?", "…")) else ". "
    return f"{title}{joiner}{mention.text}"


def score_unscored(
    engine: Engine,
    scorer: Scorer,
    *,
    batch_size: int = 32,
    limit: int | None = None,
    progress: Progress | None = None,
    topics: TopicDetector | None = None,
) -> ScoreSummary:
    """Score mentions without an analysis by ``scorer``'s model revision, oldest id first.

    ``limit`` caps how many are scored in this run; ``progress`` is called after each batch.
    With ``topics``, each analysis also carries the topics found and their polarity.
    """
    name, revision = scorer.model_name, scorer.revision
    with session_scope(engine) as session:
        total = queries.count_unscored(session, name, revision)
        locking = claims_rows(session)
    if limit is not None:
        total = min(total, limit)
    start = time.perf_counter()
    done = after_id = 0
    while done < total:
        want = min(batch_size, total - done)
        with session_scope(engine) as session:
            batch = claim_unscored(session, name, revision, want, after_id=after_id)
            if locking and batch:  # save while the claim holds, in the same transaction
                queries.save_analyses(session, _analyse(scorer, batch, topics))
        if not batch:  # other workers scored the rest
            break
        if not locking:
            analyses = _analyse(scorer, batch, topics)
            with session_scope(engine) as session:
                queries.save_analyses(session, analyses)
        done += len(batch)
        after_id = batch[-1].id
        if progress is not None:
            progress(done, total, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    log.info("scored %d mentions in %.1fs", done, seconds)
    return ScoreSummary(scored=done, seconds=seconds, per_second=done / seconds if seconds else 0.0)


def _analyse(
    scorer: Scorer, batch: list[MentionText], topics: TopicDetector | None = None
) -> list[Analysis]:
    texts = [text_to_score(m) for m in batch]
    languages = [m.language for m in batch]
    predictions = scorer.predict(texts, languages)
    found: list[dict[str, TopicFinding]] = [{} for _ in batch]
    if topics is not None:
        from sentiment.aspects import topic_findings

        found = topic_findings(texts, languages, predictions, scorer, topics)
    return [
        Analysis(
            mention_id=m.id,
            model_name=scorer.model_name,
            model_revision=scorer.revision,
            label=p.label,
            score=p.score,
            confidence=p.confidence,
            probabilities=p.probabilities,
            topics=t,
        )
        for m, p, t in zip(batch, predictions, found, strict=True)
    ]
