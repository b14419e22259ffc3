"""Mention writes in a process of their own, so storing does not slow the crawl down.

Storing a review costs about as much CPU as Scrapy spends fetching a tenth of a page
(SQLAlchemy builds and runs the upsert in Python), and a crawl runs on one core.
``StoreProcess`` hands batches to ``python -m crawler.store_writer DATABASE_URL``, which
runs ``upsert_mentions`` and answers with a ``BatchResult`` per batch. Frames on its
stdin and stdout are length-prefixed pickles (both ends are this module). The child ends
when its stdin closes, so it also ends when the crawl is killed. A plain subprocess, not
``multiprocessing``: that would re-run the caller's main script in the child.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import operator
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from repwatch.records import MentionRecord, UpsertResult

log = logging.getLogger(__name__)

FIELDS = tuple(field.name for field in dataclasses.fields(MentionRecord))
_ROW = operator.attrgetter(*FIELDS)  # a record as a plain tuple, in C
_LENGTH = struct.Struct("!I")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """How one batch went: per-source counts, or the error that lost it."""

    size: int
    counts: dict[str, UpsertResult]
    error: str | None = None


def store_batch(session: Any, records: Sequence[MentionRecord]) -> dict[str, UpsertResult]:
    """Upsert ``records`` source by source in one transaction; the counts of each source."""
    from repwatch.store.queries import upsert_mentions

    by_source: dict[str, list[MentionRecord]] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record)
    return {key: upsert_mentions(session, rows) for key, rows in by_source.items()}


def _write(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    """The next frame; ``None`` at the end of the stream (or an empty frame)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    size = _LENGTH.unpack(head)[0]
    return pickle.loads(stream.read(size)) if size else None


def serve(database_url: str, source: IO[bytes], sink: IO[bytes]) -> None:
    """The child: store each batch read from ``source``, answer on ``sink``, until EOF."""
    from sqlalchemy.exc import SQLAlchemyError

    from repwatch.store import session_scope
    from repwatch.store.db import create_db_engine

    engine = create_db_engine(database_url)  # the parent opened (and migrated) it already
    try:
        while (rows := _read(source)) is not None:
            records = [MentionRecord(*row) for row in rows]
            # Answers are plain tuples: classes would be pickled as __main__.<name> here.
            try:
                with session_scope(engine) as session:
                    counts = store_batch(session, records)
                numbers = {k: (v.new, v.updated, v.unchanged) for k, v in counts.items()}
                answer: Any = (len(records), numbers, None)
            except SQLAlchemyError as exc:
                answer = (len(records), {}, str(exc).splitlines()[0])
            try:
                _write(sink, answer)
            except BrokenPipeError:  # the crawl is gone; nobody wants the answer
                return
    finally:
        engine.dispose()


class StoreProcess:
    """A child process storing batches; at most ``max_pending`` batches in flight."""

    def __init__(self, database_url: str, max_pending: int = 32) -> None:
        warnings = [arg for option in sys.warnoptions for arg in ("-W", option)]
        self.process = subprocess.Popen(
            [sys.executable, *warnings, "-m", "crawler.store_writer", database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.max_pending = max_pending
        self.sizes: list[int] = []  # records in each batch in flight, oldest first
        self.answers: queue.Queue[BatchResult | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read_answers, daemon=True)
        self.reader.start()
        # Writing to the pipe blocks while the child works on a batch; a thread of its own
        # does it, so the crawl never waits for the database.
        self.outbox: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue()
        self.sender = threading.Thread(target=self._send_batches, daemon=True)
        self.sender.start()

    def _send_batches(self) -> None:
        assert self.process.stdin is not None
        try:
            while (rows := self.outbox.get()) is not None:
                _write(self.process.stdin, rows)
        except OSError as exc:  # the child is gone; the reader reports the lost batches
            log.error("cannot hand batches to the store process: %s", exc)
        finally:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # EOF: the child finishes and exits

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        try:
            while (answer := _read(self.process.stdout)) is not None:
                size, counts, error = answer
                results = {key: UpsertResult(*numbers) for key, numbers in counts.items()}
                self.answers.put(BatchResult(size, results, error))
        except Exception as exc:  # a broken answer must not leave the crawl waiting
            log.error("lost the store process's answers: %s", exc)
        finally:
            self.answers.put(None)  # no more answers

    @property
    def alive(self) -> bool:
        """Whether the child still takes batches."""
        return self.process.poll() is None

    def submit(self, records: Sequence[MentionRecord]) -> Iterator[BatchResult]:
        """Queue a batch; yields results that are in (waits when too many are pending)."""
        yield from self.ready(wait_for=len(self.sizes) - self.max_pending + 1)
        self.outbox.put(list(map(_ROW, records)))
        self.sizes.append(len(records))

    def ready(self, wait_for: int = 0) -> Iterator[BatchResult]:
        """Results that are in; waits for ``wait_for`` of them first."""
        while self.sizes:
            try:
                answer = self.answers.get(block=wait_for > 0)
            except queue.Empty:
                return
            if answer is None:
                lost, self.sizes = sum(self.sizes), []
                code = self.process.poll()
                yield BatchResult(lost, {}, f"the store process ended (exit code {code})")
                return
            self.sizes.pop(0)
            wait_for -= 1
            yield answer

    def close(self) -> Iterator[BatchResult]:
        """Wait for every pending batch, then end the child process."""
        yield from self.ready(wait_for=len(self.sizes))
        self.outbox.put(None)
        self.sender.join(timeout=30)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


if __name__ == "__main__":
    # Ctrl-C and SIGTERM are for the crawl, which shuts down gracefully and then closes
    # our stdin; we stop at that EOF, after the last batch it sent.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.flush()
    os._exit(0)  # everything is committed: skip the interpreter's slow teardown
