"""The lineage header (packages/temporal/src/workflow/header.ts): the pipeline context a workflow
hands to its activities, child workflows and continue-as-new runs, the same bytes in both
languages: a `json/plain` payload of `{"v": 1, "pipelineRun": {...}, "root"?: {...},
"parent"?: {...}}`, each an `{"workflowId", "runId"}`. Pure (no I/O): imported by workflow code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload

LINEAGE_HEADER = "mltrace-lineage"
"""Header key of the lineage context (the TypeScript plugin's LINEAGE_HEADER)."""

UI_HEADER = "mltrace-ui"
"""Header key of the mltrace UI base URL, handed on to children and continue-as-new runs."""


@dataclass(frozen=True)
class ExecutionRef:
    """A workflow execution."""

    workflow_id: str
    run_id: str

    def to_json(self) -> dict[str, str]:
        return {"workflowId": self.workflow_id, "runId": self.run_id}


@dataclass(frozen=True)
class LineageHeader:
    """The pipeline context: the pipeline run (first run of the root's continue-as-new chain),
    the root of the chain of parents, and the parent of the workflow."""

    pipeline_run: ExecutionRef
    root: ExecutionRef | None = None
    parent: ExecutionRef | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": 1, "pipelineRun": self.pipeline_run.to_json()}
        if self.root:
            out["root"] = self.root.to_json()
        if self.parent:
            out["parent"] = self.parent.to_json()
        return out

    def to_payload(self) -> Payload:
        # What the TypeScript defaultPayloadConverter writes: compact JSON, encoding json/plain.
        data = json.dumps(self.to_json(), separators=(",", ":")).encode()
        return Payload(metadata={"encoding": b"json/plain"}, data=data)


def _ref(value: Any) -> ExecutionRef | None:
    if isinstance(value, dict):
        workflow_id, run_id = value.get("workflowId"), value.get("runId")
        if isinstance(workflow_id, str) and isinstance(run_id, str):
            return ExecutionRef(workflow_id, run_id)
    return None


def parse_header(payload: Payload | None) -> LineageHeader | None:
    """The header of a payload; None when absent or malformed (never raises)."""
    if payload is None or not payload.data:
        return None
    try:
        if payload.metadata.get("encoding", b"json/plain") != b"json/plain":
            return None
        value = json.loads(payload.data)
    except Exception:
        return None
    if not isinstance(value, dict):
        return None
    pipeline_run = _ref(value.get("pipelineRun"))
    if pipeline_run is None:
        return None
    return LineageHeader(pipeline_run, _ref(value.get("root")), _ref(value.get("parent")))
