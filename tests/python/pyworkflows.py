"""Python workflows for the cross-language tests: a pipeline that featurizes, then trains in a
child workflow, and the workflows of the plugin's behaviour tests mirrored in Python (many, slow,
cancelling, a heartbeat timeout, a local activity, a child that continues as new). Most activities
are named, not imported; `Scoring` imports its activity module (which imports mltrace_temporal)
through `imports_passed_through()`, as the package README tells users to."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from pyactivities import score

RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=3)


@workflow.defn
class TrainingChild:
    @workflow.run
    async def run(self, features_path: str, out_dir: str) -> str:
        return await workflow.execute_activity(
            "train", args=[features_path, out_dir], start_to_close_timeout=timedelta(seconds=30), retry_policy=RETRY
        )


@workflow.defn
class PythonPipeline:
    @workflow.run
    async def run(self, raw_path: str, out_dir: str) -> str:
        features = await workflow.execute_activity(
            "featurize", args=[raw_path, out_dir], start_to_close_timeout=timedelta(seconds=30), retry_policy=RETRY
        )
        return await workflow.execute_child_workflow(
            TrainingChild.run, args=[features["features_path"], out_dir], id=f"{workflow.info().workflow_id}-train"
        )


@workflow.defn
class PythonCallsTypescript:
    """Featurizes in Python, trains on a TypeScript worker's task queue."""

    @workflow.run
    async def run(self, raw_path: str, out_dir: str, ts_queue: str) -> str:
        features = await workflow.execute_activity(
            "featurize", args=[raw_path, out_dir], start_to_close_timeout=timedelta(seconds=30), retry_policy=RETRY
        )
        return await workflow.execute_activity(
            "tsTrain",
            args=[features["features_path"], out_dir],
            task_queue=ts_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )


@workflow.defn
class Many:
    """`n` trivial activities, `parallel` at a time."""

    @workflow.run
    async def run(self, n: int, parallel: int) -> int:
        total = 0
        for start in range(0, n, parallel):
            batch = [
                workflow.execute_activity("step", i, start_to_close_timeout=timedelta(seconds=30), retry_policy=RETRY)
                for i in range(start, min(n, start + parallel))
            ]
            total += sum(await asyncio.gather(*batch))
        return total


@workflow.defn
class Slow:
    """`n` activities one after another, each sleeping `ms`; an attempt lost with its worker is
    retried after a short start-to-close timeout."""

    @workflow.run
    async def run(self, n: int, ms: int) -> int:
        for i in range(n):
            await workflow.execute_activity(
                "slow_step", args=[i, ms], start_to_close_timeout=timedelta(seconds=5), retry_policy=RETRY
            )
        return n


@workflow.defn
class Cancelling:
    """Starts a heartbeating activity, then cancels it."""

    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            "wait_for_cancel",
            start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=timedelta(seconds=2),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await asyncio.sleep(1.5)
        handle.cancel()
        try:
            await handle
            return "completed"
        except ActivityError as error:
            return "cancelled" if isinstance(error.cause, CancelledError) else "failed"


@workflow.defn
class HeartbeatTimeout:
    """An activity whose first attempt misses its heartbeat timeout; the retry succeeds."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            "stall_once",
            start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RETRY,
        )


@workflow.defn
class WithLocalActivity:
    """A local activity."""

    @workflow.run
    async def run(self, i: int) -> int:
        return await workflow.execute_local_activity("step", i, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class Chain:
    """Continues as new until `iteration` reaches `last`, one activity per run."""

    @workflow.run
    async def run(self, iteration: int, last: int) -> int:
        await workflow.execute_activity("step", iteration, start_to_close_timeout=timedelta(seconds=30))
        if iteration < last:
            workflow.continue_as_new(args=[iteration + 1, last])
        return iteration


@workflow.defn
class ChainParent:
    """One activity, then a child workflow that continues as new once."""

    @workflow.run
    async def run(self) -> int:
        await workflow.execute_activity("step", 100, start_to_close_timeout=timedelta(seconds=30))
        return await workflow.execute_child_workflow(
            Chain.run, args=[0, 1], id=f"{workflow.info().workflow_id}-child"
        )


@workflow.defn
class Scoring:
    """Calls an activity by reference, from a module imported through the sandbox's pass-through."""

    @workflow.run
    async def run(self, model_path: str) -> str:
        return await workflow.execute_activity(score, model_path, start_to_close_timeout=timedelta(seconds=30))
