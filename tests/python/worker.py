"""A real Python activity worker for the cross-language tests: featurize (sync, in a thread pool)
and train (async; its first attempt fails, so a retry is recorded), and the activities of the
plugin's behaviour tests (step, slow_step, wait_for_cancel, stall_once). The interceptor writes to
the store the environment names. Arguments: Temporal address, task queue, and optionally the
worker's name (kept in each run's metadata). Prints `ready` once polling; stops on SIGTERM after
flushing the lineage queue, printing `stats {json}` (the writer's counts)."""

import asyncio
import concurrent.futures
import dataclasses
import json
import os
import signal
import sys
import time

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from mltrace_temporal import MltraceInterceptor, MltraceOptions, WriterOptions, add_output, component
from pyactivities import score
from pyworkflows import (
    Cancelling,
    Chain,
    ChainParent,
    HeartbeatTimeout,
    Many,
    PythonCallsTypescript,
    PythonPipeline,
    Scoring,
    Slow,
    TrainingChild,
    WithLocalActivity,
)


@activity.defn
def featurize(raw_path: str, out_dir: str) -> dict:
    features = os.path.join(out_dir, "features.csv")
    with open(raw_path, encoding="utf8") as src, open(features, "w", encoding="utf8") as dst:
        dst.write(src.read().upper())
    return {"features_path": features, "rows": 3}


@component("training", inputs=lambda features_path, out_dir: [features_path])
@activity.defn
async def train(features_path: str, out_dir: str) -> str:
    if activity.info().attempt == 1:
        raise ApplicationError("the GPU went away (token=abc123def456)", type="GpuLost")
    model = os.path.join(out_dir, "model.pkl")
    with open(model, "wb") as f:
        f.write(b"model")
    add_output(model)
    return model


@activity.defn
async def step(i: int) -> int:
    """A trivial step (load, local-activity and continue-as-new tests)."""
    return i + 1


@activity.defn
def slow_step(i: int, ms: int) -> str:
    """Sleeps (in the thread pool), then names the part it wrote."""
    time.sleep(ms / 1000)
    return f"s3://bucket/parts/part-{i}.parquet"


@activity.defn
async def wait_for_cancel() -> str:
    """Heartbeats until cancelled (cancellation reaches activities through heartbeats)."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.1)


@activity.defn
async def stall_once() -> str:
    """Attempt 1 stops heartbeating past its heartbeat timeout, then heartbeats again: the server
    has timed it out and retried it, so the SDK cancels it. Later attempts succeed."""
    activity.heartbeat()
    if activity.info().attempt == 1:
        timeout = activity.info().heartbeat_timeout
        await asyncio.sleep(3 * (timeout.total_seconds() if timeout else 1))
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    return "recovered"


async def main() -> None:
    address, task_queue = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "python-test-worker"
    client = await Client.connect(address)
    # A short replay period, so a test sees the spool replayed soon after the store is back.
    mltrace = MltraceInterceptor(MltraceOptions(worker=name, writer=WriterOptions(spool_replay_interval=0.5, max_attempts=2)))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        worker = Worker(
            client,
            task_queue=task_queue,
            identity=name,
            activities=[featurize, train, step, slow_step, wait_for_cancel, stall_once, score],
            workflows=[
                PythonPipeline,
                TrainingChild,
                PythonCallsTypescript,
                Many,
                Slow,
                Cancelling,
                HeartbeatTimeout,
                WithLocalActivity,
                Chain,
                ChainParent,
                Scoring,
            ],
            activity_executor=executor,
            interceptors=[mltrace],
        )
        async with worker:
            print("ready", flush=True)
            await stop.wait()
    mltrace.close()
    print(f"stats {json.dumps(dataclasses.asdict(mltrace.stats()))}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    # Everything is flushed, closed and printed. Skip the interpreter's finalization: once (CI,
    # python-outage.test.ts) a native thread of the Temporal runtime called into Python while it
    # was finalizing ("PyGILState_Release: thread state must be current"), a SIGABRT after the
    # stats line, which the harness rightly counts as a crash. Not our writer's thread: it was joined.
    sys.stdout.flush()
    os._exit(0)
