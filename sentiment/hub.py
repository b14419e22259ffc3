"""The Hugging Face backend: a sequence-classification model from a directory or the Hub.

Resolution order for ``load_hub_scorer(model, model_dir=...)``:

1. ``model`` is an existing directory: load it.
2. ``model_dir/<org>--<name>`` exists (where ``repwatch models pull`` puts models): load it.
3. The Hugging Face cache, then the Hub (downloading into the cache).

Every model is loaded from a directory, so a broken one fails the same way wherever it
came from. The ``revision`` recorded with each analysis is the Hub commit for cached
models and a hash of the config and weights for local directories, so a changed model
gets a new revision and its mentions are scored again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from repwatch.errors import ModelInvalid, ModelMissing
from sentiment.labels import LabelMap, Prediction, label_map
from sentiment.pull import hub_problem, local_model_dir, needed_files, weight_files

log = logging.getLogger(__name__)

MAX_LENGTH = 512  # tokens; longer texts are truncated (reviews rarely come close)
# Names of the classification-head parameters of common sequence classifiers.
_HEAD_PREFIXES = ("classifier.", "pre_classifier.", "score.", "classification_head.")
EXPECTED_FILES = "config.json, tokenizer files, model.safetensors or pytorch_model.bin"

__all__ = ["HubScorer", "load_hub_scorer"]


class HubScorer:
    """A loaded Hugging Face sentiment model that turns texts into ``Prediction`` values.

    ``model_name`` and ``revision`` identify it in stored analyses; ``model`` and
    ``tokenizer`` are the underlying transformers objects; ``path`` is where it was loaded.
    """

    def __init__(
        self,
        *,
        model_name: str,
        revision: str,
        path: Path,
        model: Any,
        tokenizer: Any,
        labels: LabelMap,
        batch_size: int = 32,
    ) -> None:
        self.model_name = model_name
        self.revision = revision
        self.path = path
        self.batch_size = batch_size
        self.model = model
        self.tokenizer = tokenizer
        self._labels = labels
        limits = [MAX_LENGTH, getattr(model.config, "max_position_embeddings", MAX_LENGTH)]
        if tokenizer.model_max_length < 1_000_000:  # "no limit" is stored as a huge number
            limits.append(tokenizer.model_max_length)
        self.max_length = int(min(limits))

    def __repr__(self) -> str:
        return f"HubScorer({self.model_name!r}, revision={self.revision!r})"

    def predict(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """One prediction per text, in order. Texts are batched by length to save padding.

        ``languages`` is accepted for the ``Scorer`` protocol; a hub model reads any language.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[Prediction | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            for i, row in zip(chunk, self._probabilities([texts[i] for i in chunk]), strict=True):
                out[i] = self._labels.predict(row)
        return [p for p in out if p is not None]

    def _probabilities(self, texts: list[str]) -> list[list[float]]:
        batch = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            logits = self.model(**batch).logits
        rows: list[list[float]] = logits.float().softmax(dim=-1).tolist()
        return rows


def load_hub_scorer(
    model: str, *, model_dir: Path, revision: str | None = None, batch_size: int = 32
) -> HubScorer:
    """Load ``model`` (a Hugging Face id or a local directory) as a ``HubScorer``.

    ``revision`` (branch, tag or commit) only applies to models taken from the Hub or its
    cache. Raises ``ModelMissing`` when the model is nowhere on this machine and cannot be
    downloaded, ``ModelInvalid`` when it is found but broken or not a sentiment model.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return load_directory(path, name_for_directory(path, model_dir), None, batch_size)
    pulled = local_model_dir(model, model_dir)
    if pulled.is_dir():
        return load_directory(pulled, model, None, batch_size)
    return _load_from_hub(model, revision, batch_size)


def name_for_directory(path: Path, model_dir: Path) -> str:
    """``org/name`` for a pulled model (so both ways of naming it agree), else the dir name."""
    resolved = path.resolve()
    if resolved.parent == model_dir.expanduser().resolve() and "--" in resolved.name:
        return resolved.name.replace("--", "/", 1)
    return resolved.name


def _digest(path: Path) -> str:
    """A revision for a local directory: sha256 of its config and weights."""
    files = [path / "config.json", *_weight_files(path)]
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.name.encode())
        with file.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                sha.update(chunk)
    return f"sha256:{sha.hexdigest()[:16]}"


def _weight_files(path: Path) -> list[Path]:
    return [path / name for name in weight_files(p.name for p in path.iterdir() if p.is_file())]


def _load_from_hub(model: str, revision: str | None, batch_size: int) -> HubScorer:
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    try:
        config = hf_hub_download(model, "config.json", revision=revision, local_files_only=True)
    except Exception as exc:  # not cached (LocalEntryNotFoundError) or not an id at all
        log.debug("%s is not in the Hugging Face cache: %s", model, exc)
    else:
        snapshot = Path(config).parent  # .../snapshots/<commit>/config.json
        if _weight_files(snapshot):
            return load_directory(snapshot, model, snapshot.name, batch_size)
        log.info("cached copy of %s has no weights; asking the Hugging Face Hub", model)
    try:
        info = HfApi().model_info(model, revision=revision)
        files = needed_files(s.rfilename for s in info.siblings or ())
        folder = snapshot_download(model, revision=info.sha, allow_patterns=files)
    except Exception as exc:  # the hub client raises OSError, httpx and ValueError types
        problem = hub_problem(exc, revision)
        if problem.kind == "invalid":
            raise ModelMissing(
                f"Model {model!r} is neither a directory nor a Hugging Face model id "
                "(like 'org/name'). Pass --model PATH to a local copy of a model directory."
            ) from exc
        raise ModelMissing(
            f"Model {model!r} is not on this machine and cannot be downloaded "
            f"({problem.reason}). Pass --model PATH to a local copy, or run: "
            f"repwatch models pull {model}"
        ) from exc
    return load_directory(Path(folder), model, str(info.sha), batch_size)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No weight-loading progress bars or load-report tables: we report problems ourselves."""
    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_directory(path: Path, name: str, revision: str | None, batch_size: int) -> HubScorer:
    """Load a transformers sequence classification model from ``path``.

    ``revision`` None means a local directory: its revision is a hash of its files.
    """
    if not (path / "config.json").is_file():
        raise ModelInvalid(
            f"Model directory {path} has no config.json; expected a Hugging Face model "
            f"directory ({EXPECTED_FILES})."
        )
    if not _weight_files(path):
        raise ModelInvalid(
            f"Model directory {path} has no PyTorch weights (model.safetensors or "
            f"pytorch_model.bin); expected {EXPECTED_FILES}."
        )
    with _quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(path)
        except Exception as exc:  # ValueError, OSError, JSON errors: all mean a bad config
            raise ModelInvalid(
                f"Model directory {path} has an unusable config.json: {_first_line(exc)}"
            ) from exc
        labels = label_map(name, config.id2label)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
        except Exception as exc:
            raise ModelInvalid(
                f"Model directory {path} has missing or broken tokenizer files: {_first_line(exc)}"
            ) from exc
        try:
            network, info = AutoModelForSequenceClassification.from_pretrained(
                path, dtype=torch.float32, output_loading_info=True
            )
        except Exception as exc:  # safetensors, pickle and shape errors
            raise ModelInvalid(
                f"Model directory {path} has unusable weights: {_first_line(exc)}"
            ) from exc
    missing = sorted(info.get("missing_keys", ()))
    if missing:
        listed = ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else "")
        head_only = all(k.startswith(_HEAD_PREFIXES) for k in missing)
        raise ModelInvalid(
            f"Model directory {path} lacks trained weights for {listed}: "
            + (
                "it is a base model without a sentiment classification head. Expected a "
                "model fine-tuned for sentiment classification."
                if head_only
                else "its weights do not match its config.json. Copy the model again."
            )
        )
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # GPT-style models pad with end-of-text
        network.config.pad_token_id = tokenizer.pad_token_id
    network.eval()
    if revision is None:
        revision = _digest(path)
    log.info("loaded sentiment model %s (revision %s) from %s", name, revision, path)
    return HubScorer(
        model_name=name,
        revision=revision,
        path=path,
        model=network,
        tokenizer=tokenizer,
        labels=labels,
        batch_size=batch_size,
    )
