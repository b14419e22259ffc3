"""Which customer-service topics a text talks about: multi-label, a score per topic.

``TopicDetector`` is built at load time (about 4 s) from the taxonomy
(``sentiment.taxonomy`` plus ``[topics]`` in repwatch.toml) and the project's labelled
corpus (``sentiment/corpus/<lang>.jsonl``, whose lines carry ``topics``). Two signals:

- a one-vs-rest logistic regression over character n-grams (scikit-learn), trained on
  every topic's examples and the corpus lines; character n-grams carry across
  inflections and the six languages without a tokenizer per language;
- keyword cues per topic and language (``TopicSpec.cues``), which catch short sentences
  the classifier has too little text for.

A topic's score is the larger of the two (a cue counts as ``CUE_SCORE``); topics scoring
``min_score`` or more are reported. A team's own topic (``[topics.<key>]`` with a few
examples) is just one more label, so it needs no code and no retraining step. The topic
corrections staff make in the dashboard join the training lines when ``repwatch models
train --with-corrections`` has written them beside the retrained model (``TOPICS_FILE``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.multiclass import OneVsRestClassifier

from sentiment.bundled import TOPICS_FILE
from sentiment.taxonomy import BUILTIN_TOPICS, TopicSpec

if TYPE_CHECKING:
    from repwatch.config import Topics

log = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).with_name("corpus")
# Tuned on the held-out fifth of the corpus (bench/topic_quality.py, README "Topics"): the
# classifiers are trained with balanced class weights, so they over-report. On the 11,593-line
# corpus 0.6 gives the best F1 (0.640; precision 0.59, recall 0.70) against 0.632 at 0.5
# (precision 0.52) and 0.577 at 0.7. A keyword cue alone (CUE_SCORE) still clears it.
DEFAULT_MIN_SCORE = 0.6
CUE_SCORE = 0.6
# Logistic regression by stochastic gradient descent: as good as liblinear on the held-out
# split and ten times faster to train, so the detector is built at load time in seconds.
SGD_ALPHA = 1e-4
SGD_EPOCHS = 30
MAX_FEATURES = 50_000


@dataclass(frozen=True, slots=True)
class TopicExample:
    """A labelled text to learn topics from: a corpus line or a taxonomy example."""

    text: str
    topics: frozenset[str]
    lang: str | None = None


def read_topic_corpus(directory: Path = CORPUS_DIR, pattern: str = "*.jsonl") -> list[TopicExample]:
    """Every corpus line with its topic keys (possibly none), files in name order.

    Lines that are not JSON objects with a text are skipped with a warning: the topic
    detector must not stop scoring over one bad line (``repwatch models train`` reports
    them as errors).
    """
    out: list[TopicExample] = []
    for path in sorted(directory.glob(pattern)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                topics = frozenset(str(t) for t in row.get("topics") or ())
            except (ValueError, KeyError, TypeError):
                log.warning("%s:%d: not a corpus line with a text; skipped", path, number)
                continue
            if isinstance(text, str) and text.strip():
                lang = row.get("lang") if isinstance(row.get("lang"), str) else path.stem
                out.append(TopicExample(text.strip(), topics, lang))
    return out


def cue_pattern(cues: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression for a topic's cues (``*`` = any word ending)."""
    parts = []
    for cue in cues:
        cue = cue.strip().lower()
        if not cue:
            continue
        body = r"\w*".join(re.escape(piece) for piece in cue.split("*"))
        parts.append(body if cue.endswith("*") else body + r"(?!\w)")
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")", re.IGNORECASE)


class TopicDetector:
    """Scores texts against a fixed set of topics. Build once, reuse for every batch."""

    def __init__(
        self,
        topics: Sequence[TopicSpec],
        corpus: Sequence[TopicExample] = (),
        *,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> None:
        self.topics = tuple(topics)
        self.keys = tuple(t.key for t in self.topics)
        self.min_score = min_score
        self._cues = [cue_pattern(t.cues) for t in self.topics]
        self._vectorizer: TfidfVectorizer | None = None
        self._model: OneVsRestClassifier | None = None
        # Which column of the classifier's output each topic is (None: no classifier).
        self._columns: list[int | None] = [None] * len(self.keys)
        self._fit(corpus)

    def _fit(self, corpus: Sequence[TopicExample]) -> None:
        known = set(self.keys)
        texts: list[str] = []
        labels: list[set[str]] = []
        for spec in self.topics:
            for example in spec.examples:
                texts.append(example)
                labels.append({spec.key})
        for line in corpus:
            texts.append(line.text)
            labels.append(set(line.topics) & known)
        learnable = [
            k for k in self.keys if 0 < sum(k in ls for ls in labels) < len(labels)
        ]  # a classifier needs examples with and without the topic
        if not learnable:
            return
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            sublinear_tf=True,
            max_features=MAX_FEATURES,
            dtype=np.float32,
        )
        features = self._vectorizer.fit_transform(texts)
        targets = np.array([[k in ls for k in learnable] for ls in labels], dtype=np.int8)
        self._model = OneVsRestClassifier(
            SGDClassifier(
                loss="log_loss",
                alpha=SGD_ALPHA,
                class_weight="balanced",
                max_iter=SGD_EPOCHS,
                tol=None,
                random_state=0,  # same corpus, same scores
            )
        ).fit(features, targets)
        column = {k: i for i, k in enumerate(learnable)}
        self._columns = [column.get(k) for k in self.keys]

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Every topic's score (0..1) for each text, in order."""
        if not texts:
            return []
        probs = None
        if self._model is not None and self._vectorizer is not None:
            probs = self._model.predict_proba(self._vectorizer.transform(texts))
        out: list[dict[str, float]] = []
        for row, text in enumerate(texts):
            found: dict[str, float] = {}
            for i, key in enumerate(self.keys):
                column = self._columns[i]
                score = 0.0 if probs is None or column is None else float(probs[row, column])
                cue = self._cues[i]
                if cue is not None and cue.search(text):
                    score = max(score, CUE_SCORE)
                found[key] = round(score, 4)
            out.append(found)
        return out

    def detect(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """The topics scoring at least ``min_score`` for each text (possibly none)."""
        return [{k: s for k, s in row.items() if s >= self.min_score} for row in self.scores(texts)]


def builtin_detector(*, min_score: float = DEFAULT_MIN_SCORE) -> TopicDetector:
    """The built-in taxonomy trained on the bundled corpus: what a default config gets."""
    return TopicDetector(BUILTIN_TOPICS, read_topic_corpus(), min_score=min_score)


def build_detector(settings: Topics, extra: Sequence[TopicExample] = ()) -> TopicDetector | None:
    """The detector ``[topics]`` in repwatch.toml asks for, or ``None`` when switched off.

    Built-in topics named in ``disable`` are left out; a ``[topics.<key>]`` table adds its
    examples and keywords to a built-in topic, or defines a topic of the team's own.
    ``extra`` (the team's corrected mentions) is learnt from beside the corpus.
    """
    if not settings.enabled:
        return None
    tables = settings.tables
    specs: list[TopicSpec] = []
    for spec in BUILTIN_TOPICS:
        if spec.key in settings.disable:
            continue
        table = tables.get(spec.key)
        if table is not None:
            spec = TopicSpec(
                key=spec.key,
                name=table.name or spec.name,
                description=table.description or spec.description,
                examples=(*spec.examples, *table.examples),
                cues=(*spec.cues, *table.keywords),
            )
        specs.append(spec)
    builtin = {spec.key for spec in BUILTIN_TOPICS}
    specs += [
        TopicSpec(key, t.name or key, t.description, tuple(t.examples), tuple(t.keywords))
        for key, t in tables.items()
        if key not in builtin
    ]
    corpus = read_topic_corpus() if settings.corpus else []
    return TopicDetector(specs, [*corpus, *extra], min_score=settings.min_score)


def detector_for_model(settings: Topics, scorer: object) -> TopicDetector | None:
    """``build_detector`` plus the topic corrections saved beside ``scorer``'s model, if any:
    what ``repwatch score`` and ``repwatch run`` score topics with."""
    return build_detector(settings, model_topic_examples(getattr(scorer, "path", None)))


def model_topic_examples(model_path: Path | None) -> list[TopicExample]:
    """The topic corrections saved beside a retrained model (none for other models)."""
    if model_path is None or not (model_path / TOPICS_FILE).is_file():
        return []
    examples = read_topic_corpus(model_path, pattern=TOPICS_FILE)
    log.info("topics: %d corrected mentions from %s", len(examples), model_path / TOPICS_FILE)
    return examples


def write_topic_examples(path: Path, examples: Sequence[TopicExample]) -> None:
    """Save corrected mentions as corpus-format lines (sorted keys: reproducible bytes)."""
    lines = [
        json.dumps(
            {"lang": e.lang, "text": e.text, "topics": sorted(e.topics)},
            ensure_ascii=False,
            sort_keys=True,
        )
        for e in examples
    ]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def topic_f1(detector: TopicDetector, examples: Sequence[TopicExample]) -> float:
    """Micro-F1 of the detected topic sets against ``examples``' topics."""
    found = detector.detect([e.text for e in examples])
    hits = sum(len(set(f) & e.topics) for f, e in zip(found, examples, strict=True))
    predicted = sum(len(f) for f in found)
    gold = sum(len(e.topics) for e in examples)
    return 2 * hits / (predicted + gold) if predicted + gold else 1.0
