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
            info = mlflow.pyfunc.log_model(name="model", python_model=Identity(), pip_requirements=[])
        mlflow.register_model(info.model_uri, model)
    client.set_registered_model_alias(model, "champion", "1")
    client.set_registered_model_alias(model, "challenger", "2")
else:
    client.set_registered_model_alias(model, "champion", "3")
    client.delete_registered_model_alias(model, "challenger")
    client.transition_model_version_stage(model, "2", "Staging")
    client.set_model_version_tag(model, "3", "validated", "yes")
    client.copy_model_version(f"models:/{model}/3", f"{model}-prod")
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
    // transition; the tag change updates v3's register run.
    expect(second).toMatchObject({ versions: 1, trainingRuns: 0, promotions: 3, updated: 1 });

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

    // The copy in the second model goes back to the same training run.
    const copy = JSON.parse(await cli('trace', `models:/${model}-prod/1`, '--json')) as TraceJson;
    expect(copy.runs.map((r) => r.id)).toContain(train3.id);

    // Every registry move in one list: from -> to, when, who (MLflow records nobody), no reason.
    const promotions = await cli('promotions', model);
    expect(promotions).toContain('no retraining decisions recorded; registry moves synced from MLflow:');
    expect(promotions).toMatch(
      new RegExp(
        `models:/${model}@champion  version 1 -> version 3: alias moved in the MLflow registry\n  who: not recorded by MLflow\n  no recorded reason`,
      ),
    );
    expect(promotions).toContain(`models:/${model}@challenger  version 2 -> none: alias removed`);
    expect(promotions).toContain(`models:/${model}@challenger  none -> version 2: alias set`);
    expect(promotions).toContain(`models:/${model}/Staging  none -> version 2: stage transition`);
    const champion = JSON.parse(await cli('promotions', model, '--alias', 'champion', '--json')) as {
      decisions: unknown[];
      registryMoves: Array<{ action: string; from: string[]; to: string | null; reason: null }>;
    };
    expect(champion.decisions).toEqual([]);
    expect(champion.registryMoves.map((m) => [m.action, m.from, m.to, m.reason])).toEqual([
      ['moved', ['1'], '3', null],
      ['set', [], '1', null],
    ]);
    const future = JSON.parse(await cli('promotions', model, '--since', '2999-01-01', '--json')) as {
      registryMoves: unknown[];
    };
    expect(future.registryMoves).toEqual([]);

    const again = JSON.parse(await cli('sync', 'mlflow', '--filter', filter, '--json')) as Record<
      string,
      number
    >;
    expect(again).toMatchObject({ versions: 0, trainingRuns: 0, promotions: 0, updated: 0 });
  });
});
