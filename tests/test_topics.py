# ruff: noqa: RUF001  (texts in six languages)
"""Topic detection: built-in taxonomy per language, config-defined topics, exact errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from repwatch.config import ConfigError, Topics, TopicTable, parse_config
from repwatch.config_template import render_config
from sentiment.taxonomy import BUILTIN_KEYS
from sentiment.topics import build_detector, builtin_detector, cue_pattern

BASE = '[brands.acme]\nname = "Acme"\n'


def _config(extra: str):
    text = BASE + extra
    return parse_config(tomllib.loads(text), text, Path("repwatch.toml"))


def _error(extra: str) -> str:
    with pytest.raises(ConfigError) as info:
        _config(extra)
    return str(info.value)


@pytest.fixture(scope="module")
def detector():
    return builtin_detector()


def test_builtin_taxonomy_has_the_issue_topics():
    assert BUILTIN_KEYS == (
        "waiting_time", "staff_attitude", "staff_competence", "self_service",
        "repeat_information", "ownership", "contact_cost", "delivery", "returns_refunds",
        "price_billing", "product_quality", "cleanliness", "privacy",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("I was on hold for two hours before anyone answered.", "waiting_time"),
        ("Le colis n'est jamais arrivé, le transporteur ne répond pas.", "delivery"),
        ("De drog pengarna två gånger från mitt kort och fakturan stämmer inte.", "price_billing"),
        ("В номере было грязно, в ванной плесень и неприятный запах.", "cleanliness"),
        ("Ich warte seit sechs Wochen auf meine Rückerstattung.", "returns_refunds"),
        ("La aplicación se cuelga cuando intento pagar con la tarjeta.", "self_service"),
        ("The cashier was incredibly rude and laughed at my question.", "staff_attitude"),
        ("Ils ont revendu mes données personnelles à des publicitaires.", "privacy"),
    ],
)
def test_topics_found_in_each_language(detector, text, topic):
    found = detector.detect([text])[0]
    assert topic in found
    assert 0.0 < found[topic] <= 1.0


@pytest.mark.parametrize(
    "text", ["Hello there.", "Bonjour à tous.", "Hej allihopa!", "Hola a todos."]
)
def test_a_mention_may_have_no_topic(detector, text):
    assert detector.detect([text]) == [{}]


def test_cues_match_word_beginnings_only():
    pattern = cue_pattern(["wait*", "bill"])
    assert pattern is not None
    assert pattern.search("We waited ages")
    assert pattern.search("The BILL was wrong")
    assert not pattern.search("billing")  # "bill" is a whole word
    assert not pattern.search("await")  # a cue starts a word


def test_a_teams_own_topic_is_picked_up_from_config():
    config = _config(
        "[topics]\n"
        'disable = ["privacy"]\n'
        "[topics.gift_cards]\n"
        'name = "Gift cards"\n'
        'examples = ["My gift card was refused at the till.", "Le bon cadeau avait expiré.",\n'
        '  "Presentkortet gick inte att använda.", "Der Gutschein wurde nicht angenommen."]\n'
    )
    detector = build_detector(config.settings.topics)
    assert detector is not None
    assert "gift_cards" in detector.keys
    assert "privacy" not in detector.keys
    found = detector.detect(
        ["They refused my gift card at the checkout.", "Mon bon cadeau a été refusé en caisse."]
    )
    assert all("gift_cards" in f for f in found)
    # Without the table the same texts have no gift-card topic: the config is what adds it.
    plain = build_detector(_config("").settings.topics)
    assert plain is not None
    assert "gift_cards" not in plain.keys


def test_keywords_and_examples_extend_a_builtin_topic():
    config = _config('[topics.delivery]\nkeywords = ["drone drop*"]\n')
    detector = build_detector(config.settings.topics)
    assert detector is not None
    assert "delivery" in detector.detect(["The drone dropped it in the pond."])[0]


def test_topics_can_be_switched_off():
    assert build_detector(_config("[topics]\nenabled = false\n").settings.topics) is None


def test_topic_config_errors_are_exact():
    assert _error("[topics]\nmin_scor = 0.3\n") == (
        "repwatch.toml:4 [topics]: unknown key 'min_scor'; expected enabled, min_score, "
        "disable, corpus, or a [topics.<key>] table"
    )
    assert _error('[topics.refunds_abroad]\nnam = "x"\n') == (
        "repwatch.toml:4 [topics.refunds_abroad]: unknown key 'nam'; "
        "expected name, description, examples, keywords"
    )
    assert _error('[topics]\ndisable = ["privat"]\n') == (
        "repwatch.toml:4 [topics]: unknown topic 'privat'; expected built-in topics among "
        + ", ".join(BUILTIN_KEYS)
    )
    assert _error('[topics.gift_cards]\ndescription = "Cards"\n') == (
        "repwatch.toml:3 [topics.gift_cards]: missing key 'name' (required for a topic of "
        "your own)\nrepwatch.toml:3 [topics.gift_cards]: a topic of your own needs examples "
        "(a few sentences) or keywords"
    )


@pytest.mark.parametrize("model", [Topics, TopicTable])
def test_template_documents_every_topic_setting(model):
    text = render_config()
    for name in model.model_fields:
        assert f"{name} =" in text, f"{model.__name__}.{name} is missing from the template"


def test_template_example_topic_is_valid_when_uncommented():
    lines = [
        line.removeprefix("# ").strip() if line.startswith(("# [topics.", "#   ")) else line
        for line in render_config().splitlines()
    ]
    text = "\n".join(lines)
    config = parse_config(tomllib.loads(text), text, Path("repwatch.toml"))
    assert config.settings.topics.tables["gift_cards"].name == "Gift cards"
