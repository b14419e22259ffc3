"""Polarity lexicons: parsing, matching (words, stems, phrases, emoji), negation and contrast."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.polarity import (
    EMOJI,
    FEATURES,
    LexiconError,
    PolarityFeatures,
    parse_lexicon,
    read_lexicons,
)

LEXICON = {
    "en": [
        ("good", 2),
        ("bad", -2),
        ("disappoint*", -2),
        ("rip off", -3),
        ("never again", -3),
        ("not", "negator"),
        ("very", "intensifier"),
        ("but", "contrast"),
    ],
    "de": [("gut", 2), ("empfehle", 2), ("nicht", "negator")],
    EMOJI: [(":)", 2), ("😡", -3)],
}
LANGUAGES = ("en", "fr", "sv", "ru", "de", "es")


def features(text: str, lang: str | None = "en", lexicon: object = None) -> dict[str, float]:
    extractor = PolarityFeatures(lexicon or LEXICON)  # type: ignore[arg-type]
    return dict(zip(FEATURES, extractor.transform([text], [lang])[0], strict=True))


def test_parse_reports_file_and_line_of_a_bad_entry() -> None:
    assert parse_lexicon(["# comment", "", "good\t2", "not\tnegator"], "x.tsv") == [
        ("good", 2),
        ("not", "negator"),
    ]
    for bad in ("good 2", "good\t5", "good\t0", "good\tmaybe", "\t2"):
        with pytest.raises(LexiconError, match=r"x\.tsv:2: expected 'term<TAB>value'"):
            parse_lexicon(["ok\t1", bad], "x.tsv")
    with pytest.raises(LexiconError, match=r"x\.tsv:3: 'ok' is already on line 1"):
        parse_lexicon(["ok\t1", "fine\t1", "ok\t-1"], "x.tsv")


def test_stems_phrases_and_emoji_are_matched() -> None:
    assert (
        features("Disappointing, a rip-off. Never again 😡")["negative"]
        > features("Disappointing.")["negative"]
        > 0
    )
    assert features("Good :)")["positive"] > features("Good")["positive"] > 0
    assert features("We had the set menu.")["no_polarity"] == 1.0


def test_negation_flips_what_follows_and_german_negates_after_the_verb() -> None:
    plain, negated = features("it was good"), features("it was not good")
    assert plain["positive"] > 0
    assert plain["negated_positive"] == 0
    assert negated["positive"] == 0
    assert negated["negated_positive"] > 0
    assert features("not. good")["negated_positive"] == 0  # a clause boundary ends the scope
    german = features("Ich empfehle es nicht", "de")
    assert german["negated_positive"] > 0
    assert german["positive"] == 0
    assert features("I recommend good food, not", "en")["positive"] > 0  # only de/sv look back
    concord = {"ru": [("не работает", -2), ("ничего", "negator"), ("не", "negator")]}
    assert features("ничего не работает", "ru", concord)["negative"] > 0


def test_intensifiers_and_contrast() -> None:
    assert features("very good")["intensified_positive"] > 0
    after_but = features("good food but bad staff")
    assert after_but["final_negative"] > 0
    assert after_but["final_positive"] == 0
    assert features("good food, but not bad")["final_positive"] > 0  # a negated negative


def test_unknown_language_uses_every_lexicon() -> None:
    assert features("gut", None)["positive"] > 0
    assert features("gut", "en")["positive"] == 0


def test_shipped_lexicons_cover_the_six_languages_and_emoji() -> None:
    lexicons = read_lexicons()
    assert set(LANGUAGES) | {EMOJI} <= set(lexicons)
    for lang in LANGUAGES:
        values = [v for _, v in lexicons[lang]]
        assert sum(isinstance(v, int) and v < 0 for v in values) >= 300, lang
        assert sum(isinstance(v, int) and v > 0 for v in values) >= 200, lang
        assert "negator" in values, lang
        assert "intensifier" in values, lang


@pytest.mark.parametrize(
    ("lang", "negative", "positive"),
    [
        ("en", "The staff were rude and I am very disappointed.",
         "Friendly staff, I recommend them."),
        ("fr", "Personnel désagréable, je suis très déçu.", "Personnel aimable, je recommande."),
        ("sv", "Otrevlig personal, jag är mycket besviken.",
         "Trevlig personal, jag rekommenderar dem."),
        ("ru", "Грубый персонал, я очень разочарован.", "Вежливый персонал, рекомендую."),
        ("de", "Unfreundliches Personal, ich bin sehr enttäuscht.",
         "Freundliches Personal, empfehlenswert."),
        ("es", "Personal grosero, estoy muy decepcionado.", "Personal amable, lo recomiendo."),
    ],
)  # fmt: skip
def test_shipped_lexicons_read_clear_sentences(lang: str, negative: str, positive: str) -> None:
    lexicons = read_lexicons()
    bad, good = features(negative, lang, lexicons), features(positive, lang, lexicons)
    assert bad["negative"] > bad["positive"]
    assert good["positive"] > good["negative"]
    assert features("Ich empfehle es nicht.", "de", lexicons)["negated_positive"] > 0


def test_a_broken_lexicon_directory_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="No lexicons in"):
        read_lexicons(tmp_path)
    (tmp_path / "en.tsv").write_text("good\t2\nbad\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"en\.tsv:2"):
        read_lexicons(tmp_path)
