"""Time the weekly digest on a million mentions, in every format; prints medians.

    python bench/digest.py [--mentions 1000000] [--repeat 3] [--format html ...]
                           [--brand acme] [--fresh] [--profile]

Uses the SQLite data set of ``bench/dashboard_dataset.py``, generated once (a minute or
two) on the current schema and kept in the temp directory, keyed by size and generator
version. (Not the dashboard bench's file: that one may carry indexes the bench added by
hand, which the migrations cannot upgrade.) The digest is of the last complete ISO
week before the newest mention, written by ``write_digest`` exactly as ``repwatch
digest`` and the weekly job do: open the database, collect, render, write the file.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bench.dashboard_dataset import BRANDS, GENERATOR_VERSION, generate
from repwatch.config import Brand, Config, Settings
from repwatch.digest import FORMATS, Format, IsoWeek, write_digest
from repwatch.store import open_database, session_scope
from repwatch.store.schema import MentionRow

TARGET_SECONDS = 10.0


def sqlite_dataset(mentions: int, fresh: bool) -> Path:
    """The cached SQLite data set, generated when missing."""
    name = f"repwatch-digest-bench-{mentions}-v{GENERATOR_VERSION}.db"
    path = Path(tempfile.gettempdir()) / name
    if fresh:
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    if not path.exists():
        partial = path.with_suffix(".partial.db")
        for leftover in path.parent.glob(partial.name + "*"):
            leftover.unlink()
        engine = open_database(f"sqlite:///{partial}")
        started = time.perf_counter()
        print(f"generating {mentions} mentions into {path} ...", flush=True)
        generate(engine, mentions)
        engine.dispose()
        partial.rename(path)
        print(f"  done in {time.perf_counter() - started:.0f}s", flush=True)
    return path


def bench_config(database: Path, workdir: Path) -> Config:
    """A config for the data set's four brands (two competitors) on ``database``."""
    settings = Settings(
        database=f"sqlite:///{database}",
        brands={key: Brand(name=key.title(), competitor=rival) for key, rival in BRANDS.items()},
    )
    return Config(settings, workdir / "repwatch.toml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", dest="formats", action="append", choices=FORMATS)
    parser.add_argument("--brand", help="a brand key of the data set (default: all brands)")
    parser.add_argument("--fresh", action="store_true", help="generate the data set again")
    parser.add_argument("--profile", action="store_true", help="cProfile one html digest")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    database = sqlite_dataset(args.mentions, args.fresh)
    engine = open_database(f"sqlite:///{database}")  # migrates an older cached file once
    with session_scope(engine) as s:
        newest = s.scalar(select(func.max(MentionRow.published_at)))
    engine.dispose()
    assert newest is not None, "the data set is empty"
    now = newest + timedelta(minutes=1)  # the data set's "now": when it was generated
    week = IsoWeek.last_complete(now)
    print(f"digest of {week} ({week.label}), the data set's newest mention {newest:%Y-%m-%d}")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = bench_config(database, workdir)
        if args.profile:
            import cProfile
            import pstats

            with cProfile.Profile() as profiler:
                write_digest(config, week, "html", workdir, args.brand, now=now)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        for fmt in cast(list[Format], args.formats or list(FORMATS)):
            runs = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                write_digest(config, week, fmt, workdir, args.brand, now=now)
                runs.append(time.perf_counter() - started)
            median = statistics.median(runs)
            print(
                f"digest {fmt} on {args.mentions} mentions: median {median:.2f} s "
                f"(target {TARGET_SECONDS:.0f} s, ratio {median / TARGET_SECONDS:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
