"""Download a model from the Hugging Face Hub into the model directory (``repwatch models pull``).

Only the files transformers needs are fetched: ``config.json``, the tokenizer files and one
set of weights (safetensors when the repository has them, else ``pytorch_model.bin``), so a
repository that also ships ONNX, TensorFlow or training files costs no extra download.
``load_scorer`` finds the result by model id, with no network, on an offline server.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from repwatch.errors import ModelInvalid, ModelMissing
from sentiment.labels import label_map

log = logging.getLogger(__name__)

TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
    }
)
_SAFETENSORS = re.compile(r"model(-\d+-of-\d+)?\.safetensors(\.index\.json)?")
_PYTORCH_BIN = re.compile(r"pytorch_model(-\d+-of-\d+)?\.bin(\.index\.json)?")


def local_model_dir(model_id: str, model_dir: Path) -> Path:
    """Where ``model_id`` lives inside ``model_dir``: ``org/name`` becomes ``org--name``."""
    return model_dir / model_id.replace("/", "--")


def weight_files(names: Iterable[str]) -> list[str]:
    """The weight files among ``names``: safetensors if there are any, else PyTorch pickles."""
    names = list(names)
    safetensors = [n for n in names if _SAFETENSORS.fullmatch(n)]
    return sorted(safetensors or [n for n in names if _PYTORCH_BIN.fullmatch(n)])


def needed_files(repo_files: Iterable[str]) -> list[str]:
    """The files of a repository that loading it with transformers needs, sorted.

    Only top-level files count; sentencepiece models (``*.model``) are tokenizer files.
    """
    top = [f for f in repo_files if "/" not in f]
    weights = weight_files(top)
    rest = [f for f in top if f == "config.json" or f in TOKENIZER_FILES or f.endswith(".model")]
    return sorted({*weights, *rest})


@dataclass(frozen=True, slots=True)
class HubProblem:
    """Why a Hugging Face Hub request failed, in a few words."""

    reason: str
    # "unreachable": offline, no connection or a Hub failure (copying the model helps);
    # "unknown": no such model or revision; "invalid": not a model id at all.
    kind: Literal["unreachable", "unknown", "invalid"]


def hub_problem(exc: Exception, revision: str | None) -> HubProblem:
    """Classify an exception raised by ``huggingface_hub``."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(causes) < 10:
        causes.append(current)
        current = current.__cause__ or current.__context__
    root = causes[-1]
    detail = f"{type(root).__name__}: {(str(root).strip().splitlines() or [''])[0]}"
    if any(isinstance(c, OfflineModeIsEnabled) for c in causes):
        return HubProblem(
            "HF_HUB_OFFLINE is set, so the Hugging Face Hub is not asked", "unreachable"
        )
    if isinstance(exc, RevisionNotFoundError):
        return HubProblem(f"the Hugging Face Hub has no revision {revision!r} of it", "unknown")
    if isinstance(exc, RepositoryNotFoundError):  # also gated and private repositories
        return HubProblem(
            "the Hugging Face Hub has no such model, or it is private or gated", "unknown"
        )
    if isinstance(exc, HFValidationError):
        return HubProblem("it is neither a directory nor a Hugging Face model id", "invalid")
    if isinstance(exc, HfHubHTTPError):
        return HubProblem(f"the Hugging Face Hub answered with an error ({detail})", "unreachable")
    return HubProblem(f"no connection to the Hugging Face Hub ({detail})", "unreachable")


def _check_labels(model_id: str, config_path: Path) -> None:
    """Fail early, before the weights are downloaded, if the labels are not sentiment."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelInvalid(f"Model {model_id!r} has an unreadable config.json: {exc}") from exc
    id2label = config.get("id2label") or {
        str(i): f"LABEL_{i}" for i in range(int(config.get("num_labels", 2)))
    }
    label_map(model_id, id2label)


def pull_model(model_id: str, model_dir: Path, revision: str | None = None) -> Path:
    """Download ``model_id`` (at ``revision``) into ``model_dir/<org>--<name>``; return that path.

    Raises ``ModelMissing`` when the Hub cannot be reached or has no such model, and
    ``ModelInvalid`` when the model's labels are not sentiment labels.
    """
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    target = local_model_dir(model_id, model_dir)
    fresh = not target.exists()
    try:
        info = HfApi().model_info(model_id, revision=revision)
        files = needed_files(s.rfilename for s in info.siblings or ())
        if "config.json" not in files:
            raise ModelInvalid(
                f"Model {model_id!r} has no config.json on the Hugging Face Hub; "
                "expected a transformers sequence classification model."
            )
        if not weight_files(files):
            raise ModelInvalid(
                f"Model {model_id!r} has no PyTorch weights (model.safetensors or "
                "pytorch_model.bin) on the Hugging Face Hub."
            )
        config = hf_hub_download(model_id, "config.json", revision=info.sha, local_dir=target)
        _check_labels(model_id, Path(config))
        log.info("downloading %s (%s) into %s: %s", model_id, info.sha, target, ", ".join(files))
        snapshot_download(model_id, revision=info.sha, local_dir=target, allow_patterns=files)
    except Exception as exc:
        if fresh:  # a half-downloaded directory would later be found and fail to load
            shutil.rmtree(target, ignore_errors=True)
        if isinstance(exc, ModelInvalid):
            raise
        problem = hub_problem(exc, revision)  # OSError, httpx and ValueError types
        if problem.kind != "unreachable":
            raise ModelMissing(f"Cannot download model {model_id!r}: {problem.reason}.") from exc
        raise ModelMissing(
            f"Cannot reach the Hugging Face Hub to download {model_id}: {problem.reason}; "
            "copy the model directory from a machine with internet access to "
            f"{target.absolute()} instead."
        ) from exc
    return target
