"""The taxi example's Python worker: `train_taxi_model` and `evaluate_taxi_model` on their own task
queue, with the mltrace interceptor, so each attempt is a ComponentRun in the same lineage store
as the TypeScript worker's.

Configured by the environment: `TEMPORAL_ADDRESS`, `MLTRACE_PYTHON_TASK_QUEUE`,
`MLFLOW_TRACKING_URI`, `MLTRACE_WORK_DIR`, and the store: `MLTRACE_DATABASE_URL` (PostgreSQL),
else the embedded store under `MLTRACE_HOME` (served by the process that owns it, e.g. the demo).
Prints `ready` once polling; on SIGTERM or SIGINT stops, flushes its lineage and exits 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import sys

try:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from mltrace_temporal import MltraceInterceptor, MltraceOptions
    from taxi_activities import ACTIVITIES
except ModuleNotFoundError as missing:
    # An environment without the pins of python/requirements.txt: say how to make the right one.
    print(
        f"taxi_worker: {missing.name} is not installed in {sys.executable}: "
        "run bash scripts/setup.sh (it makes .tools/python-venv from python/requirements.txt)",
        file=sys.stderr,
    )
    sys.exit(3)


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        print(f"taxi_worker: {name} is not set", file=sys.stderr)
        sys.exit(2)
    return value


async def main() -> None:
    address, task_queue = required("TEMPORAL_ADDRESS"), required("MLTRACE_PYTHON_TASK_QUEUE")
    required("MLFLOW_TRACKING_URI")
    client = await Client.connect(address)
    mltrace = MltraceInterceptor(MltraceOptions(worker=f"taxi-python-worker@{os.getpid()}"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        # scikit-learn fits are CPU-bound: sync activities, in threads (evaluations run two at once).
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
            worker = Worker(
                client,
                task_queue=task_queue,
                activities=ACTIVITIES,
                activity_executor=executor,
                interceptors=[mltrace],
            )
            async with worker:
                print("ready", flush=True)
                await stop.wait()
    finally:
        mltrace.close()  # flushes what is queued


if __name__ == "__main__":
    asyncio.run(main())
