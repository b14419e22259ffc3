"""Find a sentiment model and load it as a ``Scorer``: the bundled default or a hub model.

``load_scorer(model, model_dir=...)`` chooses the backend from ``model`` (``[model] name``):

1. ``"bundled"``: the offline classifier shipped with repwatch (``sentiment.bundled``).
2. An existing directory: a bundled-format model (``model.json``, as written by
   ``repwatch models train``) or a Hugging Face model directory (``config.json``).
3. A name found in ``model_dir`` (``org/name`` as ``org--name``, or a retrained model such
   as ``bundled-corrections``), loaded as in 2.
4. A Hugging Face id: the Hugging Face cache, then the Hub (``sentiment.hub``).

Only the hub backend imports torch and transformers, and only when it is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from sentiment.bundled import BUNDLED_DIR, BUNDLED_NAME, is_bundled_dir, load_bundled
from sentiment.labels import Prediction
from sentiment.pull import local_model_dir

__all__ = ["BUNDLED_NAME", "Prediction", "Scorer", "load_scorer"]


class Scorer(Protocol):
    """A loaded sentiment model. ``model_name`` and ``revision`` identify it in analyses."""

    model_name: str
    revision: str

    def predict(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """One prediction per text, in order; ``languages`` (ISO codes, or None when unknown)
        lets a model use what it knows of each text's language, and may be ignored."""
        ...


def load_scorer(
    model: str, *, model_dir: Path, revision: str | None = None, batch_size: int = 32
) -> Scorer:
    """Load ``model`` ("bundled", a directory, or a Hugging Face id) as a ``Scorer``.

    ``revision`` only applies to models taken from the Hub or its cache. Raises
    ``ModelMissing`` when the model is nowhere on this machine and cannot be downloaded,
    ``ModelInvalid`` when it is found but broken or its labels are not sentiment.
    """
    if model == BUNDLED_NAME:
        return load_bundled(BUNDLED_DIR, batch_size=max(batch_size, 256))
    for path in (Path(model).expanduser(), local_model_dir(model, model_dir)):
        if path.is_dir() and is_bundled_dir(path):
            return load_bundled(path, batch_size=max(batch_size, 256))
    from sentiment.hub import load_hub_scorer  # torch: only for hub models

    return load_hub_scorer(model, model_dir=model_dir, revision=revision, batch_size=batch_size)
