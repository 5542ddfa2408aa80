"""A real Python activity worker for the cross-language tests: featurize (sync, in a thread pool)
and train (async; its first attempt fails, so a retry is recorded). The interceptor writes to
the store the environment names. Arguments: Temporal address, task queue. Prints `ready` once
polling; stops on SIGTERM after flushing the lineage queue."""

import asyncio
import concurrent.futures
import os
import signal
import sys

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from mltrace_temporal import MltraceInterceptor, MltraceOptions, WriterOptions, add_output, component
from pyworkflows import PythonCallsTypescript, PythonPipeline, TrainingChild


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


async def main() -> None:
    address, task_queue = sys.argv[1], sys.argv[2]
    client = await Client.connect(address)
    # A short replay period, so a test sees the spool replayed soon after the store is back.
    mltrace = MltraceInterceptor(MltraceOptions(worker="python-test-worker", writer=WriterOptions(spool_replay_interval=0.5, max_attempts=2)))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        worker = Worker(
            client,
            task_queue=task_queue,
            activities=[featurize, train],
            workflows=[PythonPipeline, TrainingChild, PythonCallsTypescript],
            activity_executor=executor,
            interceptors=[mltrace],
        )
        async with worker:
            print("ready", flush=True)
            await stop.wait()
        print(f"stats {mltrace.stats()}", flush=True)
    mltrace.close()


if __name__ == "__main__":
    asyncio.run(main())
