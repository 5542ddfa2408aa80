"""Units of the Python side: the same redaction, pointer and header rules as TypeScript, the
layout of mltrace_log_runs' arguments, and the writer's queue and spool."""

from __future__ import annotations

import json
import os
import threading

from mltrace_temporal import LINEAGE_HEADER, ExecutionRef, LineageHeader, StoreUnavailableError, WriterOptions, parse_header
from mltrace_temporal._pointers import find_pointers, infer_pointer_type, normalize_uri
from mltrace_temporal._redact import REDACTED, preview_value, redact_text, secret_key_test
from mltrace_temporal.store import log_runs_arguments, prepare_run
from mltrace_temporal.writer import LineageWriter, WriterStats

KEYS = secret_key_test()


def test_redacts_credentials_in_text_as_the_store_does() -> None:
    assert redact_text("postgres://bob:hunter2@db/x") == f"postgres://{REDACTED}@db/x"
    assert redact_text("GET /x?token=abc123def") == f"GET /x?token={REDACTED}"
    assert redact_text("Authorization: Bearer abcdefghijkl") == f"Authorization: Bearer {REDACTED}"
    assert redact_text('{"db_password": "s3cr3t!"}') == f'{{"db_password": "{REDACTED}"}}'
    assert redact_text("git@github.com:org/repo") == "git@github.com:org/repo"


def test_previews_redact_secret_keys_and_cap_sizes() -> None:
    preview = preview_value({"apiKey": "k", "rows": list(range(100)), "text": "x" * 1000}, KEYS, 256, 4096)
    assert preview["apiKey"] == REDACTED
    assert preview["rows"][-1] == {"$more": 50}
    assert preview["text"]["length"] == 1000 and len(preview["text"]["$truncated"]) == 256
    big = preview_value(["y" * 200] * 50, KEYS, 256, 1000)
    assert big["$truncated"] is True and len(json.dumps(big)) < 2000


def test_finds_pointers_and_normalises_them_as_typescript_does() -> None:
    found = find_pointers([{"output_dir": "out", "token": "/secret"}, "s3://b/k", "a b", "clean.csv"], KEYS)
    assert found == ["out", "s3://b/k", "clean.csv"]
    assert normalize_uri("data/../data/x.csv", "/w") == "file:///w/data/x.csv"
    assert normalize_uri("S3://KEY:SECRET@b/k?X-Amz-Signature=1&v=2", "/w") == "s3://b/k?v=2"
    assert normalize_uri("prediction-42", "/w") == "prediction-42"
    assert infer_pointer_type("models:/taxi/3") == "model"
    assert infer_pointer_type("file:///w/clean.csv") == "data"


def test_reads_and_writes_the_typescript_lineage_header() -> None:
    assert LINEAGE_HEADER == "mltrace-lineage"
    header = LineageHeader(ExecutionRef("wf", "r1"), ExecutionRef("root", "r0"), ExecutionRef("parent", "r2"))
    payload = header.to_payload()
    assert payload.metadata["encoding"] == b"json/plain"
    assert json.loads(payload.data) == {
        "v": 1,
        "pipelineRun": {"workflowId": "wf", "runId": "r1"},
        "root": {"workflowId": "root", "runId": "r0"},
        "parent": {"workflowId": "parent", "runId": "r2"},
    }
    assert parse_header(payload) == header
    payload.data = b"not json"
    assert parse_header(payload) is None


def run(key: str, status: str = "succeeded", **extra: object) -> dict[str, object]:
    return {"runKey": key, "component": "train", "status": status, "startedAt": "2026-01-01T00:00:00.000Z", **extra}


def test_lays_out_a_batch_as_the_write_function_reads_it() -> None:
    rows = [
        prepare_run(run("k1", inputs=["data/a.csv"], outputs=["model.pkl"], metadata={"password": "p"}), "/w"),
        prepare_run(run("k2", inputs=["model.pkl"]), "/w"),
        prepare_run(run("k1", outputs=["s3://b/extra"]), "/w"),
    ]
    runs, (p_runs, p_pointers, p_outputs, p_inputs, p_depends) = log_runs_arguments(rows)
    assert [r["run_key"] for r in runs] == ["k1", "k2"]
    assert json.loads(p_runs)[0]["metadata"] == {"password": REDACTED}
    pointers = json.loads(p_pointers)
    assert [p["uri"] for p in pointers] == ["file:///w/model.pkl", "s3://b/extra", "file:///w/data/a.csv"]
    assert pointers[2]["type"] == "data"
    assert json.loads(p_outputs) == [{"r": 1, "p": 1}, {"r": 1, "p": 2}]
    assert json.loads(p_inputs) == [{"r": 1, "p": 3}, {"r": 2, "p": 1}]
    assert p_depends == "[]"


class OutageStore:
    """A store whose outage the test switches (a fault a real server cannot be asked for here:
    the real outage is the cross-language test's)."""

    def __init__(self) -> None:
        self.down = True
        self.rows: list[dict[str, object]] = []
        self.lock = threading.Lock()

    def log_runs(self, runs: list[dict[str, object]]) -> list[int]:
        with self.lock:
            if self.down:
                raise StoreUnavailableError("down")
            self.rows.extend(runs)
            return list(range(len(runs)))

    def close(self) -> None:
        pass


def flush_until_replayed(writer: LineageWriter) -> WriterStats:
    """Flushes until the writer has replayed its spool (or ~4 s have passed); its stats then."""
    for _ in range(200):
        writer.flush()
        if not writer.stats().degraded:
            break
        threading.Event().wait(0.02)
    return writer.stats()


def test_spools_while_the_store_is_down_and_replays_every_record_once_back(tmp_path) -> None:
    store = OutageStore()
    spool = str(tmp_path / "spool")
    options = WriterOptions(flush_interval=0.02, max_attempts=2, initial_retry_delay=0.01, spool_dir=spool, spool_replay_interval=0.05, cwd="/w")
    writer = LineageWriter(store, options)
    for i in range(50):
        writer.enqueue(lambda i=i: run(f"k{i}"), f"k{i}")
    assert writer.flush()
    assert writer.stats().spooled == 50 and writer.stats().degraded
    assert os.listdir(spool)
    store.down = False
    stats = flush_until_replayed(writer)
    assert not stats.degraded and stats.replayed == 50 and stats.dropped == 0
    assert sorted(r["run_key"] for r in store.rows) == sorted(f"k{i}" for i in range(50))
    assert os.listdir(spool) == []
    writer.close()


def overflowing(spool_dir: str, count: int, prefix: str, **options: float) -> tuple[OutageStore, LineageWriter]:
    """A writer with a queue of 5 over a store that is up, `count` records enqueued at once."""
    store = OutageStore()
    store.down = False
    writer = LineageWriter(store, WriterOptions(max_queue_size=5, batch_size=1000, flush_interval=60, spool_dir=spool_dir, **options))
    for i in range(count):
        writer.enqueue(lambda i=i: run(f"{prefix}{i}"), f"{prefix}{i}")
    return store, writer


def test_spools_when_the_queue_fills_and_drops_only_beyond_twice_its_bound(tmp_path) -> None:
    spool = str(tmp_path / "spool")
    store, writer = overflowing(spool, 12, "k", spool_replay_interval=0.05)
    assert writer.stats().dropped == 2 and writer.stats().degraded
    stats = flush_until_replayed(writer)
    assert not stats.degraded and stats.spooled == 10 and stats.replayed == 10
    assert sorted(r["run_key"] for r in store.rows) == sorted(f"k{i}" for i in range(10))
    assert os.listdir(spool) == []
    writer.close()


def test_writes_to_the_store_when_the_queue_fills_and_the_spool_cannot_be_written(tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    store, writer = overflowing(str(blocker / "spool"), 8, "u")
    writer.close()
    stats = writer.stats()
    assert stats.dropped == 0 and stats.spooled == 0 and not stats.degraded
    assert sorted(r["run_key"] for r in store.rows) == sorted(f"u{i}" for i in range(8))


def test_close_replays_what_an_overflow_spooled(tmp_path) -> None:
    spool = str(tmp_path / "spool")
    store, writer = overflowing(spool, 9, "c", spool_replay_interval=60)
    writer.close()
    stats = writer.stats()
    assert stats.spooled == 9 and stats.replayed == 9 and stats.dropped == 0
    assert sorted(r["run_key"] for r in store.rows) == sorted(f"c{i}" for i in range(9))
    assert os.listdir(spool) == []


def test_names_the_end_of_an_attempt_as_the_typescript_plugin_does() -> None:
    import asyncio
    from typing import Any

    from temporalio.exceptions import ApplicationError

    from mltrace_temporal.interceptor import _Attempt, _error_of, _status_of

    def ended(status: str, error: BaseException, reason: str | None) -> dict[str, str]:
        info: Any = None
        attempt = _Attempt(info=info, fn=None, args=[], header=None, started_at=0.0, worker=None)
        attempt.status, attempt.error, attempt.cancel_reason = status, error, reason
        return _error_of(attempt)

    cancelled = asyncio.CancelledError()
    assert _status_of(cancelled, "CANCELLED") == "cancelled"
    assert ended("cancelled", cancelled, "CANCELLED") == {"message": "CANCELLED", "type": "CancelledFailure"}
    # The server dropped the attempt (a missed heartbeat): a failure of that attempt, retried.
    for reason in ("TIMED_OUT", "NOT_FOUND"):
        assert _status_of(cancelled, reason) == "failed"
        assert ended("failed", cancelled, reason)["type"] == "TimeoutFailure"
    failure = ApplicationError("bad input (password=hunter2)", type="BadInput")
    assert _status_of(failure, None) == "failed"
    assert ended("failed", failure, None) == {"message": f"bad input (password={REDACTED})", "type": "BadInput"}
