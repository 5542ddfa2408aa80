"""CPU of a Python worker per activity attempt: no interceptor, temporalio.contrib.opentelemetry's
TracingInterceptor (an SDK tracer provider, spans to memory), MltraceInterceptor writing to a real
PostgreSQL, and MltraceInterceptor whose store is down (a port nothing listens on: every write is
refused, records go to the spool). Also the workflow's wall time per attempt, so the outage's
cost to the activities shows. Rounds interleaved, medians. Arguments: Temporal address, database
URL, output JSON path. CPU is this process's (time.process_time: worker, workflow, writer thread)."""

import asyncio
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from mltrace_temporal import MltraceInterceptor, MltraceOptions, PostgresStore, WriterOptions

ACTIVITIES = 200
ROUNDS = 5


@activity.defn
async def step(path: str, i: int) -> dict:
    return {"output_path": f"{path}/part-{i}.parquet", "rows": i}


@workflow.defn
class Many:
    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for i in range(n):
            out = await workflow.execute_activity(step, args=["/data/in", i], start_to_close_timeout=timedelta(seconds=30))
            total += out["rows"]
        return total


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then released): a store that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_round(client: Client, variant: str, db: str) -> tuple[float, float]:
    queue = f"bench-{variant}-{uuid.uuid4().hex[:6]}"
    closer, spool = None, ""
    if variant == "none":
        interceptors = []
    elif variant == "otel":
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        interceptors = [TracingInterceptor(provider.get_tracer("bench"))]
    else:
        url = db if variant == "mltrace" else f"postgresql://mltrace@127.0.0.1:{closed_port()}/down"
        spool = tempfile.mkdtemp(prefix="mltrace-bench-spool-")
        writer = WriterOptions(flush_interval=0.2, spool_dir=spool)
        mltrace = MltraceInterceptor(MltraceOptions(store=PostgresStore(url), writer=writer, git_commit=False))
        interceptors, closer = [mltrace], mltrace
    async with Worker(client, task_queue=queue, workflows=[Many], activities=[step], interceptors=interceptors):
        start, wall = time.process_time(), time.perf_counter()
        await client.execute_workflow(Many.run, ACTIVITIES, id=f"{queue}-wf", task_queue=queue)
        wall = time.perf_counter() - wall
        if closer is not None:
            closer.flush()  # the writer's CPU counts too (writing, or spooling)
        spent = time.process_time() - start
    if closer is not None:
        if variant == "mltrace-down":
            assert closer.stats().spooled > 0 and closer.stats().written == 0, closer.stats()
        closer.close(timeout=1 if variant == "mltrace-down" else 30)
        shutil.rmtree(spool, ignore_errors=True)
    return spent / ACTIVITIES * 1e6, wall / ACTIVITIES * 1e3  # CPU µs, wall ms per attempt


async def main() -> None:
    address, db, out = sys.argv[1], sys.argv[2], sys.argv[3]
    client = await Client.connect(address)
    await one_round(client, "none", db)  # warm-up
    samples: dict[str, list[tuple[float, float]]] = {"none": [], "otel": [], "mltrace": [], "mltrace-down": []}
    for _ in range(ROUNDS):
        for variant in samples:
            samples[variant].append(await one_round(client, variant, db))
    med = {k: statistics.median(c for c, _ in v) for k, v in samples.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in samples.items()}
    figures = {
        "cpu_us_per_attempt_none": round(med["none"], 1),
        "cpu_us_per_attempt_otel": round(med["otel"], 1),
        "cpu_us_per_attempt_mltrace": round(med["mltrace"], 1),
        "cpu_us_per_attempt_mltrace_store_down": round(med["mltrace-down"], 1),
        "ratio_mltrace_vs_none": round(med["mltrace"] / med["none"], 3),
        "ratio_otel_vs_none": round(med["otel"] / med["none"], 3),
        "ratio_mltrace_vs_otel": round(med["mltrace"] / med["otel"], 3),
        "ratio_mltrace_store_down_vs_none": round(med["mltrace-down"] / med["none"], 3),
        "added_cpu_us_mltrace": round(med["mltrace"] - med["none"], 1),
        "added_cpu_us_otel": round(med["otel"] - med["none"], 1),
        "wall_ms_per_attempt_none": round(wall["none"], 3),
        "wall_ms_per_attempt_mltrace": round(wall["mltrace"], 3),
        "wall_ms_per_attempt_mltrace_store_down": round(wall["mltrace-down"], 3),
        "ratio_wall_mltrace_vs_none": round(wall["mltrace"] / wall["none"], 3),
        "ratio_wall_mltrace_store_down_vs_none": round(wall["mltrace-down"] / wall["none"], 3),
    }
    with open(out, "w", encoding="utf8") as f:
        json.dump(figures, f, indent=2)
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
