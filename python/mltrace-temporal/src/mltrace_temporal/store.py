"""The lineage store, as Python writes to it: one call of the database function `mltrace_log_runs`
(packages/store/migrations/0003_log_runs_function.sql) per batch, the function the TypeScript
store calls. Upsert by run key, pointers, inference, late-producer links and staleness all
happen there, once, for every language; this module only validates, redacts and lays out the
batch as the function's arguments, as packages/store/src/write.ts does.

Two ways to reach it, both PostgreSQL's wire protocol through psycopg:

- PostgreSQL (`MLTRACE_DATABASE_URL`): a connection to that database;
- the embedded store (the default): the process that owns `.mltrace/lineage` (a TypeScript
  worker, `mltrace serve`, any mltrace process that opened it) serves it on a unix socket named
  in its lock file `<dataDir>.lock`; this module connects there as postgres.js does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._pointers import infer_pointer_type, normalize_uri
from ._redact import redact_text, redact_uri, redact_value

DEFAULT_STALENESS_MS = 30 * 86_400_000
"""The store's default staleness threshold (packages/store/src/store.ts)."""

RUN_STATUSES = ("running", "pending", "succeeded", "failed", "cancelled")
POINTER_TYPES = ("data", "model", "endpoint", "metric", "unknown")


class StoreUnavailableError(Exception):
    """The store cannot be reached now (down, no owner serving the embedded store): retry later."""


class InvalidRunError(ValueError):
    """A run the store would refuse (a bad field): logged and dropped, never retried."""


class LineageStore(Protocol):
    """What the writer needs of a store."""

    def log_runs(self, runs: Sequence[Mapping[str, Any]]) -> list[int]:
        """Writes prepared runs (see prepare_run) in one call; returns their ids, in order."""
        ...

    def close(self) -> None: ...


def _text(value: Any) -> Any:
    return redact_text(value) if isinstance(value, str) else value


_CODE: dict[str, tuple[str, str]] = {}
"""Redacted code snapshots and their sha256, by text: a worker's snapshot (up to 20,000
characters) comes with every record of its activity, and the patterns over it cost far more than
a lookup (a str keeps its hash). Only snapshots, so one-off long texts do not evict them."""
_MAX_CODE = 256


def _code(code: str) -> tuple[str, str]:
    done = _CODE.get(code)
    if done is None:
        redacted = redact_text(code)
        done = (redacted, hashlib.sha256(redacted.encode()).hexdigest())
        if len(_CODE) >= _MAX_CODE:
            del _CODE[next(iter(_CODE))]
        _CODE[code] = done
    return done


def prepare_run(run: Mapping[str, Any], cwd: str) -> dict[str, Any]:
    """A run (ComponentRunInput's fields, camelCase as in TypeScript) as a row of `p_runs`, with
    its pointers normalised and typed, and the store's redaction policy applied. Raises
    InvalidRunError for what the store would refuse."""
    key = run.get("runKey")
    if not isinstance(key, str) or key == "":
        raise InvalidRunError("a run needs a runKey")
    where = f"run {key}"
    component = run.get("component")
    if not isinstance(component, str) or component.strip() == "":
        raise InvalidRunError(f"{where}: component must be a non-empty string")
    status = run.get("status", "succeeded")
    if status not in RUN_STATUSES:
        raise InvalidRunError(f"{where}: unknown status {status!r} (use {', '.join(RUN_STATUSES)})")
    started, ended = run.get("startedAt"), run.get("endedAt")
    if not isinstance(started, str):
        raise InvalidRunError(f"{where}: startedAt must be an ISO 8601 time")
    if ended is not None and ended < started:
        raise InvalidRunError(f"{where}: endedAt is before startedAt")
    workflow = redact_value(dict(run.get("workflow") or {}))
    error = run.get("error") or {}
    snapshot = run.get("codeSnapshot")
    code, code_hash = _code(snapshot) if isinstance(snapshot, str) and snapshot else (None, None)
    row: dict[str, Any] = {
        "run_key": redact_text(key),
        "component": redact_text(component.strip()),
        "source": run.get("source", "temporal"),
        "status": status,
        "started_at": started,
        "ended_at": ended,
        "attempt": run.get("attempt"),
        "git_commit": _text(run.get("gitCommit")),
        "code_hash": code_hash,
        "code_snapshot": code,
        "error_message": _text(error.get("message")),
        "error_type": _text(error.get("type")),
        "notes": _text(run.get("notes", "")),
        "namespace": workflow.get("namespace"),
        "workflow_id": workflow.get("workflowId"),
        "workflow_run_id": workflow.get("runId"),
        "workflow_type": workflow.get("workflowType"),
        "task_queue": workflow.get("taskQueue"),
        "parent_workflow_id": workflow.get("parentWorkflowId"),
        "root_workflow_id": workflow.get("rootWorkflowId"),
        "metadata": redact_value(dict(run.get("metadata") or {})),
        "inputs": _prepare_pointers(run.get("inputs") or [], cwd, f"{where} inputs"),
        "outputs": _prepare_pointers(run.get("outputs") or [], cwd, f"{where} outputs"),
    }
    return {k: v for k, v in row.items() if v is not None}


def _prepare_pointers(pointers: Sequence[Any], cwd: str, where: str) -> list[dict[str, str]]:
    out: dict[tuple[str, str], dict[str, str]] = {}
    for item in pointers:
        pointer = {"uri": item} if isinstance(item, str) else item
        if not isinstance(pointer, Mapping) or not isinstance(pointer.get("uri"), str):
            raise InvalidRunError(f"{where}: a pointer needs a string uri")
        version = pointer.get("version") or ""
        kind = pointer.get("type")
        if kind is not None and kind not in POINTER_TYPES:
            raise InvalidRunError(f"{where}: unknown pointer type {kind!r} (use {', '.join(POINTER_TYPES)})")
        try:
            uri = normalize_uri(redact_uri(pointer["uri"]), cwd)
        except ValueError as error:
            raise InvalidRunError(f"{where}: {error}") from error
        version = redact_text(str(version))
        out[(uri, version)] = {"uri": uri, "version": version, "type": kind or infer_pointer_type(uri)}
    return list(out.values())


def _merge(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Two rows of one run key become one: later fields win, I/O is unioned (write.ts mergeDuplicates)."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        earlier = merged.get(row["run_key"])
        if earlier is None:
            merged[row["run_key"]] = dict(row)
            continue

        def union(a: list[dict[str, str]], b: list[dict[str, str]]) -> list[dict[str, str]]:
            seen = {(p["uri"], p["version"]): p for p in a}
            for p in b:
                seen[(p["uri"], p["version"])] = p
            return list(seen.values())

        merged[row["run_key"]] = {
            **row,
            "metadata": {**earlier.get("metadata", {}), **row.get("metadata", {})},
            "inputs": union(earlier["inputs"], row["inputs"]),
            "outputs": union(earlier["outputs"], row["outputs"]),
        }
    return list(merged.values())


def log_runs_arguments(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The merged runs and the five JSON arguments of `mltrace_log_runs` (runs, pointers,
    outputs, inputs, depends_on), pointers listed once and named by position."""
    runs = _merge(rows)
    index: dict[tuple[str, str], int] = {}
    pointers: list[dict[str, str]] = []
    outputs: list[dict[str, int]] = []
    inputs: list[dict[str, int]] = []
    out_rows: list[dict[str, Any]] = []
    for r, run in enumerate(runs, start=1):
        for side, listed in ((outputs, run["outputs"]), (inputs, run["inputs"])):
            for pointer in listed:
                key = (pointer["uri"], pointer["version"])
                p = index.get(key)
                if p is None:
                    pointers.append(pointer)
                    p = index[key] = len(pointers)
                side.append({"r": r, "p": p})
        out_rows.append({k: v for k, v in run.items() if k not in ("inputs", "outputs")})
    return runs, [_dumps(out_rows), _dumps(pointers), _dumps(outputs), _dumps(inputs), "[]"]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


_SQL = (
    "SELECT mltrace_log_runs(%s::text::json, %s::text::json, %s::text::json, %s::text::json,"
    " %s::text::json, %s::float8)::text"
)

_CONNECTION_LOST = re.compile(r"connection|server closed|terminat|socket|refused|timeout", re.I)


class _PsycopgStore:
    """One psycopg connection, opened lazily and again after a failure."""

    def __init__(self, staleness_ms: float, connect_timeout: float) -> None:
        self._staleness_ms = staleness_ms
        self._connect_timeout = connect_timeout
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        raise NotImplementedError

    def log_runs(self, runs: Sequence[Mapping[str, Any]]) -> list[int]:
        import psycopg

        _, args = log_runs_arguments(runs)
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                with self._conn.cursor() as cur:
                    cur.execute(_SQL, (*args, self._staleness_ms))
                    row = cur.fetchone()
            except psycopg.Error as error:
                self._drop()
                if isinstance(error, psycopg.OperationalError) or _CONNECTION_LOST.search(str(error)):
                    raise StoreUnavailableError(str(error)) from error
                raise
        document = json.loads(row[0]) if row else {"ids": []}
        return [int(i) for i in document.get("ids", [])]

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def close(self) -> None:
        with self._lock:
            self._drop()


class PostgresStore(_PsycopgStore):
    """A PostgreSQL lineage store, migrated by the TypeScript side (`mltrace migrate`)."""

    def __init__(self, url: str, staleness_ms: float = DEFAULT_STALENESS_MS, connect_timeout: float = 5) -> None:
        super().__init__(staleness_ms, connect_timeout)
        self.url = url

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self._connect_timeout)), application_name="mltrace-python"
            )
        except psycopg.OperationalError as error:
            raise StoreUnavailableError(f"cannot connect to the lineage store: {error}") from error


def default_data_dir(env: Mapping[str, str] | None = None, cwd: str | None = None) -> str:
    """`$MLTRACE_HOME/lineage`, else `.mltrace/lineage` (the TypeScript store's defaultDataDir)."""
    env = os.environ if env is None else env
    cwd = os.getcwd() if cwd is None else cwd
    home = env.get("MLTRACE_HOME")
    return os.path.join(os.path.join(cwd, home) if home else os.path.join(cwd, ".mltrace"), "lineage")


@dataclass(frozen=True)
class EmbeddedOwner:
    """The process serving an embedded directory, from its lock file."""

    pid: int
    socket: str


def embedded_owner(data_dir: str) -> EmbeddedOwner | None:
    """The live owner of an embedded directory, or None (no lock, a dead owner, a bad lock)."""
    try:
        with open(f"{os.path.abspath(data_dir)}.lock", encoding="utf8") as f:
            lock = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(lock, dict) or lock.get("protocol") != 1:
        return None
    pid, socket = lock.get("pid"), lock.get("socket")
    if not isinstance(pid, int) or not isinstance(socket, str):
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass
    except OSError:
        return None
    return EmbeddedOwner(pid, socket)


class EmbeddedStore(_PsycopgStore):
    """The embedded store of a directory, through the unix socket its owner serves it on. With no
    owner running, writes fail as unavailable (the writer spools them until one is there)."""

    def __init__(self, data_dir: str, staleness_ms: float = DEFAULT_STALENESS_MS, connect_timeout: float = 5) -> None:
        super().__init__(staleness_ms, connect_timeout)
        self.data_dir = os.path.abspath(data_dir)

    def _connect(self) -> Any:
        import psycopg

        owner = embedded_owner(self.data_dir)
        if owner is None:
            raise StoreUnavailableError(
                f"no mltrace process serves the embedded store {self.data_dir}: start one (a TypeScript"
                " worker with the plugin, or `npx mltrace serve`), or use PostgreSQL (MLTRACE_DATABASE_URL)"
            )
        socket_dir, name = os.path.split(owner.socket)
        port = name.rsplit(".", 1)[-1] if name.startswith(".s.PGSQL.") else "5432"
        try:
            return psycopg.connect(
                host=socket_dir,
                port=port,
                user="postgres",
                dbname="postgres",
                sslmode="disable",
                autocommit=True,
                connect_timeout=max(1, int(self._connect_timeout)),
                application_name="mltrace-python",
            )
        except psycopg.OperationalError as error:
            raise StoreUnavailableError(f"cannot connect to the embedded store's owner (pid {owner.pid}): {error}") from error


def open_store(env: Mapping[str, str] | None = None, cwd: str | None = None) -> LineageStore:
    """The store the environment names: `MLTRACE_DATABASE_URL` (PostgreSQL), else the embedded
    store under `MLTRACE_HOME` (default `.mltrace`)."""
    env = os.environ if env is None else env
    url = env.get("MLTRACE_DATABASE_URL")
    if url:
        return PostgresStore(url)
    return EmbeddedStore(default_data_dir(env, cwd))
