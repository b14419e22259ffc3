"""The bundled offline sentiment model: loading, quality on clear sentences, training, errors."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import sentiment.bundled as bundled
import sentiment.load as load
from repwatch.cli import main
from repwatch.config import DATABASE_URL_ENV, load_config
from repwatch.errors import ModelInvalid, ModelMissing
from repwatch.records import MentionRecord
from repwatch.store import open_database, queries, session_scope
from repwatch.store.schema import AnalysisRow, LabelRow, MentionRow
from sentiment.bundled import (
    BUNDLED_DIR,
    MODEL_FILE,
    TOPICS_FILE,
    WEIGHTS_FILE,
    BundledScorer,
    load_bundled,
    revision_of,
)
from sentiment.corpus_io import CORPUS_DIR, LabelledText, read_corpus
from sentiment.load import load_scorer
from sentiment.score import score_unscored
from sentiment.topics import build_detector, model_topic_examples
from sentiment.train import DEFAULT_SEED, MODEL_VERSION, train_bundled
from tests.conftest import write_config

# Written for this test (not corpus lines): clear complaints and clear praise per language.
CLEAR = {
    "en": (
        ("The parcel never arrived and support ignored all my emails. Awful.", "negative"),
        ("Worst customer service I have ever dealt with, rude and useless.", "negative"),
        ("Fantastic service, the staff were friendly and the delivery was quick!", "positive"),
        ("I love this shop, great quality and very helpful people.", "positive"),
    ),
    "fr": (
        ("Service client horrible, personne ne répond et le colis n'est jamais arrivé.",
         "negative"),
        ("Très déçu, le produit est cassé et le remboursement ne vient pas.", "negative"),
        ("Excellent accueil, personnel très aimable et livraison rapide. Merci !", "positive"),
        ("Je suis ravie, produit de très bonne qualité, je recommande.", "positive"),
    ),
    "sv": (
        ("Fruktansvärd kundtjänst, ingen svarar och paketet kom aldrig.", "negative"),
        ("Mycket besviken, varan var trasig och jag fick ingen återbetalning.", "negative"),
        ("Fantastisk service, trevlig personal och snabb leverans!", "positive"),
        ("Jättenöjd med köpet, bra kvalitet och hjälpsamma människor.", "positive"),
    ),
    "ru": (
        ("Ужасное обслуживание, посылка так и не пришла, никто не отвечает.", "negative"),
        ("Очень разочарован, товар сломан, деньги не вернули.", "negative"),
        ("Отличный сервис, вежливые сотрудники и быстрая доставка!", "positive"),
        ("Очень довольна покупкой, качество прекрасное, рекомендую.", "positive"),
    ),
    "de": (
        ("Schrecklicher Kundenservice, niemand antwortet und das Paket kam nie an.", "negative"),
        ("Sehr enttäuscht, das Produkt war kaputt und ich habe kein Geld zurückbekommen.",
         "negative"),
        ("Toller Service, freundliche Mitarbeiter und schnelle Lieferung!", "positive"),
        ("Ich bin sehr zufrieden, super Qualität, klare Empfehlung.", "positive"),
    ),
    "es": (
        ("Atención al cliente horrible, nadie contesta y el paquete nunca llegó.", "negative"),
        ("Muy decepcionado, el producto llegó roto y no me devolvieron el dinero.", "negative"),
        ("¡Servicio excelente, personal muy amable y entrega rápida!", "positive"),
        ("Estoy encantada, muy buena calidad, lo recomiendo.", "positive"),
    ),
}  # fmt: skip
NOVEL_WORD = "zorblaxity"  # in no corpus: only corrections can teach what it means


def _sha(path: Path) -> dict[str, str]:
    return {
        n: hashlib.sha256((path / n).read_bytes()).hexdigest() for n in (MODEL_FILE, WEIGHTS_FILE)
    }


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slice of the built-in corpus (up to 25 per language and label), to train fast."""
    kept: dict[tuple[str, str], list[LabelledText]] = defaultdict(list)
    for example in read_corpus():
        if len(kept[(example.lang, example.label)]) < 25:
            kept[(example.lang, example.label)].append(example)
    directory = tmp_path_factory.mktemp("corpus")
    by_lang: dict[str, list[str]] = defaultdict(list)
    for (lang, _), examples in sorted(kept.items()):
        by_lang[lang] += [
            json.dumps({"lang": lang, "text": e.text, "label": e.label}, ensure_ascii=False)
            for e in examples
        ]
    for lang, lines in by_lang.items():
        (directory / f"{lang}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def scorer() -> BundledScorer:
    model = load_scorer("bundled", model_dir=Path("no-such-model-dir"))
    assert isinstance(model, BundledScorer)
    return model


# -- the shipped model ---------------------------------------------------------------------


# Sentences the shipped model (1.1, trained on the corpus as of this commit) gets wrong. Strict:
# when a retrained model gets one right, the test fails until the entry is removed here.
KNOWN_MISSES: dict[str, str] = {}


@pytest.mark.parametrize(
    ("lang", "text", "label"),
    [
        pytest.param(
            lang,
            text,
            label,
            id=f"{lang}-{i}",
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[text])]
            if text in KNOWN_MISSES
            else [],
        )
        for lang in sorted(CLEAR)
        for i, (text, label) in enumerate(CLEAR[lang])
    ],
)
def test_bundled_default_classifies_clear_sentences_in_each_language(scorer, lang, text, label):
    assert scorer.predict([text], [lang])[0].label == label  # language known, as in scoring
    assert scorer.predict([text])[0].label == label  # language unknown: every lexicon


def test_bundled_default_gets_most_clear_sentences_right_in_every_language(scorer):
    for lang, examples in CLEAR.items():
        got = [p.label for p in scorer.predict([t for t, _ in examples])]
        right = sum(g == label for g, (_, label) in zip(got, examples, strict=True))
        assert right >= len(examples) - 1, (lang, got)


def test_bundled_default_loads_offline_without_torch_or_network(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from sentiment.load import load_scorer; "
        "s = load_scorer('bundled', model_dir=Path('models')); "
        "print(s.model_name, s.revision, s.predict(['Rude staff, awful.'])[0].label, "
        "'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    name, revision, label, torch_loaded = out.stdout.split()
    assert (name, label, torch_loaded) == ("bundled", "negative", "False")
    assert revision.startswith(f"{MODEL_VERSION}+")


def test_predictions_are_valid_and_keep_order_across_batches(scorer):
    texts = [t for lang in sorted(CLEAR) for t, _ in CLEAR[lang]] + ["ok", "", "👍"]
    whole = scorer.predict(texts)
    one_by_one = [scorer.predict([t])[0] for t in texts]
    assert [p.label for p in whole] == [p.label for p in one_by_one]
    for p in whole:
        assert abs(sum(p.probabilities.values()) - 1) < 1e-6
        assert -1 <= p.score <= 1
        assert p.confidence == p.probabilities[p.label]


def test_shipped_files_are_small_sorted_json_and_safetensors():
    size = sum((BUNDLED_DIR / n).stat().st_size for n in (MODEL_FILE, WEIGHTS_FILE))
    assert size < 15_000_000
    text = (BUNDLED_DIR / MODEL_FILE).read_text(encoding="utf-8")
    spec = json.loads(text)
    assert text.rstrip("\n") == json.dumps(
        spec, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert spec["labels"] == ["negative", "neutral", "positive"]
    assert set(spec["training"]["counts"]) >= {f"{lang}/negative" for lang in CLEAR}
    assert (BUNDLED_DIR / WEIGHTS_FILE).read_bytes()[:1] != b"\x80"  # not a pickle


@pytest.mark.slow
def test_shipped_model_is_what_training_on_the_built_in_corpus_gives(tmp_path):
    report = train_bundled(read_corpus(CORPUS_DIR), tmp_path / "m", seed=DEFAULT_SEED)
    assert _sha(tmp_path / "m") == _sha(BUNDLED_DIR), (
        "sentiment/bundled is stale: the corpus changed. Rebuild it: repwatch models train"
    )
    assert report.revision == load_bundled().revision


# -- training ------------------------------------------------------------------------------


def test_training_twice_gives_the_same_bytes(small_corpus, tmp_path):
    runner = CliRunner()
    for out in ("a", "b"):
        result = runner.invoke(
            main,
            ["models", "train", "--corpus", str(small_corpus), "--out", str(tmp_path / out)],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert f"Wrote bundled (revision {MODEL_VERSION}+" in result.output
    assert _sha(tmp_path / "a") == _sha(tmp_path / "b")
    different = train_bundled(read_corpus(small_corpus)[1:], tmp_path / "c")
    assert different.revision != load_bundled(tmp_path / "a").revision


def _corrections_db(config_dir: Path, db_url: str) -> None:
    """Mentions with the novel word, corrected to negative by staff (and one changed mind)."""
    engine = open_database(db_url)
    texts = [f"The {NOVEL_WORD} thing happened again with order {n}." for n in range(30)]
    with session_scope(engine) as s:
        queries.ensure_source(s, key="acme-reviews", kind="reviews", brand="acme", url="https://x")
        queries.upsert_mentions(
            s,
            [
                MentionRecord("acme-reviews", "acme", f"https://x/{n}", f"r{n}", text)
                for n, text in enumerate(texts)
            ],
        )
        ids = s.scalars(select(MentionRow.id).order_by(MentionRow.id)).all()
        for mention_id in ids:
            s.add(LabelRow(mention_id=mention_id, kind="sentiment", value="positive", actor="a"))
            s.add(LabelRow(mention_id=mention_id, kind="sentiment", value="negative", actor="b"))
            s.add(LabelRow(mention_id=mention_id, kind="topic", value="delivery", actor="b",
                           polarity="positive"))  # fmt: skip
    engine.dispose()


def test_with_corrections_learns_reports_and_keeps_the_shipped_model(
    small_corpus, tmp_path, db_url, monkeypatch
):
    monkeypatch.setenv(DATABASE_URL_ENV, db_url)
    config = write_config(tmp_path / "site")
    _corrections_db(tmp_path, db_url)
    shipped = _sha(BUNDLED_DIR)
    before_model = load_bundled()
    assert before_model.predict([f"{NOVEL_WORD} {NOVEL_WORD}"])[0].label != "negative"

    result = CliRunner().invoke(
        main,
        ["models", "train", "--with-corrections", "--corpus", str(small_corpus),
         "--config", str(config.path)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("corpus examples and 30 corrections ...")
    assert any(line.startswith("  before (corpus only):") for line in lines)
    assert any(line.startswith("  after (with corrections):") for line in lines)
    held_out = [line for line in lines if line.startswith(("  before:", "  after:"))]
    assert len(held_out) == 2  # on the held-out corrections only
    assert "negative recall=1.000" in held_out[1]  # the novel word is now learnt
    assert "macro-F1=" in held_out[0]
    out = config.model_dir / "bundled-corrections"
    assert f"Wrote bundled-corrections (revision {MODEL_VERSION}+" in result.output
    assert _sha(BUNDLED_DIR) == shipped

    retrained = load_scorer("bundled-corrections", model_dir=config.model_dir)
    assert isinstance(retrained, BundledScorer)
    assert retrained.model_name == "bundled-corrections"
    assert retrained.path == out
    assert retrained.predict([f"{NOVEL_WORD} {NOVEL_WORD}"])[0].label == "negative"

    # Topic corrections: saved beside the model, learnt by the detector scoring uses with it.
    assert "Saved 30 topic-corrected mentions to" in result.output
    before_f1, after_f1 = re.search(
        r"Topics, held-out corrections \(\d+ mentions\): micro-F1 before ([\d.]+), after ([\d.]+)",
        result.output,
    ).groups()
    assert float(after_f1) > float(before_f1)
    saved = [json.loads(line) for line in (out / TOPICS_FILE).read_text("utf-8").splitlines()]
    assert len(saved) == 30
    assert all(row["topics"] == ["delivery"] for row in saved)
    topics = config.settings.topics
    novel = [f"{NOVEL_WORD} {NOVEL_WORD}"]
    assert "delivery" not in build_detector(topics).detect(novel)[0]
    learnt = build_detector(topics, model_topic_examples(retrained.path))
    assert "delivery" in learnt.detect(novel)[0]
    with (out / TOPICS_FILE).open("a", encoding="utf-8") as f:  # new labels: new revision
        f.write(json.dumps({"lang": "en", "text": "late again", "topics": ["delivery"]}) + "\n")
    assert revision_of(out) != retrained.revision

    # Re-scoring with the new model keeps the old model's analyses for comparison.
    engine = open_database(db_url)
    try:
        assert score_unscored(engine, before_model).scored == 30
        scored = CliRunner().invoke(
            main, ["score", "--model", "bundled-corrections", "--config", str(config.path)]
        )
        assert scored.exit_code == 0, scored.output
        assert scored.output.startswith("Scored 30 mentions")
        assert score_unscored(engine, before_model).scored == 0
        with session_scope(engine) as s:
            by_model = dict(
                s.execute(
                    select(AnalysisRow.model_name, func.count()).group_by(AnalysisRow.model_name)
                ).all()
            )
            topics = s.scalars(
                select(AnalysisRow.topics).where(AnalysisRow.model_name == "bundled-corrections")
            ).all()
    finally:
        engine.dispose()
    assert by_model == {"bundled": 30, "bundled-corrections": 30}
    assert all("delivery" in t for t in topics)  # `repwatch score` learnt the topic labels


def test_with_corrections_and_none_in_the_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{tmp_path / 'empty.db'}")
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        main, ["models", "train", "--with-corrections", "--config", str(config.path)]
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: No sentiment or topic corrections in the database yet. Correct some "
        "mentions in the dashboard, then run this again.\n"
    )
    assert not (config.model_dir / "bundled-corrections").exists()


# -- backend selection ---------------------------------------------------------------------


def test_backend_is_chosen_by_the_model_name_in_the_config(tmp_path, small_corpus):
    from tests.tiny_model import THREE_LABELS, build_tiny_model

    config = write_config(tmp_path / "site")
    settings = config.settings.model
    assert settings.name == "bundled"
    default = load_scorer(settings.name, model_dir=config.model_dir)
    assert (type(default).__name__, default.model_name) == ("BundledScorer", "bundled")

    tiny = build_tiny_model(tmp_path / "tiny", THREE_LABELS)
    hub_config = write_config(tmp_path / "hub")
    text = hub_config.path.read_text(encoding="utf-8").replace(
        'name = "bundled"', f"name = {str(tiny)!r}"
    )
    hub_config.path.write_text(text, encoding="utf-8")
    hub_name = load_config(hub_config.path).settings.model.name
    hub = load_scorer(hub_name, model_dir=config.model_dir)
    assert type(hub).__name__ == "HubScorer"
    assert (
        hub.predict(["Great product, fast delivery and friendly support."])[0].label == "positive"
    )

    train_bundled(read_corpus(small_corpus), config.model_dir / "team-model")
    by_dir_name = load_scorer("team-model", model_dir=config.model_dir)
    by_path = load_scorer(str(config.model_dir / "team-model"), model_dir=config.model_dir)
    assert type(by_dir_name) is BundledScorer
    assert by_dir_name.revision == by_path.revision != default.revision


# -- errors --------------------------------------------------------------------------------


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "my-model"
    shutil.copytree(BUNDLED_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return copy


def test_missing_model_json_is_one_line_naming_the_model_and_the_way_out(model_copy):
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(ModelInvalid) as info:
        load_scorer(str(model_copy), model_dir=model_copy.parent)
    assert str(info.value) == (
        f"Bundled model 'my-model' in {model_copy} has no model.json. "
        f'Run: repwatch models train --out {model_copy}, or set [model] name = "bundled"'
    )


def test_missing_weights(model_copy):
    (model_copy / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelInvalid, match=r"^Bundled model 'bundled' in .* has no weights"):
        load_scorer(str(model_copy), model_dir=model_copy.parent)


def test_corrupt_weights(model_copy):
    (model_copy / WEIGHTS_FILE).write_bytes(b"not safetensors at all")
    with pytest.raises(ModelInvalid, match=r"has unreadable weights.safetensors"):
        load_scorer(str(model_copy), model_dir=model_copy.parent)


def test_weights_that_do_not_match_the_vocabulary(model_copy):
    spec = json.loads((model_copy / MODEL_FILE).read_text(encoding="utf-8"))
    spec["blocks"][0]["vocabulary"] = spec["blocks"][0]["vocabulary"][:-1]
    (model_copy / MODEL_FILE).write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ModelInvalid, match=r"has weights that do not match model.json \(coef"):
        load_scorer(str(model_copy), model_dir=model_copy.parent)


def test_unmappable_labels(model_copy):
    spec = json.loads((model_copy / MODEL_FILE).read_text(encoding="utf-8"))
    spec["labels"] = ["angry", "calm", "happy"]
    (model_copy / MODEL_FILE).write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ModelInvalid) as info:
        load_scorer(str(model_copy), model_dir=model_copy.parent)
    assert str(info.value).startswith(
        "Model 'bundled' has labels ['angry', 'calm', 'happy'] that repwatch cannot map"
    )


def test_broken_shipped_model_says_to_reinstall(model_copy, monkeypatch):
    (model_copy / WEIGHTS_FILE).unlink()
    monkeypatch.setattr(bundled, "BUNDLED_DIR", model_copy)
    monkeypatch.setattr(load, "BUNDLED_DIR", model_copy)
    with pytest.raises(ModelInvalid) as info:
        load_scorer("bundled", model_dir=model_copy.parent)
    assert str(info.value) == (
        f"Bundled model 'bundled' in {model_copy} has no weights.safetensors. "
        "Reinstall repwatch (pip install --force-reinstall repwatch) or run: "
        "repwatch models train"
    )


def test_unknown_id_offline_is_missing_not_bundled(tmp_path):
    with pytest.raises(ModelMissing, match=r"^Model 'nobody/no-such-model' is not on this"):
        load_scorer("nobody/no-such-model", model_dir=tmp_path)


def test_score_with_a_broken_model_touches_nothing_stored(model_copy, tmp_path, monkeypatch):
    (model_copy / WEIGHTS_FILE).write_bytes(b"\x00" * 10)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv(DATABASE_URL_ENV, db)
    config = write_config(tmp_path / "site")
    engine = open_database(db)
    with session_scope(engine) as s:
        queries.ensure_source(s, key="acme-reviews", kind="reviews", brand="acme", url="https://x")
        queries.upsert_mentions(
            s, [MentionRecord("acme-reviews", "acme", "https://x/1", "r1", "Rude staff.")]
        )
    result = CliRunner().invoke(
        main, ["score", "--config", str(config.path), "--model", str(model_copy)]
    )
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    assert result.output.startswith(
        f"Error: Bundled model 'bundled' in {model_copy} has unreadable"
    )
    with session_scope(engine) as s:
        stored = s.execute(select(MentionRow.language, func.count(AnalysisRow.id)).outerjoin(
            AnalysisRow, AnalysisRow.mention_id == MentionRow.id).group_by(MentionRow.language)
        ).all()  # fmt: skip
    engine.dispose()
    assert stored == [(None, 0)]  # no language detected, no analysis


def test_quality_bench_runs_the_bundled_model(tmp_path, capsys):
    from bench.quality import main as quality_main

    data = tmp_path / "clear.jsonl"
    rows = [
        {"id": f"{lang}{i}", "lang": lang, "text": text, "label": label}
        for lang in sorted(CLEAR)
        for i, (text, label) in enumerate(CLEAR[lang])
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert quality_main([str(data), "--model", "bundled"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"model bundled (revision {MODEL_VERSION}+")
    assert f": {len(rows)} texts in " in out[0]
    langs = [line.split(" | ")[0] for line in out[3:10]]
    assert langs == [f"| {lang}" for lang in sorted(CLEAR)] + ["| all"]


def test_train_into_an_unwritable_place_is_one_line(small_corpus, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = blocker / "model"
    result = CliRunner().invoke(
        main, ["models", "train", "--corpus", str(small_corpus), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: Cannot write the model to {out}: Not a directory. Pass --out DIR."
    )
