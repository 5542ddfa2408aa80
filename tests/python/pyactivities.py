"""An activity module as users write them: decorated with the package's `component(...)`, and
imported by workflow code (pyworkflows.py) through `workflow.unsafe.imports_passed_through()`,
as the package README says."""

import os

from temporalio import activity

from mltrace_temporal import add_output, component


@component("scoring", inputs=lambda model_path: [model_path])
@activity.defn
def score(model_path: str) -> str:
    scores = os.path.join(os.path.dirname(model_path), "scores.json")
    with open(scores, "w", encoding="utf8") as f:
        f.write('{"auc": 0.9}')
    add_output(scores)
    return "scored"
