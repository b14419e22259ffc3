# ruff: noqa: RUF001  (texts in six languages)
"""Sentence splitting, per-topic polarity, topics stored by scoring, star/text disagreement."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from repwatch.config import Deadlines, Flagging
from repwatch.records import FlagCandidate, MentionRecord
from repwatch.store import queries, session_scope
from repwatch.store.schema import AnalysisRow, TriageItemRow
from repwatch.triage import decide, disagreement, flag_new
from sentiment.aspects import topic_findings
from sentiment.labels import Prediction
from sentiment.score import score_unscored
from sentiment.sentences import segments, split_clauses, split_sentences
from sentiment.topics import builtin_detector

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class LexiconScorer:
    """A real, small ``Scorer``: counts praise and complaint words (six languages)."""

    model_name = "test/lexicon"
    revision = "1"
    GOOD = re.compile(
        r"great|excellent|delicious|superb|délicieu\w*|excellent\w*|jättegod\w*|utmärkt\w*"
        r"|отличн\w*|вкусн\w*|super|lecker\w*|buenísim\w*|delicios\w*",
        re.IGNORECASE,
    )
    BAD = re.compile(
        r"rude|impoli\w*|otrevlig\w*|груб\w*|unfreundlich\w*|maleducad\w*|grosero\w*",
        re.IGNORECASE,
    )

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            good, bad = len(self.GOOD.findall(text)), len(self.BAD.findall(text))
            label = "positive" if good > bad else "negative" if bad > good else "neutral"
            probs = dict.fromkeys(("negative", "neutral", "positive"), 0.05)
            probs[label] = 0.9
            out.append(Prediction(label, probs["positive"] - probs["negative"], 0.9, probs))
        return out


@pytest.fixture(scope="module")
def detector():
    return builtin_detector()


# --- sentences -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Dr. Smith was late. We left!", "en", ["Dr. Smith was late.", "We left!"]),
        ("Wir kamen am 3. Mai an. Das war z.B. kalt.", "de",
         ["Wir kamen am 3. Mai an.", "Das war z.B. kalt."]),
        ("Ждали долго, т.е. два часа. Но всё хорошо.", "ru",
         ["Ждали долго, т.е. два часа.", "Но всё хорошо."]),
        ("Det tog t.ex. en vecka. Aldrig igen!", "sv", ["Det tog t.ex. en vecka.", "Aldrig igen!"]),
        ("Très bon… Mais cher.\nÀ revoir", "fr", ["Très bon…", "Mais cher.", "À revoir"]),
        ("¿Qué pasó? Nadie respondió.", "es", ["¿Qué pasó?", "Nadie respondió."]),
        ("no full stop at all", None, ["no full stop at all"]),
    ],
)  # fmt: skip
def test_sentences_in_six_languages(text, lang, expected):
    assert split_sentences(text, lang) == expected


def test_clauses_cut_at_contrast_and_commas_but_keep_two_words():
    assert split_clauses("The food was great but the staff were rude.") == [
        "The food was great",
        "but the staff were rude.",
    ]
    assert split_clauses("Great food, rude staff.") == ["Great food", "rude staff."]
    assert split_clauses("Hello, we ate here.") == ["Hello, we ate here."]  # "Hello" alone is short
    assert segments("Bra mat; dålig service. Tack") == ["Bra mat", "dålig service.", "Tack"]


# --- aspect polarity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The food was great but the staff were rude.", "en"),
        ("Great food, rude staff.", "en"),
        ("La nourriture était délicieuse, mais le personnel était impoli.", "fr"),
        ("Maten var jättegod men personalen var otrevlig.", "sv"),
        ("Еда была отличная, но персонал грубый.", "ru"),
        ("Das Essen war super, aber das Personal war unfreundlich.", "de"),
        ("La comida estaba buenísima, pero el personal fue muy grosero.", "es"),
    ],
)
def test_each_topic_carries_the_polarity_of_its_own_clause(detector, text, lang):
    scorer = LexiconScorer()
    whole = scorer.predict([text])
    found = topic_findings([text], [lang], whole, scorer, detector)[0]
    assert found["product_quality"].polarity == "positive"
    assert found["staff_attitude"].polarity == "negative"


def test_clauses_of_a_batch_are_scored_in_one_call(detector):
    scorer = LexiconScorer()
    texts = ["Great food, rude staff.", "Das Essen war super, aber das Personal war unfreundlich."]
    topic_findings(texts, ["en", "de"], scorer.predict(texts), scorer, detector)
    assert len(scorer.calls) == 2  # the whole texts, then every clause at once


def test_one_clause_text_takes_the_whole_texts_sentiment(detector):
    scorer = LexiconScorer()
    text = "The parcel never arrived"
    whole = [
        Prediction("negative", -0.9, 0.9, {"negative": 0.9, "neutral": 0.05, "positive": 0.05})
    ]
    found = topic_findings([text], ["en"], whole, scorer, detector)[0]
    assert found["delivery"].polarity == "negative"
    assert scorer.calls == []  # nothing more to score


# --- scoring stores topics -----------------------------------------------------------------


def _store(engine, texts: list[str], rating: float | None = None) -> None:
    with session_scope(engine) as s:
        queries.ensure_source(
            s, key="acme-reviews", kind="reviews", brand="acme", url="https://r.example/"
        )
        queries.upsert_mentions(
            s,
            [
                MentionRecord(
                    source="acme-reviews", brand="acme", url=f"https://r.example/{i}",
                    external_id=str(i), text=t, rating=rating, language="en", published_at=NOW,
                )
                for i, t in enumerate(texts)
            ],
        )  # fmt: skip


def test_scoring_stores_topics_with_polarity(engine, detector):
    _store(engine, ["The food was great but the staff were rude.", "Hello there."])
    summary = score_unscored(engine, LexiconScorer(), topics=detector)
    assert summary.scored == 2
    with session_scope(engine) as s:
        rows = dict(s.execute(select(AnalysisRow.mention_id, AnalysisRow.topics)).all())
    first, second = (rows[k] for k in sorted(rows))
    assert first["product_quality"]["polarity"] == "positive"
    assert first["staff_attitude"]["polarity"] == "negative"
    assert 0.4 <= first["staff_attitude"]["score"] <= 1.0
    assert second == {}


def test_scoring_without_a_detector_stores_no_topics(sqlite_engine):
    _store(sqlite_engine, ["Great food, rude staff."])
    score_unscored(sqlite_engine, LexiconScorer())
    with session_scope(sqlite_engine) as s:
        assert s.scalars(select(AnalysisRow.topics)).all() == [{}]


# --- star/text disagreement ----------------------------------------------------------------


def _candidate(rating: float | None, score: float | None, negative: float | None):
    return FlagCandidate(1, rating, NOW, None, None, negative, score)


def test_disagreement_rule():
    assert disagreement(1.0, -0.8) == "stars and text disagree: 5/5 but the text is negative"
    assert disagreement(0.0, 0.7) == "stars and text disagree: 1/5 but the text is positive"
    assert disagreement(1.0, 0.9) is None
    assert disagreement(0.5, -0.9) is None  # 3 stars: no claim either way
    assert disagreement(None, -0.9) is None


def test_five_stars_with_a_negative_text_is_flagged():
    # Negative probability below the model threshold: only the disagreement flags it.
    decision = decide(_candidate(1.0, -0.55, 0.55), Flagging(), Deadlines(), NOW)
    assert decision is not None
    assert decision.reason == "stars and text disagree: 5/5 but the text is negative"
    agree = decide(_candidate(1.0, 0.8, 0.05), Flagging(), Deadlines(), NOW)
    assert agree is None


def test_one_star_with_a_positive_text_gets_a_priority_boost():
    with_text = decide(_candidate(0.0, 0.8, 0.05), Flagging(), Deadlines(), NOW)
    rating_only = decide(_candidate(0.0, None, None), Flagging(), Deadlines(), NOW)
    assert with_text is not None
    assert rating_only is not None
    assert with_text.reason == "rating 1/5; stars and text disagree: 1/5 but the text is positive"
    assert with_text.priority == pytest.approx(rating_only.priority + 10.0)


def test_disagreement_flags_through_the_query_layer(engine, tmp_path):
    _store(engine, ["Absolutely furious, they lost my parcel."], rating=1.0)
    scorer = LexiconScorer()
    scorer.predict = lambda texts, languages=None: [  # type: ignore[method-assign]
        Prediction("negative", -0.7, 0.55, {"negative": 0.55, "neutral": 0.4, "positive": 0.05})
        for _ in texts
    ]
    score_unscored(engine, scorer)
    assert flag_new(engine, Flagging(), Deadlines(), now=NOW) == 1
    with session_scope(engine) as s:
        reason = s.scalars(select(TriageItemRow.reason)).one()
    assert reason == "stars and text disagree: 5/5 but the text is negative"


def test_a_neutral_narrative_clause_takes_the_complaint_around_it(detector):
    scorer = LexiconScorer()
    text = "The parcel was handed to the courier on Monday, and the staff were rude."
    whole = scorer.predict([text])
    assert whole[0].label == "negative"
    found = topic_findings([text], ["en"], whole, scorer, detector)[0]
    assert scorer.predict(["The parcel was handed to the courier on Monday"])[0].label == "neutral"
    assert found["delivery"].polarity == "negative"
    assert found["staff_attitude"].polarity == "negative"
