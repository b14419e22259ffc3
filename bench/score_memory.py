"""Whether scoring memory stays flat over many mentions: RSS while scoring 100,000.

    python bench/score_memory.py [--mentions 100000] [--batch-size 32] [--no-topics]

Stores synthetic reviews (bench/score_throughput.py's generator, every text different) in a
temporary SQLite database, then runs ``score_unscored`` with the bundled model and the
built-in topic detector, as ``repwatch score`` does. Prints the process's resident memory
(RSS, from /proc) after every tenth of the mentions, the growth from the first tenth to the
end, and the rate. Memory is flat when the growth is a few MB, not proportional to the count.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bench.score_throughput import review
from repwatch.records import MentionRecord
from repwatch.store import open_database, queries, session_scope
from sentiment.load import load_scorer
from sentiment.score import score_unscored
from sentiment.topics import builtin_detector

STORE_BATCH = 5_000


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def fill(engine: object, count: int) -> None:
    rng = random.Random(7)
    with session_scope(engine) as s:  # type: ignore[arg-type]
        queries.ensure_source(s, key="bench", kind="reviews", brand="acme", url="https://x")
    for start in range(0, count, STORE_BATCH):
        records = [
            MentionRecord(
                source="bench",
                brand="acme",
                url=f"https://shop.example/r/{i}",
                external_id=str(i),
                text=f"{review(rng)} Order {i}.",
            )
            for i in range(start, min(count, start + STORE_BATCH))
        ]
        with session_scope(engine) as s:  # type: ignore[arg-type]
            queries.upsert_mentions(s, records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-topics", action="store_true", help="sentiment only")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'memory.db'}")
        fill(engine, args.mentions)
        scorer = load_scorer("bundled", model_dir=Path(tmp))
        topics = None if args.no_topics else builtin_detector()
        state = "off" if topics is None else "on"
        print(f"{args.mentions} mentions stored; model {scorer.revision}, topics {state}; "
              f"RSS before scoring {rss_mb():.0f} MB")  # fmt: skip
        step = max(1, args.mentions // 10)
        samples: list[tuple[int, float]] = []

        def progress(done: int, total: int, seconds: float) -> None:
            if done // step > len(samples) - 1 or done == total:
                samples.append((done, rss_mb()))
                print(f"  {done:>7} scored  RSS {samples[-1][1]:7.1f} MB  {done / seconds:5.0f}/s")

        start = time.perf_counter()
        summary = score_unscored(
            engine, scorer, batch_size=args.batch_size, progress=progress, topics=topics
        )
        seconds = time.perf_counter() - start
        engine.dispose()
    first, last = samples[min(1, len(samples) - 1)][1], samples[-1][1]  # [0]: first batch
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"scored {summary.scored} in {seconds:.0f}s ({summary.scored / seconds:.0f}/s); "
          f"RSS after the first tenth {first:.0f} MB, at the end {last:.0f} MB "
          f"(growth {last - first:+.1f} MB), peak {peak:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
