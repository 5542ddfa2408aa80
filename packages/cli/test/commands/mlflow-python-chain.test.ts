import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mlflowTrackingUri, repoRoot } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

const run = promisify(execFile);

// Drives MLflow the way its users do: MLflow 3.17's own Python client (the pinned package in the
// project's venv) against the real `mlflow server` of the global setup.
const SCRIPT = `
import sys, mlflow, pandas as pd
from mlflow import MlflowClient
uri, model, step = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
client = MlflowClient()
class Identity(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input
if step == "train":
    mlflow.set_experiment(f"{model}-training")
    for n in (1, 2, 3):
        df = pd.DataFrame({"x": [n, n + 1], "y": [0, 1]})
        with mlflow.start_run(run_name=f"train-{n}"):
            dataset = mlflow.data.from_pandas(df, source=f"s3://bucket/{model}/train.parquet", name="train")
            mlflow.log_input(dataset, context="training")
            mlflow.log_param("alpha", f"0.{n}")
            mlflow.log_param("db_password", "hunter2-planted")
            mlflow.log_metric("rmse", 1.0 / n)
            if n < 3:
                info = mlflow.pyfunc.log_model(name="model", python_model=Identity(), pip_requirements=[])
            else:
                # MLflow 3's standard path: a flavor's log_model makes a LoggedModel with its own
                # params, a metric logged against it on a dataset, then register_model.
                from sklearn.linear_model import LogisticRegression
                fitted = LogisticRegression().fit(df[["x"]], df["y"])
                info = mlflow.sklearn.log_model(
                    fitted, name="model", params={"C": "1.0"}, model_type="classifier", pip_requirements=[]
                )
                mlflow.log_metric("accuracy", 0.9, model_id=info.model_id, dataset=dataset)
        mlflow.register_model(info.model_uri, model)
    client.set_registered_model_alias(model, "champion", "1")
    client.set_registered_model_alias(model, "challenger", "2")
    client.set_registered_model_tag(model, "team", "risk")
elif step == "move":
    client.set_registered_model_alias(model, "champion", "3")
    client.delete_registered_model_alias(model, "challenger")
    client.transition_model_version_stage(model, "2", "Staging")
    client.set_model_version_tag(model, "3", "validated", "yes")
    client.set_registered_model_tag(model, "gate", "manual")
    client.delete_registered_model_tag(model, "team")
    client.copy_model_version(f"models:/{model}/3", f"{model}-prod")
else:
    client.delete_model_version_tag(model, "3", "validated")
    client.set_model_version_tag(model, "1", "retired", "yes")
    client.set_registered_model_tag(model, "owner", "ana")
`;

interface TraceJson {
  runs: Array<{
    id: number;
    component: string;
    source: string;
    runKey: string;
    metadata: Record<string, unknown>;
    inputs: Array<{ uri: string; version: string }>;
    outputs: Array<{ uri: string; version: string }>;
    dependsOn: number[];
  }>;
}

describe('an MLflow registry built with MLflow’s own Python client', { timeout: 300_000 }, () => {
  let ws: Workspace;
  const model = `py-fraud-${randomBytes(4).toString('hex')}`;
  // Other test files share the MLflow server: sync this test's models only (and the copy's).
  const filter = `name LIKE '${model}%'`;
  const env = () => ({ MLFLOW_TRACKING_URI: mlflowTrackingUri() });
  const python = (step: string) =>
    run(
      join(repoRoot(), '.tools', 'venv', 'bin', 'python'),
      ['-c', SCRIPT, mlflowTrackingUri(), model, step],
      {
        env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
      },
    );
  const cli = async (...args: string[]) => {
    const result = await ws.run(args, { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    ws = await workspace();
  });

  afterAll(async () => {
    await ws?.remove();
    await removeTemplate();
  });

  it('syncs the training runs of LoggedModel versions, so why and trace reach params, metrics and datasets; a second sync adds nothing', async () => {
    await python('train');
    expect(await cli('sync', 'mlflow', '--filter', filter)).toMatch(
      /3 new versions, 3 training runs, 2 promotions/,
    );
    await python('move');
    const second = JSON.parse(await cli('sync', 'mlflow', '--filter', filter, '--json')) as Record<
      string,
      number
    >;
    // The copy (1 version, trained by nothing new), the alias move and removal, the stage
    // transition; the model's tag changes update its 3 register runs (v3's with its own tag too).
    expect(second).toMatchObject({ versions: 1, trainingRuns: 0, promotions: 3, updated: 3 });

    const trace = JSON.parse(await cli('trace', `models:/${model}@champion`, '--json')) as TraceJson;
    const training = trace.runs.filter((r) => r.metadata.kind === 'training');
    // v3's promotion chains back to v1's (v2 never held the alias): two versions, two training runs.
    expect(training.map((r) => r.component)).toEqual([`${model}-training`, `${model}-training`]);
    const register3 = trace.runs.find((r) => r.component === 'register' && r.metadata.version === '3')!;
    // MLflow 3: the version's source is the LoggedModel, which the training run wrote.
    const loggedModel = register3.inputs[0]!.uri;
    expect(loggedModel).toMatch(/^models:\/m-[0-9a-f]+$/);
    const train3 = training.find((r) => r.outputs.some((p) => p.uri === loggedModel))!;
    expect(register3.dependsOn).toContain(train3.id);
    expect(register3.metadata.versionTags).toEqual({ validated: 'yes' });
    expect(register3.metadata.modelTags).toEqual({ gate: 'manual' });
    // The LoggedModel's own lineage, read from MLflow 3's logged-models endpoint.
    const modelId = loggedModel.slice('models:/'.length);
    expect(register3.metadata.loggedModel).toMatchObject({
      modelId,
      name: 'model',
      modelType: 'classifier',
      params: { C: '1.0' },
      // log_model links the run's metrics so far; the one logged with model_id and a dataset keeps it.
      metrics: expect.arrayContaining([
        { key: 'rmse', value: 1 / 3, step: 0 },
        {
          key: 'accuracy',
          value: 0.9,
          step: 0,
          dataset: 'train',
          datasetDigest: expect.stringMatching(/^\w+$/),
        },
      ]),
    });
    expect(register3.metadata.loggedModel).toHaveProperty('metrics.length', 2);
    expect((register3.metadata.loggedModel as { sourceRunId: string }).sourceRunId).toBe(
      train3.metadata.runId,
    );
    expect(train3.metadata).toMatchObject({
      params: { alpha: '0.3', db_password: '[REDACTED]' },
      metrics: { rmse: 1 / 3 },
    });
    expect(train3.inputs).toEqual([
      expect.objectContaining({
        uri: `s3://bucket/${model}/train.parquet`,
        version: expect.stringMatching(/^\w+$/),
      }),
    ]);

    const why = await cli('why', `models:/${model}@champion`);
    expect(why).toContain(`models:/${model}@champion is version 3`);
    expect(why).toContain(
      'Promotion: alias moved from version 1 to 3 in the MLflow registry (no recorded reason)',
    );
    expect(why).toContain(`run          ${model}-training #${train3.id}`);
    expect(why).toContain('alpha=0.3, db_password=[REDACTED]');
    expect(why).toContain('rmse=0.3333333333333333');
    expect(why).toMatch(
      new RegExp(`dataset +train \\(training\\) s3://bucket/${model}/train.parquet digest \\w+`),
    );
    expect(why).not.toContain('no training run');
    expect(why).not.toContain('hunter2');
    // logged model -> run -> datasets.
    expect(why).toContain(`  model        models:/${modelId} (model, classifier)`);
    expect(why).toContain(`  logged by    MLflow run ${train3.metadata.runId}`);
    expect(why).toContain('  params       C=1.0');
    expect(why).toMatch(/ {2}metric {7}accuracy=0\.9 on dataset train digest \w+/);
    expect(why).toContain('  version tags validated=yes');
    expect(why).toContain('  model tags   gate=manual');

    // The copy in the second model goes back to the same training run.
    const copy = JSON.parse(await cli('trace', `models:/${model}-prod/1`, '--json')) as TraceJson;
    expect(copy.runs.map((r) => r.id)).toContain(train3.id);

    // Every registry move in one list: from -> to, when, who (MLflow records nobody), no reason.
    const promotions = await cli('promotions', model);
    expect(promotions).toMatch(
      new RegExp(
        `models:/${model}@champion  version 1 -> version 3: alias moved in the MLflow registry\n  who: not recorded by MLflow\n  no recorded reason`,
      ),
    );
    expect(promotions).toContain(`models:/${model}@challenger  version 2 -> none: alias removed`);
    expect(promotions).toContain(`models:/${model}@challenger  none -> version 2: alias set`);
    expect(promotions).toContain(`models:/${model}/Staging  none -> version 2: stage transition`);
    const champion = JSON.parse(await cli('promotions', model, '--alias', 'champion', '--json')) as {
      promotions: Array<{
        kind: string;
        action: string;
        from: string[];
        to: string | null;
        who: string | null;
        reasons: string[];
      }>;
    };
    expect(champion.promotions.map((m) => [m.kind, m.action, m.from, m.to, m.who, m.reasons])).toEqual([
      ['alias', 'moved', ['1'], '3', null, []],
      ['alias', 'set', [], '1', null, []],
    ]);
    const future = JSON.parse(await cli('promotions', model, '--since', '2999-01-01', '--json')) as {
      promotions: unknown[];
    };
    expect(future.promotions).toEqual([]);

    const again = JSON.parse(await cli('sync', 'mlflow', '--filter', filter, '--json')) as Record<
      string,
      number
    >;
    expect(again).toMatchObject({ versions: 0, trainingRuns: 0, promotions: 0, updated: 0 });
  });

  it('syncs tag changes on versions and on the registered model as updates of the register runs, never new runs', async () => {
    const registers = async () =>
      (
        JSON.parse(await cli('history', 'register', '-n', '1000', '--json')) as {
          runs: Array<{ id: number; runKey: string; metadata: Record<string, unknown> }>;
        }
      ).runs.filter((r) => r.metadata.model === model);
    const before = await registers();
    expect(before).toHaveLength(3);
    await python('tags');
    const summary = JSON.parse(await cli('sync', 'mlflow', '--filter', filter, '--json')) as Record<
      string,
      number
    >;
    expect(summary).toMatchObject({ versions: 0, trainingRuns: 0, promotions: 0, updated: 3 });
    const after = await registers();
    expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    const tags = Object.fromEntries(
      after.map((r) => [r.metadata.version, [r.metadata.versionTags, r.metadata.modelTags]]),
    );
    // The deleted version tag is gone, the new ones are there; every version shows the model's tags.
    expect(tags).toEqual({
      '1': [{ retired: 'yes' }, { gate: 'manual', owner: 'ana' }],
      '2': [{}, { gate: 'manual', owner: 'ana' }],
      '3': [{}, { gate: 'manual', owner: 'ana' }],
    });
    const again = JSON.parse(await cli('sync', 'mlflow', '--filter', filter, '--json')) as Record<
      string,
      number
    >;
    expect(again).toMatchObject({ versions: 0, trainingRuns: 0, promotions: 0, updated: 0 });
  });
});
