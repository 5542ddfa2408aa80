"""The taxi example's training and evaluation, in Python: Temporal activities on a Python worker
that the TypeScript retraining workflow calls by name on their own task queue.

`train_taxi_model` fits a scikit-learn pipeline (standardisation, then logistic regression) on
the run's train split, logs it to an MLflow run (parameters, training metrics, `model/model.joblib`)
and returns the run, as the workflow's `TrainResult`. `evaluate_taxi_model` scores a registered
model version (candidate or champion) on the test split, as an `EvaluationResult`.

Both are mltrace components with the same names and pointers as the TypeScript activities they
replace (`train`, `evaluate`), so the lineage chains across the language boundary: the split files
in, `runs:/<run>/model` out, read by the TypeScript `register`; the model version in,
`evaluation:<model>/<version>@<data version>` out, read by the TypeScript `decide`.

MLflow is reached through its REST API and artifact proxy with the standard library: the worker
needs no MLflow client. Configured by `MLFLOW_TRACKING_URI` and `MLTRACE_WORK_DIR`.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from temporalio import activity
from temporalio.exceptions import ApplicationError

from mltrace_temporal import add_metadata, component

LABEL = "high_tip"
MODEL_FILE = "model.joblib"
ARTIFACT_PATH = "model"


def _file_uri(path: str) -> str:
    return path if path.startswith("file:") else f"file://{path}"


def _output(context: dict[str, Any], name: str) -> str:
    path = context.get("outputs", {}).get(name)
    if not path:
        raise ApplicationError(
            f"no {name} file: run the step that makes it first (outputs: {', '.join(context.get('outputs', {}))})",
            type="InvalidInputError",
            non_retryable=True,
        )
    return str(path)


def read_table(path: str) -> tuple[list[str], np.ndarray]:
    """A numeric CSV file with a header row (what the TypeScript prepare steps write)."""
    with open(path, encoding="utf8") as f:
        columns = f.readline().strip().split(",")
    rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return columns, rows


def _xy(columns: list[str], rows: np.ndarray, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    missing = [name for name in [*features, LABEL] if name not in columns]
    if missing:
        raise ApplicationError(
            f"the data has no column {', '.join(missing)} (columns: {', '.join(columns)})",
            type="InvalidInputError",
            non_retryable=True,
        )
    x = rows[:, [columns.index(name) for name in features]]
    y = rows[:, columns.index(LABEL)].astype(int)
    return x, y


def metrics_of(model: Pipeline, threshold: float, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """F1, accuracy, AUC, precision, recall and log loss, rounded as the TypeScript evaluation's."""
    p = model.predict_proba(x)[:, 1]
    predicted = (p >= threshold).astype(int)
    both = len(set(y.tolist())) == 2
    values = {
        "f1": f1_score(y, predicted, zero_division=0),
        "accuracy": accuracy_score(y, predicted),
        "auc": roc_auc_score(y, p) if both else float("nan"),
        "precision": precision_score(y, predicted, zero_division=0),
        "recall": recall_score(y, predicted, zero_division=0),
        "log_loss": log_loss(y, p, labels=[0, 1]),
    }
    return {name: round(float(value), 6) for name, value in values.items()}


# --- MLflow over REST ---------------------------------------------------------------------------


class Mlflow:
    """The few MLflow calls the activities need: experiments, runs, the artifact proxy."""

    def __init__(self, tracking_uri: str) -> None:
        self.base = tracking_uri.rstrip("/")

    def _request(self, method: str, path: str, body: Any = None, data: bytes | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
        elif data is not None:
            headers = {"Content-Type": "application/octet-stream"}
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")[:300]
            raise MlflowError(error.code, text, f"MLflow {method} {path} failed: HTTP {error.code} {text}") from None
        if path.startswith("/api/2.0/mlflow-artifacts/") and method == "GET":
            return raw
        return json.loads(raw) if raw else {}

    def experiment_id(self, name: str) -> str:
        query = urllib.parse.urlencode({"experiment_name": name})
        try:
            return str(self._request("GET", f"/api/2.0/mlflow/experiments/get-by-name?{query}")["experiment"]["experiment_id"])
        except MlflowError as error:
            if "RESOURCE_DOES_NOT_EXIST" not in error.body:
                raise
        try:
            return str(self._request("POST", "/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"])
        except MlflowError as error:  # created concurrently: read it back
            if "RESOURCE_ALREADY_EXISTS" not in error.body:
                raise
            return str(self._request("GET", f"/api/2.0/mlflow/experiments/get-by-name?{query}")["experiment"]["experiment_id"])

    def create_run(self, experiment_id: str, name: str, tags: dict[str, str]) -> dict[str, Any]:
        body = {
            "experiment_id": experiment_id,
            "run_name": name,
            "start_time": int(time.time() * 1000),
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        return dict(self._request("POST", "/api/2.0/mlflow/runs/create", body)["run"]["info"])

    def get_run(self, run_id: str) -> dict[str, Any]:
        query = urllib.parse.urlencode({"run_id": run_id})
        return dict(self._request("GET", f"/api/2.0/mlflow/runs/get?{query}")["run"]["info"])

    def log_batch(self, run_id: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        self._request(
            "POST",
            "/api/2.0/mlflow/runs/log-batch",
            {
                "run_id": run_id,
                "params": [{"key": k, "value": v} for k, v in params.items()],
                "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in metrics.items()],
            },
        )

    def finish_run(self, run_id: str) -> None:
        body = {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)}
        self._request("POST", "/api/2.0/mlflow/runs/update", body)

    def upload(self, artifact_dir: str, local_path: str) -> None:
        """Puts a file into an artifact directory (`mlflow-artifacts:` through the proxy, or `file:`)."""
        name = os.path.basename(local_path)
        if artifact_dir.startswith("mlflow-artifacts:"):
            with open(local_path, "rb") as f:
                self._request("PUT", _proxy_url(artifact_dir, name), data=f.read())
        else:
            target = os.path.join(_local_dir(artifact_dir), name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(local_path, "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())

    def download(self, source: str, name: str, target: str) -> str:
        """Fetches one file of a model version's `source` into `target` (a `file:` source is read in place)."""
        runs = source.startswith("runs:/")
        if runs:
            run_id, _, rest = source[len("runs:/") :].partition("/")
            source = f"{self.get_run(run_id)['artifact_uri'].rstrip('/')}/{rest}".rstrip("/")
        if not source.startswith("mlflow-artifacts:"):
            return os.path.join(_local_dir(source), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(self._request("GET", _proxy_url(source, name)))
        return target


class MlflowError(Exception):
    def __init__(self, status: int, body: str, message: str) -> None:
        super().__init__(message)
        self.status, self.body = status, body


def _proxy_url(artifact_dir: str, name: str) -> str:
    rest = artifact_dir[len("mlflow-artifacts:") :]
    if rest.startswith("//"):  # mlflow-artifacts://host:port/path names a server; we talk to ours
        rest = "/" + rest[2:].partition("/")[2]
    path = "/".join(p for p in [*rest.strip("/").split("/"), name] if p)
    return f"/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(path)}"


def _local_dir(uri: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlparse(uri).path) if uri.startswith("file:") else uri


def _mlflow() -> Mlflow:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ApplicationError("MLFLOW_TRACKING_URI is not set on the Python worker", type="ConfigError", non_retryable=True)
    return Mlflow(uri)


def _work_dir(*parts: str) -> str:
    directory = os.path.join(os.environ.get("MLTRACE_WORK_DIR") or os.path.join(os.getcwd(), ".mltrace", "work"), *parts)
    os.makedirs(directory, exist_ok=True)
    return directory


# --- the activities -----------------------------------------------------------------------------


def _train_inputs(context: dict[str, Any]) -> list[Any]:
    data = context["data"]
    return [
        {"uri": _file_uri(data["localPath"]), "version": data["version"], "type": "data"},
        *(_file_uri(path) for path in context.get("outputs", {}).values()),
    ]


@component(
    "train",
    inputs=_train_inputs,
    outputs=lambda result, *_: [{"uri": f"runs:/{result['runId']}/{result['artifactPath']}", "type": "model"}],
)
@activity.defn(name="train_taxi_model")
def train_taxi_model(context: dict[str, Any]) -> dict[str, Any]:
    """Fits the model on the train split and logs it to a new MLflow run; returns the run."""
    params = context.get("params", {})
    columns, rows = read_table(_output(context, "train"))
    features = [str(f) for f in params.get("features") or [c for c in columns if c not in (LABEL, "pickup_ts")]]
    c = float(params.get("C", 1.0))
    threshold = float(params.get("threshold", 0.5))
    x, y = _xy(columns, rows, features)
    model = Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression(C=c, max_iter=1000))])
    model.fit(x, y)
    fit = metrics_of(model, threshold, x, y)
    activity.heartbeat({"phase": "fitted"})

    mlflow = _mlflow()
    experiment_id = mlflow.experiment_id(context["experiment"])
    run = mlflow.create_run(
        experiment_id,
        f"{context['model']} on {context['data']['rev']}",
        {
            "mlflow.source.name": "@mltrace/example-taxi-retraining (python)",
            "mltrace.data.rev": str(context["data"]["rev"]),
        },
    )
    run_id = str(run["run_id"])
    # Room to kill the worker mid-training (crash tests): heartbeats, stops when cancelled.
    until = time.monotonic() + float(params.get("slowTrainingMs", 0)) / 1000
    while time.monotonic() < until and not activity.is_cancelled():
        activity.heartbeat({"phase": "training", "remainingMs": int((until - time.monotonic()) * 1000)})
        time.sleep(0.25)
    path = os.path.join(_work_dir("runs", run_id), MODEL_FILE)
    joblib.dump({"pipeline": model, "features": features, "label": LABEL, "threshold": threshold}, path)
    mlflow.upload(f"{run['artifact_uri'].rstrip('/')}/{ARTIFACT_PATH}", path)
    mlflow.log_batch(
        run_id,
        {
            "estimator": "StandardScaler+LogisticRegression",
            "features": ",".join(features),
            "C": str(c),
            "threshold": str(threshold),
            "sklearn_version": sklearn.__version__,
        },
        {"train_f1": fit["f1"], "train_accuracy": fit["accuracy"], "train_auc": fit["auc"], "train_rows": float(len(y))},
    )
    mlflow.finish_run(run_id)
    add_metadata({"model": {"library": "scikit-learn", "version": sklearn.__version__, "estimator": "LogisticRegression", "rows": len(y)}})
    return {"runId": run_id, "artifactPath": ARTIFACT_PATH, "metrics": {"train_f1": fit["f1"], "train_auc": fit["auc"]}}


def _evaluation_pointer(evaluation: dict[str, Any]) -> dict[str, Any]:
    model = evaluation["model"]
    version = evaluation["context"]["data"]["version"]
    return {"uri": f"evaluation:{model['name']}/{model['version']}", "version": version, "type": "metric"}


@component(
    "evaluate",
    inputs=lambda evaluation: [
        {"uri": evaluation["model"]["uri"], "type": "model"},
        *(_file_uri(path) for path in evaluation["context"].get("outputs", {}).values()),
    ],
    outputs=lambda _result, evaluation: [_evaluation_pointer(evaluation)],
)
@activity.defn(name="evaluate_taxi_model")
def evaluate_taxi_model(evaluation: dict[str, Any]) -> dict[str, Any]:
    """Scores one registered model version (candidate or champion) on the run's test split."""
    model_ref = evaluation["model"]
    target = os.path.join(_work_dir("models", model_ref["name"], model_ref["version"]), MODEL_FILE)
    path = target if os.path.exists(target) else _mlflow().download(model_ref["source"], MODEL_FILE, target)
    if not os.path.exists(path):
        raise ApplicationError(
            f"{model_ref['uri']} has no {MODEL_FILE} (source {model_ref['source']}): was it trained by this worker's train_taxi_model?",
            type="NotFoundError",
            non_retryable=True,
        )
    saved = joblib.load(path)  # a pickle: load models from your own registry only
    columns, rows = read_table(_output(evaluation["context"], "test"))
    x, y = _xy(columns, rows, list(saved["features"]))
    metrics = metrics_of(saved["pipeline"], float(saved["threshold"]), x, y)
    add_metadata({"role": evaluation["role"], "metrics": metrics})
    return {"metrics": metrics}


ACTIVITIES = [train_taxi_model, evaluate_taxi_model]
