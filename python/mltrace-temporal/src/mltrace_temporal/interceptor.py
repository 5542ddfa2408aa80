"""The worker interceptor: every activity attempt becomes a ComponentRun, as the TypeScript
plugin records it (packages/temporal/src/activity.ts): the same run key
`temporal:<namespace>/<workflowId>/<runId>/<activityId>/<attempt>`, workflow context from
`activity.info()` and from the lineage header, pointers from the arguments and the result
(declared with `component(...)`, added with `add_input`/`add_output`, else found
automatically), redacted and size-capped previews, the code snapshot and the git commit.

The attempt's own path does only this: note the start time and references to its arguments and
result, and queue a closure. The record is built and written by the writer's thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import temporalio.activity
import temporalio.exceptions
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from ._header import LINEAGE_HEADER, LineageHeader, parse_header
from ._pointers import find_pointers
from ._redact import DEFAULT_REDACT_KEYS, preview_value, redact_text, secret_key_test
from .store import LineageStore, open_store
from .workflow import LineageWorkflowInterceptor
from .writer import LineageWriter, WriterOptions, WriterStats

F = TypeVar("F", bound=Callable[..., Any])
Pointers = Iterable[str | Mapping[str, Any]] | str | Mapping[str, Any] | None


@dataclass(frozen=True)
class ComponentSpec:
    """What `component(...)` declares about an activity (mltrace's `@register`)."""

    name: str | None = None
    inputs: Callable[..., Pointers] | None = None
    """Input pointers from the arguments; default: automatic discovery."""
    outputs: Callable[..., Pointers] | None = None
    """Output pointers from (result, *args); default: automatic discovery."""
    auto_pointers: bool = False
    """Also discover pointers automatically on a side that has a declared extractor."""


_SPEC_ATTR = "__mltrace_component__"


def component(
    name: str | None = None,
    *,
    inputs: Callable[..., Pointers] | None = None,
    outputs: Callable[..., Pointers] | None = None,
    auto_pointers: bool = False,
) -> Callable[[F], F]:
    """Declares an activity as an mltrace component; returns the same function.

    Example::

        @component("training", inputs=lambda features: [features], outputs=lambda result, *_: [result["model"]])
        @activity.defn
        async def train(features: str) -> dict: ...
    """
    spec = ComponentSpec(name, inputs, outputs, auto_pointers)

    def attach(fn: F) -> F:
        setattr(fn, _SPEC_ATTR, spec)
        return fn

    return attach


def component_of(fn: Any) -> ComponentSpec | None:
    spec = getattr(fn, _SPEC_ATTR, None)
    if spec is None:
        spec = getattr(getattr(fn, "__wrapped__", None), _SPEC_ATTR, None)
    return spec if isinstance(spec, ComponentSpec) else None


@dataclass
class _Attempt:
    info: temporalio.activity.Info
    fn: Any
    args: Sequence[Any]
    header: Any
    started_at: float
    worker: str | None
    status: str = "running"
    ended_at: float | None = None
    result: Any = None
    error: BaseException | None = None
    inputs: list[Any] | None = None
    outputs: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    cancel_reason: str | None = None
    """Why the attempt was cancelled, in the TypeScript SDK's words (CANCELLED, TIMED_OUT...)."""


_current: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar("mltrace_attempt", default=None)


def add_input(*pointers: str | Mapping[str, Any]) -> bool:
    """Adds input pointers to the current attempt's run; False outside a recorded attempt."""
    attempt = _current.get()
    if attempt is None:
        return False
    attempt.inputs = [*(attempt.inputs or []), *pointers]
    return True


def add_output(*pointers: str | Mapping[str, Any]) -> bool:
    """Adds output pointers to the current attempt's run; False outside a recorded attempt."""
    attempt = _current.get()
    if attempt is None:
        return False
    attempt.outputs = [*(attempt.outputs or []), *pointers]
    return True


def add_metadata(metadata: Mapping[str, Any]) -> bool:
    """Merges free-form metadata (redacted, size-capped) into the current attempt's run."""
    attempt = _current.get()
    if attempt is None:
        return False
    attempt.metadata = {**(attempt.metadata or {}), **metadata}
    return True


def git_commit_of(env: Mapping[str, str], cwd: str) -> str | None:
    """`MLTRACE_GIT_COMMIT`, else `git rev-parse HEAD` in cwd, else None (once per worker)."""
    commit = env.get("MLTRACE_GIT_COMMIT", "").strip()
    if commit:
        return commit
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if re.fullmatch(r"[0-9a-f]{7,64}", out) else None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_key_of(info: temporalio.activity.Info) -> str:
    """`temporal:<namespace>/<workflowId>/<runId>/<activityId>/<attempt>` (as packages/core's temporalRunKey)."""
    workflow_id = info.workflow_id or "-standalone"
    run_id = info.workflow_run_id or info.activity_run_id or "-"
    return f"temporal:{info.namespace}/{workflow_id}/{run_id}/{info.activity_id}/{info.attempt}"


@dataclass
class MltraceOptions:
    """Options of the interceptor; defaults as the TypeScript plugin's."""

    store: LineageStore | Callable[[], LineageStore] | None = None
    """The store; default: `MLTRACE_DATABASE_URL` (PostgreSQL), else the embedded store."""
    writer: WriterOptions = field(default_factory=WriterOptions)
    component_name: Callable[[str, str | None], str] | None = None
    """(activity type, declared name) -> component name; default: declared, else the activity type."""
    auto_pointers: bool = True
    max_pointers: int = 32
    redact_keys: Sequence[str | re.Pattern[str]] = DEFAULT_REDACT_KEYS
    max_payload_chars: int = 4096
    max_string_chars: int = 256
    record_values: bool = True
    record_start: bool = True
    max_code_snapshot_chars: int = 20_000
    git_commit: str | bool | None = None
    """The worker's commit; None: MLTRACE_GIT_COMMIT, else `git rev-parse HEAD`; False: none."""
    worker: str | None = None
    """The worker's identity, kept in each run's metadata."""
    cwd: str = field(default_factory=os.getcwd)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class MltraceInterceptor(Interceptor):
    """Records every activity attempt of a worker as a ComponentRun, and propagates the lineage
    header in its workflows. Pass it to `Worker(..., interceptors=[MltraceInterceptor()])`, and
    call `close()` after the worker stops (it flushes)."""

    def __init__(self, options: MltraceOptions | None = None, **kwargs: Any) -> None:
        self.options = options or MltraceOptions(**kwargs)
        o = self.options
        o.writer.cwd = o.cwd
        if o.writer.spool_dir is None:
            from .writer import default_spool_dir

            o.writer.spool_dir = default_spool_dir(o.env, o.cwd)
        store = o.store if o.store is not None else (lambda: open_store(o.env, o.cwd))
        self.writer = LineageWriter(store, o.writer)
        self._secret_key = secret_key_test(o.redact_keys)
        self._code: dict[Any, str] = {}
        self._headers: dict[bytes, LineageHeader | None] = {}
        if o.git_commit is False or o.git_commit is True:
            self.git_commit = git_commit_of(o.env, o.cwd) if o.git_commit else None
        else:
            self.git_commit = o.git_commit or git_commit_of(o.env, o.cwd)
        self.attempts = 0

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return LineageWorkflowInterceptor

    def stats(self) -> WriterStats:
        return self.writer.stats()

    def flush(self, timeout: float = 30.0) -> bool:
        return self.writer.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        self.writer.close(timeout)

    # --- the hot path ------------------------------------------------------------------------

    def begin(self, input: ExecuteActivityInput) -> _Attempt:
        attempt = _Attempt(
            info=temporalio.activity.info(),
            fn=input.fn,
            args=input.args,
            header=input.headers.get(LINEAGE_HEADER),
            started_at=time.time(),
            worker=self.options.worker,
        )
        self.attempts += 1
        if self.options.record_start:
            self.writer.enqueue(lambda: self.build(attempt, "running"), run_key_of(attempt.info))
        return attempt

    def finish(self, attempt: _Attempt, status: str, result: Any = None, error: BaseException | None = None) -> None:
        if attempt.status != "running":
            return
        attempt.status = status
        if status != "pending":
            attempt.ended_at = time.time()
        attempt.result, attempt.error = result, error
        self.writer.enqueue(lambda: self.build(attempt, status), run_key_of(attempt.info))

    # --- the writer's thread -----------------------------------------------------------------

    def build(self, attempt: _Attempt, status: str) -> dict[str, Any]:
        o = self.options
        info = attempt.info
        spec = component_of(attempt.fn)
        header = self._header(attempt.header)
        final = status != "running"
        name = o.component_name(info.activity_type, spec.name if spec else None) if o.component_name else None
        component = name or (spec.name if spec and spec.name else info.activity_type)
        inputs = self._pointers("inputs", spec, attempt.args, None, attempt.inputs or [])
        outputs = (
            self._pointers("outputs", spec, attempt.args, attempt.result, attempt.outputs or [])
            if status == "succeeded"
            else list(attempt.outputs or [])
        )
        metadata: dict[str, Any] = {
            "activityType": info.activity_type,
            "activityId": info.activity_id,
            "isLocal": info.is_local,
            "taskQueue": info.task_queue,
            "scheduledAt": _iso(info.current_attempt_scheduled_time.timestamp()),
            "language": "python",
        }
        if attempt.worker:
            metadata["worker"] = attempt.worker
        if header:
            metadata["pipelineRun"] = header.pipeline_run.to_json()
        elif info.workflow_id:
            # No header: the workflow is its own pipeline run (the TypeScript plugin sends none then).
            metadata["pipelineRun"] = {"workflowId": info.workflow_id, "runId": info.workflow_run_id}
        if o.record_values:
            metadata["args"] = self._preview(list(attempt.args))
            if status == "succeeded" and attempt.result is not None:
                metadata["result"] = self._preview(attempt.result)
        if final and attempt.metadata:
            metadata["extra"] = self._preview(attempt.metadata)
        if attempt.cancel_reason:
            metadata["cancelReason"] = attempt.cancel_reason
        workflow: dict[str, Any] = {"namespace": info.namespace, "taskQueue": info.task_queue}
        if info.workflow_id:
            workflow["workflowId"] = info.workflow_id
            workflow["runId"] = info.workflow_run_id
        if info.workflow_type:
            workflow["workflowType"] = info.workflow_type
        if header and header.parent:
            workflow["parentWorkflowId"] = header.parent.workflow_id
        root = header.root.workflow_id if header and header.root else info.workflow_id
        if root:
            workflow["rootWorkflowId"] = root
        run: dict[str, Any] = {
            "runKey": run_key_of(info),
            "component": component,
            "source": "temporal",
            "status": status,
            "startedAt": _iso(attempt.started_at),
            "endedAt": _iso(attempt.ended_at) if attempt.ended_at is not None else None,
            "attempt": info.attempt,
            "workflow": workflow,
            "metadata": metadata,
            "inputs": inputs,
            "outputs": outputs,
        }
        if self.git_commit:
            run["gitCommit"] = self.git_commit
        code = self._code_of(attempt.fn)
        if code:
            run["codeSnapshot"] = code
        if final and attempt.error is not None and status != "pending":
            run["error"] = _error_of(attempt)
        return run

    def _preview(self, value: Any) -> Any:
        return preview_value(value, self._secret_key, self.options.max_string_chars, self.options.max_payload_chars)

    def _pointers(
        self, role: str, spec: ComponentSpec | None, args: Sequence[Any], result: Any, added: list[Any]
    ) -> list[Any]:
        found: list[Any] = []
        declared = (spec.inputs if role == "inputs" else spec.outputs) if spec else None
        if declared is not None:
            try:
                extracted = declared(*args) if role == "inputs" else declared(result, *args)
                if isinstance(extracted, (str, Mapping)):
                    found.append(extracted)
                elif extracted is not None:
                    found.extend(extracted)
            except Exception:
                pass  # a bad extractor never fails the record
        if (declared is None or (spec and spec.auto_pointers)) and self.options.auto_pointers:
            found.extend(
                find_pointers(list(args) if role == "inputs" else result, self._secret_key, self.options.max_pointers)
            )
        found.extend(added)
        return found[: max(1, self.options.max_pointers) * 2]

    def _header(self, payload: Any) -> LineageHeader | None:
        if payload is None:
            return None
        key = bytes(payload.data)
        if key not in self._headers:
            if len(self._headers) >= 1000:
                self._headers.clear()
            self._headers[key] = parse_header(payload)
        return self._headers[key]

    def _code_of(self, fn: Any) -> str | None:
        if self.options.max_code_snapshot_chars == 0 or fn is None:
            return None
        key = getattr(fn, "__wrapped__", fn)
        code = self._code.get(key)
        if code is None:
            try:
                code = inspect.getsource(key)[: self.options.max_code_snapshot_chars]
            except (OSError, TypeError):
                code = ""
            self._code[key] = code
        return code or None


def _error_of(attempt: _Attempt) -> dict[str, str]:
    error = attempt.error
    if attempt.status == "cancelled":
        return {"message": redact_text(attempt.cancel_reason or "CANCELLED"), "type": "CancelledFailure"}
    if attempt.cancel_reason in _SERVER_DROPPED:
        # The server timed the attempt out (a missed heartbeat, start-to-close) and will retry it.
        return {
            "message": f"the server timed this attempt out ({attempt.cancel_reason}): a missed heartbeat or"
            " its start-to-close timeout; Temporal retries it as the next attempt",
            "type": "TimeoutFailure",
        }
    kind = type(error).__name__
    if isinstance(error, temporalio.exceptions.ApplicationError) and error.type:
        kind = error.type
    # A Temporal failure's str() starts with its type ("GpuLost: ..."); the message alone, as TypeScript.
    message = error.message if isinstance(error, temporalio.exceptions.FailureError) else str(error)
    return {"message": redact_text(message), "type": kind}


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, root: MltraceInterceptor) -> None:
        super().__init__(next)
        self._root = root

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            attempt = self._root.begin(input)
        except Exception:
            return await super().execute_activity(input)
        token = _current.set(attempt)  # copied into a sync activity's thread by the SDK
        try:
            result = await super().execute_activity(input)
        except BaseException as error:
            attempt.cancel_reason = _cancel_reason()
            self._root.finish(attempt, _status_of(error, attempt.cancel_reason), None, error)
            raise
        finally:
            _current.reset(token)
        self._root.finish(attempt, "succeeded", result)
        return result


_SERVER_DROPPED = ("TIMED_OUT", "NOT_FOUND")
"""Cancellation reasons that mean the server no longer waits for the attempt: it failed."""


def _cancel_reason() -> str | None:
    """The attempt's cancellation reason, in the TypeScript SDK's words; None when not cancelled."""
    try:
        details = temporalio.activity.cancellation_details()
    except RuntimeError:
        return None
    if details is None:
        return None
    for flag, reason in (
        (details.cancel_requested, "CANCELLED"),
        (details.timed_out, "TIMED_OUT"),
        (details.not_found, "NOT_FOUND"),
        (details.paused, "PAUSED"),
        (details.reset, "RESET"),
        (details.worker_shutdown, "WORKER_SHUTDOWN"),
    ):
        if flag:
            return reason
    return "CANCELLED"


def _status_of(error: BaseException, cancel_reason: str | None) -> str:
    if type(error).__name__ == "_CompleteAsyncError":
        return "pending"
    if cancel_reason in _SERVER_DROPPED:
        return "failed"
    if isinstance(error, (asyncio.CancelledError, temporalio.exceptions.CancelledError)):
        return "cancelled"
    if cancel_reason is not None:
        return "cancelled"
    return "failed"
