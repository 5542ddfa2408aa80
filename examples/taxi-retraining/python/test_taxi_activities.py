"""Units of the taxi example's Python activities (no servers: the end-to-end runs are the demo
and crash tests, examples/taxi-retraining/test/)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from temporalio.exceptions import ApplicationError

from taxi_activities import LABEL, Mlflow, _output, _proxy_url, _xy, metrics_of, read_table


def write_csv(path: str, columns: list[str], rows: list[list[float]]) -> str:
    with open(path, "w", encoding="utf8") as f:
        f.write(",".join(columns) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return path


def test_reads_the_prepare_steps_csv_and_picks_the_features_and_label(tmp_path) -> None:
    path = write_csv(str(tmp_path / "train.csv"), ["a", "b", LABEL, "pickup_ts"], [[1, 2, 0, 10], [3, 4, 1, 11]])
    columns, rows = read_table(path)
    assert columns == ["a", "b", LABEL, "pickup_ts"]
    x, y = _xy(columns, rows, ["b", "a"])
    assert x.tolist() == [[2, 1], [4, 3]]
    assert y.tolist() == [0, 1]


def test_a_missing_column_is_a_non_retryable_error_that_names_it() -> None:
    with pytest.raises(ApplicationError) as raised:
        _xy(["a", LABEL], np.zeros((1, 2)), ["a", "trip_speed"])
    assert raised.value.non_retryable
    assert "no column trip_speed" in str(raised.value)
    assert "columns: a, high_tip" in str(raised.value)


def test_a_missing_step_output_says_which_step_to_run() -> None:
    with pytest.raises(ApplicationError, match="no test file: run the step that makes it first"):
        _output({"outputs": {"train": "/x/train.csv"}}, "test")


def test_metrics_of_a_fitted_pipeline_match_their_definitions() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    model = Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression())]).fit(x, y)
    metrics = metrics_of(model, 0.5, x, y)
    predicted = (model.predict_proba(x)[:, 1] >= 0.5).astype(int)
    tp = int(((predicted == 1) & (y == 1)).sum())
    fp = int(((predicted == 1) & (y == 0)).sum())
    fn = int(((predicted == 0) & (y == 1)).sum())
    assert metrics["precision"] == round(tp / (tp + fp), 6)
    assert metrics["recall"] == round(tp / (tp + fn), 6)
    assert metrics["f1"] == round(2 * tp / (2 * tp + fp + fn), 6)
    assert metrics["accuracy"] == round(float((predicted == y).mean()), 6)
    assert 0.8 < metrics["auc"] <= 1
    assert set(metrics) == {"f1", "accuracy", "auc", "precision", "recall", "log_loss"}


def test_artifact_proxy_urls_as_the_typescript_side_builds_them() -> None:
    assert (
        _proxy_url("mlflow-artifacts:/1/abc/artifacts/model", "model.joblib")
        == "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/model.joblib"
    )
    # A URI naming a server: the path on ours.
    assert (
        _proxy_url("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts/model/", "m.joblib")
        == "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/m.joblib"
    )


def test_file_artifact_stores_are_written_and_read_in_place(tmp_path) -> None:
    model = tmp_path / "model.joblib"
    model.write_bytes(b"weights")
    artifacts = tmp_path / "mlruns" / "1" / "abc" / "artifacts" / "model"
    mlflow = Mlflow("http://127.0.0.1:9")  # never reached for file: stores
    mlflow.upload(f"file://{artifacts}", str(model))
    assert (artifacts / "model.joblib").read_bytes() == b"weights"
    found = mlflow.download(f"file://{artifacts}", "model.joblib", str(tmp_path / "copy.joblib"))
    assert os.path.samefile(found, artifacts / "model.joblib")
