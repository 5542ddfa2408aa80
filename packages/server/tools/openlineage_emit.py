"""Sends one OpenLineage run (START, then COMPLETE) to an mltrace server with the official client.

Usage: python openlineage_emit.py URL TOKEN RUN_ID
Used by packages/server/src/openlineage-python.test.ts; runs in .tools/openlineage-venv.
"""

import sys
from datetime import datetime, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, parent_run

url, token, run_id = sys.argv[1], sys.argv[2], sys.argv[3]
client = OpenLineageClient(
    config={
        "transport": {
            "type": "http",
            "url": url,
            "endpoint": "api/v1/lineage",
            "auth": {"type": "api_key", "apiKey": token},
            # Fail loudly instead of retrying: the test wants the first answer.
            "retry": {"total": 0},
        }
    }
)

parent = parent_run.ParentRunFacet(
    run=parent_run.Run(runId="0190b1c2-3d4e-7f00-8a00-000000000099"),
    job=parent_run.Job(namespace="scripts", name="nightly"),
)
job = Job(namespace="scripts", name="score_customers")
inputs = [InputDataset(namespace="file", name="/data/customers.parquet")]
outputs = [
    OutputDataset(
        namespace="s3://predictions",
        name="scores/2026-03-01.parquet",
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="etag-abc")},
    )
]

for state in (RunState.START, RunState.COMPLETE):
    client.emit(
        RunEvent(
            eventType=state,
            eventTime=datetime.now(timezone.utc).isoformat(),
            run=Run(runId=run_id, facets={"parent": parent}),
            job=job,
            inputs=inputs,
            outputs=outputs,
        )
    )
print("sent")
