"""Python workflows for the cross-language tests: a pipeline that featurizes, then trains in a
child workflow (activities named, not imported: the sandbox re-imports workflow modules)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

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
