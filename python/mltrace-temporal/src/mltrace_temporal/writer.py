"""The queue between activities and the store (packages/temporal/src/writer.ts's contract): the
activity only appends a closure to a bounded in-memory queue; a background thread builds the
records, writes them in batches, retries with backoff, spills a batch it cannot write to a spool
of NDJSON files, and replays the spool when the store is back (and at the next start). Records
are idempotent by run key, so a batch written twice is written once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from itertools import islice
from dataclasses import dataclass, field
from typing import Any

from .store import InvalidRunError, LineageStore, StoreUnavailableError, prepare_run

logger = logging.getLogger("mltrace_temporal")

Record = Mapping[str, Any]


@dataclass
class WriterOptions:
    """Options of the writer; the defaults are the TypeScript plugin's."""

    max_queue_size: int = 10_000
    """Records kept in memory: when the queue is this full, records go to the spool until it has
    been replayed; at twice it new records are dropped (and counted)."""
    batch_size: int = 500
    """Records per `mltrace_log_runs` call."""
    flush_interval: float = 0.5
    """Seconds between flushes (a full batch flushes at once)."""
    max_attempts: int = 3
    """Tries per batch before spilling it to the spool."""
    initial_retry_delay: float = 0.2
    """First retry delay in seconds, doubled each retry."""
    max_retry_delay: float = 5.0
    spool_dir: str | None = field(default=None)
    """Directory of the spool; None: `$MLTRACE_HOME/spool/python`, else `.mltrace/spool/python`."""
    spool_replay_interval: float = 5.0
    """Seconds between replays of the spool while the store is away."""
    cwd: str = field(default_factory=os.getcwd)


@dataclass
class WriterStats:
    """What the writer has done (a copy)."""

    queued: int = 0
    coalesced: int = 0
    """Queued records replaced by a later record of the same run key before being written."""
    written: int = 0
    dropped: int = 0
    spooled: int = 0
    replayed: int = 0
    invalid: int = 0
    degraded: bool = False


def default_spool_dir(env: Mapping[str, str], cwd: str) -> str:
    # A folder of its own: the TypeScript writer's spool holds its own record shape.
    home = env.get("MLTRACE_HOME")
    base = os.path.join(cwd, home) if home else os.path.join(cwd, ".mltrace")
    return os.path.join(base, "spool", "python")


class LineageWriter:
    """Writes records to a store off the activity's path. Thread-safe; `enqueue` never blocks."""

    def __init__(self, store: LineageStore | Callable[[], LineageStore], options: WriterOptions | None = None) -> None:
        self.options = options or WriterOptions()
        self._store_or_factory = store
        self._store: LineageStore | None = None
        # Insertion-ordered by run key: a later record of a key replaces the queued one in its slot.
        self._queue: dict[str, Callable[[], Record]] = {}
        self._cond = threading.Condition()
        self._stats = WriterStats()
        self._closed = False
        self._busy = False
        self._spool_dir = self.options.spool_dir or default_spool_dir(os.environ, self.options.cwd)
        self._next_replay = 0.0
        # Degraded by a full queue, not a failing store: a spool that cannot be written falls back to the store.
        self._overflowed = False
        self._thread = threading.Thread(target=self._run, name="mltrace-writer", daemon=True)
        self._thread.start()

    def stats(self) -> WriterStats:
        with self._cond:
            return WriterStats(**{**self._stats.__dict__, "queued": len(self._queue)})

    def enqueue(self, build: Callable[[], Record], key: str) -> None:
        """Queues a record, built later by `build` in the writer's thread. Records of one run key
        coalesce while queued (an attempt's end replaces its `running` record): built and written once."""
        with self._cond:
            if key in self._queue:
                self._queue[key] = build
                self._stats.coalesced += 1
                return
            if len(self._queue) >= self.options.max_queue_size:
                if not self._stats.degraded:
                    # The store is alive but slower than the activities: spool from here on, in
                    # order (behind the batch in flight), rather than drop; replayed as after an outage.
                    self._stats.degraded = True
                    self._overflowed = True
                    self._next_replay = time.monotonic() + self.options.spool_replay_interval
                    logger.warning("mltrace: the lineage store is slower than the activities; spooling to %s", self._spool_dir)
                if len(self._queue) >= 2 * self.options.max_queue_size:
                    self._stats.dropped += 1
                    return
            self._queue[key] = build
            if len(self._queue) >= self.options.batch_size:
                self._cond.notify()

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until the queue is empty and no batch is in flight (written or spooled)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify()
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
                self._cond.notify()
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Flushes, stops the thread, tries once more to replay the spool, and closes the store it opened."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._stats.degraded and not self._thread.is_alive():
            # Spooled records (an outage, or a queue that filled) reach the store now if it is up.
            try:
                self._replay()
            except Exception:
                logger.exception("mltrace: the final spool replay failed")
        if self._store is not None:
            self._store.close()

    # --- the writer's thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._closed:
                    self._cond.wait(self.options.flush_interval)
                if self._closed and not self._queue:
                    return
                keys = list(islice(self._queue, self.options.batch_size))
                batch = [(key, self._queue.pop(key)) for key in keys]
                self._busy = True
            try:
                if batch:
                    self._write(self._build(batch))
                if time.monotonic() >= self._next_replay:
                    self._replay()
            except Exception:  # the thread never dies
                logger.exception("mltrace: the lineage writer failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _build(self, batch: list[tuple[str, Callable[[], Record]]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key, build in batch:
            try:
                rows.append(prepare_run(build(), self.options.cwd))
            except InvalidRunError as error:
                self._stats.invalid += 1
                logger.warning("mltrace: a run record was refused: %s", error)
            except Exception as error:
                self._stats.invalid += 1
                logger.warning("mltrace: cannot build the record of %s: %s", key, error)
        return rows

    def _store_now(self) -> LineageStore:
        if self._store is None:
            source = self._store_or_factory
            self._store = source() if callable(source) and not hasattr(source, "log_runs") else source  # type: ignore[assignment]
        assert self._store is not None
        return self._store

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._stats.degraded:
            # The store is away: straight to the spool, replayed in order with what is there.
            self._spool(rows)
            self._next_replay = min(self._next_replay, time.monotonic() + self.options.spool_replay_interval)
            return
        delay = self.options.initial_retry_delay
        for attempt in range(1, self.options.max_attempts + 1):
            try:
                self._store_now().log_runs(rows)
                with self._cond:
                    self._stats.written += len(rows)
                return
            except StoreUnavailableError as error:
                logger.debug("mltrace: store unavailable (try %d): %s", attempt, error)
            except Exception as error:
                logger.warning("mltrace: writing %d run(s) failed (try %d): %s", len(rows), attempt, error)
            if attempt < self.options.max_attempts:
                time.sleep(delay)
                delay = min(delay * 2, self.options.max_retry_delay)
        self._stats.degraded = True
        self._overflowed = False
        self._spool(rows)
        self._next_replay = time.monotonic() + self.options.spool_replay_interval

    def _spool(self, rows: list[dict[str, Any]]) -> None:
        try:
            os.makedirs(self._spool_dir, exist_ok=True)
            name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.ndjson"
            temp = os.path.join(self._spool_dir, f".{name}.tmp")
            with open(temp, "w", encoding="utf8") as f:
                for row in rows:
                    f.write(json.dumps(row, separators=(",", ":")) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, os.path.join(self._spool_dir, name))
            with self._cond:
                self._stats.spooled += len(rows)
        except OSError as error:
            if self._overflowed:
                # The store is alive (only the queue was full): write to it rather than lose the batch.
                logger.warning("mltrace: cannot spool to %s (%s); writing to the store instead", self._spool_dir, error)
                self._stats.degraded = False
                self._overflowed = False
                self._write(rows)
                return
            with self._cond:
                self._stats.dropped += len(rows)
            logger.error("mltrace: cannot spool %d run(s) to %s: %s", len(rows), self._spool_dir, error)

    def _replay(self) -> None:
        """Writes the spool's files, oldest first; stops at the first failure."""
        self._next_replay = time.monotonic() + self.options.spool_replay_interval
        try:
            names = sorted(n for n in os.listdir(self._spool_dir) if n.endswith(".ndjson"))
        except OSError:
            names = []
        for name in names:
            path = os.path.join(self._spool_dir, name)
            try:
                with open(path, encoding="utf8") as f:
                    rows = [json.loads(line) for line in f if line.strip()]
            except (OSError, ValueError) as error:
                logger.warning("mltrace: skipping unreadable spool file %s: %s", path, error)
                continue
            try:
                for start in range(0, len(rows), self.options.batch_size):
                    self._store_now().log_runs(rows[start : start + self.options.batch_size])
            except Exception as error:
                self._stats.degraded = True
                logger.debug("mltrace: spool replay deferred: %s", error)
                return
            os.remove(path)
            with self._cond:
                self._stats.replayed += len(rows)
                self._stats.written += len(rows)
        self._stats.degraded = False
        self._overflowed = False
