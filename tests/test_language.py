"""Language detection: lingua restricted to the configured languages, and the score step.

Every sentence here was written for these tests. The detection step runs on SQLite and
PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from repwatch.cli import main
from repwatch.errors import ConfigError
from repwatch.records import MentionRecord
from repwatch.store import open_database, queries, session_scope
from repwatch.store.languages import (
    claim_needing_language,
    count_needing_language,
    set_languages,
)
from repwatch.store.schema import MentionRow
from sentiment.language import DEFAULT_LANGUAGES, UNKNOWN, Detection, LanguageDetector
from sentiment.languages_step import detect_languages
from tests.conftest import write_config

REVIEWS = {
    "en": (
        "The courier left my parcel in the rain and nobody from support ever called me back.",
        "Lovely little hotel, spotless rooms and the breakfast was worth every penny.",
        "I waited forty minutes on the phone just to be told the refund was still pending.",
    ),
    "fr": (
        "Le livreur a laissé le colis devant la porte sous la pluie, tout était trempé.",
        "Personnel très aimable et chambre impeccable, nous reviendrons sans hésiter.",
        "Impossible de joindre le service client, personne ne répond aux courriels.",
    ),
    "sv": (
        "Paketet kom tre dagar för sent och kartongen var helt sönder.",
        "Jättetrevlig personal och snabb leverans, jag handlar gärna här igen.",
        "Kundtjänsten svarade aldrig på mina mejl om återbetalningen.",
    ),
    "ru": (
        "Курьер опоздал на три часа и даже не извинился.",
        "Отличный магазин, быстрая доставка и вежливые консультанты.",
        "Деньги за возврат так и не вернули, поддержка молчит вторую неделю.",
    ),
    "de": (
        "Die Lieferung kam zwei Wochen zu spät und der Karton war beschädigt.",
        "Sehr freundliches Personal, das Zimmer war sauber und ruhig.",
        "Der Kundendienst hat meine E-Mails einfach ignoriert, nie wieder.",
    ),
    "es": (
        "El pedido llegó roto y el servicio de atención al cliente no contesta.",
        "Habitación muy limpia, el personal encantador y el desayuno buenísimo.",
        "Tardaron un mes en devolverme el dinero, no lo recomiendo.",
    ),
}
PORTUGUESE = "O atendimento foi péssimo e a encomenda chegou danificada."
SOURCE = "acme-reviews"


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(DEFAULT_LANGUAGES)


@pytest.mark.parametrize(
    ("language", "text"), [(lang, text) for lang, texts in REVIEWS.items() for text in texts]
)
def test_clear_review_sentences_are_detected(detector, language, text):
    found = detector.detect(text)
    assert found.language == language
    assert 0.9 <= found.confidence <= 1.0


def test_many_texts_keep_their_order(detector):
    texts = [REVIEWS[lang][0] for lang in DEFAULT_LANGUAGES] + ["", REVIEWS["en"][1]]
    found = [d.language for d in detector.detect_many(texts)]
    assert found == [*DEFAULT_LANGUAGES, UNKNOWN, "en"]
    assert detector.detect_many([]) == []


@pytest.mark.parametrize(
    "text",
    ["", "   ", "ok", "å", "👍👍👍", "10/10 !!!", "Top!", "Super", "Hotel", "Merci", "Gut"],
)
def test_short_or_ambiguous_text_is_unknown(detector, text):
    found = detector.detect(text)
    assert found.language == UNKNOWN
    assert found.confidence < 0.5


def test_links_and_handles_are_not_read_as_language(detector):
    text = "@kestrel_support https://kestrel.example/orders/123 www.kestrel.example"
    assert detector.detect(text) == Detection(UNKNOWN, 0.0)
    assert detector.detect(f"{text} Die Lieferung kam viel zu spät.").language == "de"


def test_detection_is_restricted_to_the_configured_languages(detector):
    assert detector.detect(PORTUGUESE).language in {*DEFAULT_LANGUAGES, UNKNOWN}
    # The restriction is what keeps "pt" out: a detector that knows Portuguese says so.
    assert LanguageDetector([*DEFAULT_LANGUAGES, "pt"]).detect(PORTUGUESE).language == "pt"
    english_german = LanguageDetector(["en", "DE "])
    assert english_german.languages == ("en", "de")
    assert english_german.detect(REVIEWS["fr"][0]).language in {"en", "de", UNKNOWN}


def test_an_unknown_language_code_says_what_to_write():
    with pytest.raises(ConfigError) as exc:
        LanguageDetector(["en", "xx"])
    assert str(exc.value) == (
        "Language 'xx' is not one repwatch can detect: use ISO 639-1 codes such as "
        "en, fr, sv, ru, de, es in [model] languages."
    )
    with pytest.raises(ConfigError, match="No languages to detect"):
        LanguageDetector([])


def _store(engine: Engine, mentions: list[tuple[str, str, str | None, str | None]]) -> dict:
    """Store (external_id, text, title, source language); returns {external_id: mention id}."""
    with session_scope(engine) as s:
        queries.ensure_source(s, key=SOURCE, kind="reviews", brand="acme", url="https://x.example")
        queries.upsert_mentions(
            s,
            [
                MentionRecord(SOURCE, "acme", f"https://x.example/{ext}", ext, text, title=title,
                              language=lang, published_at=datetime(2026, 11, 1, tzinfo=UTC))
                for ext, text, title, lang in mentions
            ],
        )  # fmt: skip
        rows = s.execute(select(MentionRow.external_id, MentionRow.id))
        return {ext: mention_id for ext, mention_id in rows}


def _languages(engine: Engine) -> dict[str, tuple[str | None, float | None]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(MentionRow.external_id, MentionRow.language, MentionRow.language_confidence)
        )
        return {ext: (lang, conf) for ext, lang, conf in rows}


def test_detection_step_stores_language_and_confidence_once(engine, detector):
    _store(
        engine,
        [
            ("en", REVIEWS["en"][0], None, None),
            ("ru-titled", REVIEWS["ru"][0], "Ужасная доставка", None),
            ("emoji", "👍👍", None, None),
            # The source's word wins, even where the text says otherwise, and is kept as given.
            ("source-de", REVIEWS["fr"][1], None, "de"),
            ("source-pt", PORTUGUESE, None, "pt-BR"),
        ],
    )
    assert detect_languages(engine, detector, batch_size=2) == 5
    stored = _languages(engine)
    assert stored["en"][0] == "en"
    assert stored["en"][1] == pytest.approx(detector.detect(REVIEWS["en"][0]).confidence)
    assert stored["ru-titled"] == ("ru", 1.0)
    assert stored["emoji"] == (UNKNOWN, 0.0)
    assert stored["source-de"] == ("de", 1.0)
    assert stored["source-pt"] == ("pt-BR", 1.0)

    assert detect_languages(engine, detector) == 0  # idempotent
    assert _languages(engine) == stored

    # An edit without a language from the source clears it: the new text is detected again.
    _store(engine, [("en", REVIEWS["sv"][0], None, None)])
    with session_scope(engine) as s:
        assert count_needing_language(s) == 1
    assert detect_languages(engine, detector) == 1
    assert _languages(engine)["en"][0] == "sv"
    assert {k: v for k, v in _languages(engine).items() if k != "en"} == {
        k: v for k, v in stored.items() if k != "en"
    }


def test_set_languages_never_overwrites_a_language_the_source_gave(engine):
    ids = _store(engine, [("source", REVIEWS["fr"][0], None, "fr"), ("plain", "Text", None, None)])
    with session_scope(engine) as s:
        assert set_languages(s, [(ids["source"], "es", 0.7), (ids["plain"], "en", 0.6)]) == 2
    assert _languages(engine) == {"source": ("fr", 1.0), "plain": ("en", 0.6)}
    with session_scope(engine) as s:  # both settled: nothing changes
        assert set_languages(s, [(ids["source"], "de", 0.9), (ids["plain"], "sv", 0.9)]) == 0
        assert set_languages(s, []) == 0
    assert _languages(engine) == {"source": ("fr", 1.0), "plain": ("en", 0.6)}


def test_postgresql_workers_claim_different_mentions(pg_url):
    engine = open_database(pg_url)
    try:
        _store(engine, [(f"m{n}", REVIEWS["en"][n % 3], None, None) for n in range(5)])
        with session_scope(engine) as first, session_scope(engine) as second:
            mine = claim_needing_language(first, limit=3)
            theirs = claim_needing_language(second, limit=3)
            assert len(mine) == 3
            assert len(theirs) == 2
            assert not {m.id for m in mine} & {m.id for m in theirs}
    finally:
        engine.dispose()


def test_repwatch_score_detects_languages_with_the_offline_default(tmp_path: Path):
    config = write_config(tmp_path)
    engine = open_database(config.database_url)
    try:
        _store(engine, [("de", REVIEWS["de"][0], None, None), ("es", REVIEWS["es"][2], None, None)])
    finally:
        engine.dispose()
    missing = CliRunner().invoke(
        main, ["score", "--config", str(config.path), "--model", "someone/not-downloaded"]
    )
    assert missing.exit_code == 1
    assert "is not on this machine" in missing.output
    engine = open_database(config.database_url)
    try:  # a model that cannot load leaves the database as it was
        assert {k: v[0] for k, v in _languages(engine).items()} == {"de": None, "es": None}
    finally:
        engine.dispose()

    result = CliRunner().invoke(main, ["score", "--config", str(config.path)])
    assert result.exit_code == 0, result.output  # the bundled default needs no download
    engine = open_database(config.database_url)
    try:
        assert {k: v[0] for k, v in _languages(engine).items()} == {"de": "de", "es": "es"}
    finally:
        engine.dispose()
