"""Writes a two-run chain (featurize -> train) through mltrace_temporal's store, as the
interceptor's writer does, to the store the environment names (MLTRACE_DATABASE_URL, else the
embedded store under MLTRACE_HOME). Argument: the directory the pointers live in."""

import sys

from mltrace_temporal import open_store
from mltrace_temporal.store import prepare_run

base = sys.argv[1]
runs = [
    {
        "runKey": "temporal:default/wf-py/r1/1/1",
        "component": "featurize",
        "source": "temporal",
        "status": "succeeded",
        "startedAt": "2026-01-01T00:00:00.000Z",
        "endedAt": "2026-01-01T00:00:01.000Z",
        "attempt": 1,
        "inputs": [f"{base}/raw.csv"],
        "outputs": [f"{base}/features.csv"],
        "metadata": {"api_token": "must-not-be-stored"},
    },
    {
        "runKey": "temporal:default/wf-py/r1/2/1",
        "component": "train",
        "source": "temporal",
        "status": "succeeded",
        "startedAt": "2026-01-01T00:00:02.000Z",
        "endedAt": "2026-01-01T00:00:03.000Z",
        "attempt": 1,
        "inputs": [f"{base}/features.csv"],
        "outputs": [f"{base}/model.pkl"],
    },
]
store = open_store()
try:
    ids = store.log_runs([prepare_run(run, base) for run in runs])
finally:
    store.close()
print(len(ids))
