"""The bundled offline backend: a compact multilingual classifier that ships with repwatch.

TF-IDF character n-grams (within word boundaries) plus word n-grams, and a few polarity
features from the project's lexicons (``sentiment.polarity``), feed a multinomial logistic
regression, trained by ``sentiment.train`` on the project's own corpus in six languages.
It needs no network, no torch and no download: ``load_bundled()`` reads the files beside
this module.

A model directory holds two files, neither a pickle:

- ``model.json``: format, name, version, labels, the n-gram settings and vocabulary of
  each feature block, the polarity lexicons, and how it was trained (sorted keys, so the
  bytes are reproducible);
- ``weights.safetensors``: each block's ``<block>.idf``, plus ``coef`` (labels x features)
  and ``intercept``, as float32.

The revision recorded with every analysis is ``<version>+<sha256 of both files>``, so a
retrained model gets a new revision and the old analyses stay for comparison.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repwatch.errors import ModelInvalid
from sentiment.labels import LabelMap, Prediction, label_map
from sentiment.polarity import FEATURES, PolarityFeatures

log = logging.getLogger(__name__)

BUNDLED_NAME = "bundled"  # the [model] name that selects the shipped model
BUNDLED_DIR = Path(__file__).parent
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
TOPICS_FILE = "topics.jsonl"  # the team's topic corrections (repwatch models train --with-...)
FORMAT = "repwatch-bundled-sentiment/1"
REINSTALL = (
    "Reinstall repwatch (pip install --force-reinstall repwatch) or run: repwatch models train"
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_REPEAT = re.compile(r"(.)\1{3,}")


def normalise(text: str) -> str:
    """The text the features see: URLs and @handles replaced, long letter runs shortened.

    Training and scoring both use this, so "soooooo" and "sooo" share their n-grams.
    """
    text = _URL.sub(" URL ", text)
    text = _HANDLE.sub(" @USER ", text)
    return _REPEAT.sub(r"\1\1\1", text)


@dataclass(frozen=True, slots=True)
class FeatureBlock:
    """One TF-IDF block: its analyzer settings and vocabulary (feature i is vocabulary[i])."""

    name: str
    analyzer: str  # "char_wb" or "word"
    ngram_range: tuple[int, int]
    vocabulary: tuple[str, ...]

    def vectorizer(self, idf: np.ndarray[Any, Any]) -> Any:
        """A fitted scikit-learn ``TfidfVectorizer`` with this vocabulary and ``idf``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = vectorizer_for(self.analyzer, self.ngram_range, vocabulary=self.vocabulary)
        vec.idf_ = idf.astype(np.float64)
        assert isinstance(vec, TfidfVectorizer)
        return vec


def vectorizer_for(
    analyzer: str,
    ngram_range: tuple[int, int],
    *,
    vocabulary: Sequence[str] | None = None,
    **kw: Any,
) -> Any:
    """The ``TfidfVectorizer`` used for a block, in training (``kw``) and in scoring."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if analyzer == "word":  # words, and each emoji or sign on its own
        kw["token_pattern"] = r"(?u)\b\w+\b|[^\w\s]"
    return TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=ngram_range,
        lowercase=True,
        sublinear_tf=True,
        dtype=np.float32,
        vocabulary=list(vocabulary) if vocabulary is not None else None,
        **kw,
    )


class BundledScorer:
    """The bundled classifier as a ``Scorer``: ``predict(texts) -> list[Prediction]``."""

    def __init__(
        self,
        *,
        model_name: str,
        revision: str,
        path: Path,
        blocks: Sequence[tuple[FeatureBlock, Any]],
        coef: np.ndarray[Any, Any],
        intercept: np.ndarray[Any, Any],
        labels: LabelMap,
        polarity: PolarityFeatures | None = None,
        polarity_scale: float = 1.0,
        batch_size: int = 256,
    ) -> None:
        self.model_name = model_name
        self.revision = revision
        self.path = path
        self.batch_size = batch_size
        self._blocks = blocks
        self._coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)
        self._intercept = intercept.astype(np.float32)
        self._labels = labels
        self._polarity = polarity
        self._polarity_scale = polarity_scale

    def __repr__(self) -> str:
        return f"BundledScorer({self.model_name!r}, revision={self.revision!r})"

    def features(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> Any:
        """The sparse feature matrix of ``texts`` (one row per text).

        ``languages`` (ISO codes, ``None`` when unknown) picks each text's lexicon.
        """
        from scipy.sparse import csr_matrix, hstack

        clean = [normalise(t) for t in texts]
        matrices = [vec.transform(clean) for _, vec in self._blocks]
        if self._polarity is not None:
            dense = np.asarray(self._polarity.transform(clean, languages), dtype=np.float32)
            matrices.append(csr_matrix(dense.reshape(len(clean), len(FEATURES))
                                       * self._polarity_scale))  # fmt: skip
        return hstack(matrices, format="csr")

    def probabilities(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray[Any, Any]:
        """Class probabilities, one row per text, columns in the model's label order."""
        logits = self.features(texts, languages) @ self._coef_t + self._intercept
        logits = np.asarray(logits, dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """One prediction per text, in order; short sentences work as well as reviews.

        ``languages`` (one per text, ``None`` when unknown) picks the lexicon of each text.
        """
        out: list[Prediction] = []
        for start in range(0, len(texts), self.batch_size):
            end = start + self.batch_size
            langs = languages[start:end] if languages is not None else None
            rows = self.probabilities(texts[start:end], langs)
            out.extend(self._labels.predict(row) for row in rows.tolist())
        return out


def revision_of(path: Path) -> str:
    """``<version>+<hash>`` of a model directory: the version, and sha256 of its files.

    The topic corrections saved beside a retrained model count: new labels, new revision.
    """
    sha = hashlib.sha256()
    for name in (MODEL_FILE, WEIGHTS_FILE, TOPICS_FILE):
        if name == TOPICS_FILE and not (path / name).is_file():
            continue
        sha.update(name.encode())
        sha.update((path / name).read_bytes())
    version = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))["version"]
    return f"{version}+{sha.hexdigest()[:12]}"


def is_bundled_dir(path: Path) -> bool:
    """Whether ``path`` holds a bundled-format model (its files, and no ``config.json``)."""
    ours = (path / MODEL_FILE).is_file() or (path / WEIGHTS_FILE).is_file()
    return ours and not (path / "config.json").is_file()


def _broken(path: Path, name: str, what: str) -> ModelInvalid:
    how = (
        REINSTALL
        if path.resolve() == BUNDLED_DIR.resolve()
        else (f'Run: repwatch models train --out {path}, or set [model] name = "bundled"')
    )
    return ModelInvalid(f"Bundled model {name!r} in {path} {what}. {how}")


def load_bundled(path: Path = BUNDLED_DIR, *, batch_size: int = 256) -> BundledScorer:
    """Load the bundled-format model in ``path`` (by default the one shipped with repwatch).

    Raises ``ModelInvalid`` naming the model and the way out when a file is missing or broken,
    or when its labels cannot be mapped to sentiment.
    """
    name = BUNDLED_NAME if path.resolve() == BUNDLED_DIR.resolve() else path.name
    if not (path / MODEL_FILE).is_file():
        raise _broken(path, name, f"has no {MODEL_FILE}")
    try:
        spec = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
        if spec.get("format") != FORMAT:
            raise ValueError(f"format is {spec.get('format')!r}, expected {FORMAT!r}")
        name = str(spec["name"])
        blocks = [
            FeatureBlock(
                name=str(b["name"]),
                analyzer=str(b["analyzer"]),
                ngram_range=(int(b["ngram_range"][0]), int(b["ngram_range"][1])),
                vocabulary=tuple(b["vocabulary"]),
            )
            for b in spec["blocks"]
        ]
        labels = [str(x) for x in spec["labels"]]
        lexicon = spec.get("lexicon")
        polarity = PolarityFeatures(lexicon) if lexicon else None
        polarity_scale = float(spec.get("polarity_scale", 1.0))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise _broken(path, name, f"has an unusable {MODEL_FILE} ({exc})") from exc
    mapping = label_map(name, dict(enumerate(labels)))
    if not (path / WEIGHTS_FILE).is_file():
        raise _broken(path, name, f"has no {WEIGHTS_FILE}")
    tensors = _read_weights(path, name)
    n_features = sum(len(b.vocabulary) for b in blocks) + (len(FEATURES) if polarity else 0)
    expected = {"coef": (len(labels), n_features), "intercept": (len(labels),)}
    expected.update({f"{b.name}.idf": (len(b.vocabulary),) for b in blocks})
    for key, shape in expected.items():
        if key not in tensors or tuple(tensors[key].shape) != shape:
            found = tuple(tensors[key].shape) if key in tensors else "missing"
            raise _broken(path, name, f"has weights that do not match {MODEL_FILE} "
                          f"({key}: {found}, expected {shape})")  # fmt: skip
    fitted = [(b, b.vectorizer(tensors[f"{b.name}.idf"])) for b in blocks]
    revision = revision_of(path)
    log.info("loaded bundled sentiment model %s (revision %s) from %s", name, revision, path)
    return BundledScorer(
        model_name=name,
        revision=revision,
        path=path,
        blocks=fitted,
        coef=tensors["coef"],
        intercept=tensors["intercept"],
        labels=mapping,
        polarity=polarity,
        polarity_scale=polarity_scale,
        batch_size=batch_size,
    )


def _read_weights(path: Path, name: str) -> dict[str, np.ndarray[Any, Any]]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path / WEIGHTS_FILE))
    except (OSError, ValueError, SafetensorError) as exc:
        raise _broken(path, name, f"has unreadable {WEIGHTS_FILE} ({exc})") from exc


def save_model(
    directory: Path, spec: dict[str, Any], tensors: dict[str, np.ndarray[Any, Any]]
) -> str:
    """Write ``model.json`` and ``weights.safetensors`` byte-reproducibly; return the revision."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "format": FORMAT}
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    (directory / MODEL_FILE).write_text(text + "\n", encoding="utf-8")
    ordered = {k: np.ascontiguousarray(tensors[k], dtype=np.float32) for k in sorted(tensors)}
    save_file(ordered, str(directory / WEIGHTS_FILE), metadata={"format": FORMAT})
    (directory / WEIGHTS_FILE).chmod(0o644)  # package data: readable by every user
    return revision_of(directory)
