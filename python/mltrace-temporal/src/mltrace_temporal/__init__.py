"""mltrace for Temporal's Python SDK: records every activity attempt as a ComponentRun in the same
lineage store, with the same contract, as the TypeScript plugin (@mltrace/temporal).

Example::

    from mltrace_temporal import MltraceInterceptor

    mltrace = MltraceInterceptor()  # MLTRACE_DATABASE_URL, else the embedded store
    worker = Worker(client, task_queue="train", activities=[train], interceptors=[mltrace])
    try:
        await worker.run()
    finally:
        mltrace.close()  # flushes what is queued
"""

from ._header import LINEAGE_HEADER, UI_HEADER, ExecutionRef, LineageHeader, parse_header
from .interceptor import (
    ComponentSpec,
    MltraceInterceptor,
    MltraceOptions,
    add_input,
    add_metadata,
    add_output,
    component,
    run_key_of,
)
from .store import EmbeddedStore, PostgresStore, StoreUnavailableError, open_store
from .writer import WriterOptions, WriterStats

__all__ = [
    "LINEAGE_HEADER",
    "UI_HEADER",
    "ComponentSpec",
    "EmbeddedStore",
    "ExecutionRef",
    "LineageHeader",
    "MltraceInterceptor",
    "MltraceOptions",
    "PostgresStore",
    "StoreUnavailableError",
    "WriterOptions",
    "WriterStats",
    "add_input",
    "add_metadata",
    "add_output",
    "component",
    "open_store",
    "parse_header",
    "run_key_of",
]
