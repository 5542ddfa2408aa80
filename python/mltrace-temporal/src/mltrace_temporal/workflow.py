"""Workflow interceptors (sandbox-safe: pure code and temporalio.workflow only) that propagate the
lineage header as the TypeScript workflow interceptors do: activities and local activities get
the workflow's context; child workflows get it with this workflow as their parent;
continue-as-new runs keep the pipeline run. They add no commands, so histories replay unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import temporalio.workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    ContinueAsNewInput,
    ExecuteWorkflowInput,
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowOutboundInterceptor,
)

from ._header import LINEAGE_HEADER, UI_HEADER, ExecutionRef, LineageHeader, parse_header


class _State:
    def __init__(self) -> None:
        self.header: LineageHeader | None = None
        self.activity_payload: Payload | None = None
        self.child_payload: Payload | None = None
        self.ui_payload: Payload | None = None

    def start(self, headers: Mapping[str, Payload]) -> None:
        info = temporalio.workflow.info()
        incoming = parse_header(headers.get(LINEAGE_HEADER))
        this = ExecutionRef(info.workflow_id, info.run_id)
        root = incoming.root if incoming and incoming.root else None
        if root is None:
            root = ExecutionRef(info.root.workflow_id, info.root.run_id) if info.root else this
        parent = ExecutionRef(info.parent.workflow_id, info.parent.run_id) if info.parent else None
        if parent is None and incoming:
            parent = incoming.parent
        self.header = LineageHeader(incoming.pipeline_run if incoming else root, root, parent)
        self.ui_payload = headers.get(UI_HEADER)

    def activity_header(self) -> Payload:
        if self.activity_payload is None:
            assert self.header is not None
            self.activity_payload = self.header.to_payload()
        return self.activity_payload

    def child_header(self) -> Payload:
        if self.child_payload is None:
            assert self.header is not None
            info = temporalio.workflow.info()
            child = LineageHeader(self.header.pipeline_run, self.header.root, ExecutionRef(info.workflow_id, info.run_id))
            self.child_payload = child.to_payload()
        return self.child_payload

    def onward(self, headers: Mapping[str, Payload], lineage: Payload) -> dict[str, Payload]:
        out = {**headers, LINEAGE_HEADER: lineage}
        if self.ui_payload is not None and UI_HEADER not in headers:
            out[UI_HEADER] = self.ui_payload
        return out


class _Outbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, state: _State) -> None:
        super().__init__(next)
        self._state = state

    def start_activity(self, input: StartActivityInput) -> temporalio.workflow.ActivityHandle[Any]:
        input.headers = {**input.headers, LINEAGE_HEADER: self._state.activity_header()}
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> temporalio.workflow.ActivityHandle[Any]:
        input.headers = {**input.headers, LINEAGE_HEADER: self._state.activity_header()}
        return super().start_local_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> temporalio.workflow.ChildWorkflowHandle[Any, Any]:
        input.headers = self._state.onward(input.headers, self._state.child_header())
        return await super().start_child_workflow(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        input.headers = self._state.onward(input.headers, self._state.activity_header())
        super().continue_as_new(input)


class LineageWorkflowInterceptor(WorkflowInboundInterceptor):
    """The workflow side of the interceptor: reads the incoming lineage header, hands it on."""

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._state = _State()

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound, self._state))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        self._state.start(input.headers)
        return await super().execute_workflow(input)
