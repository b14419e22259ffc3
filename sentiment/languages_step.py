"""The language step of ``repwatch score``: detect the language of every mention that needs one.

Batch by batch, each in one transaction (claim, detect, store), so an interrupted run keeps
what it finished and several workers on one PostgreSQL database split the work (see
``repwatch.store.languages``). Detection reads the title and the text, as the scorer does.
A language the source gave is kept, with confidence 1.0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine

from repwatch.store import session_scope
from repwatch.store.languages import (
    SOURCE_CONFIDENCE,
    claim_needing_language,
    count_needing_language,
    set_languages,
)
from sentiment.language import LanguageDetector
from sentiment.score import text_to_score

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float], None]  # (done, total, seconds so far)
DETECT_BATCH_SIZE = 500  # lingua does about 10,000 review-length texts/s on two cores


def detect_languages(
    engine: Engine,
    detector: LanguageDetector,
    *,
    batch_size: int = DETECT_BATCH_SIZE,
    progress: Progress | None = None,
) -> int:
    """Give every mention without a language (or its confidence) one; returns how many.

    Idempotent: a second run finds nothing to do. ``progress`` is called after each batch.
    """
    with session_scope(engine) as session:
        total = count_needing_language(session)
    start = time.perf_counter()
    done = after_id = 0
    while True:
        with session_scope(engine) as session:
            batch = claim_needing_language(session, limit=batch_size, after_id=after_id)
            if not batch:
                break
            to_detect = [m for m in batch if m.language is None]
            found = detector.detect_many([text_to_score(m) for m in to_detect])
            results = [
                (m.id, d.language, d.confidence) for m, d in zip(to_detect, found, strict=True)
            ]
            results += [
                (m.id, m.language, SOURCE_CONFIDENCE) for m in batch if m.language is not None
            ]
            done += set_languages(session, results)
        after_id = batch[-1].id
        if progress is not None:
            progress(done, max(total, done), time.perf_counter() - start)
    seconds = time.perf_counter() - start
    log.info("detected the language of %d mentions in %.1fs", done, seconds)
    return done
