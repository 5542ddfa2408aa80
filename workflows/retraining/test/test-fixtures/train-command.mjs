// A training command as a user would write one (any language would do): it reads the step
// context from its environment, trains (here: writes a "model" holding the quality it was asked
// for), logs the model to an MLflow run and prints the run id.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '@mltrace/mlflow';

const client = new MlflowClient();
const experimentName = process.env.MLFLOW_EXPERIMENT_NAME;
const params = JSON.parse(process.env.MLTRACE_PARAMS ?? '{}');
const found = await client.searchExperiments({ filter: `name = '${experimentName}'` });
const experimentId = found.items[0]?.experimentId ?? (await client.createExperiment(experimentName));
const run = await client.createRun({ experimentId, runName: 'train-command' });
const dir = await mkdtemp(join(tmpdir(), 'train-command-'));
const modelPath = join(dir, 'model.json');
const rows = (await readFile(process.env.MLTRACE_DATA_PATH, 'utf8')).split('\n').length - 2;
await writeFile(modelPath, JSON.stringify({ ...params.quality, rows }));
const path = run.info.artifactUri.replace(/^mlflow-artifacts:\/*/, '');
const response = await fetch(
  `${client.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${path}/model/model.json`,
  {
    method: 'PUT',
    body: await readFile(modelPath),
  },
);
if (!response.ok) throw new Error(`artifact upload failed: ${response.status}`);
await client.logBatch({ runId: run.info.runId, metrics: { rows } });
await client.updateRun({ runId: run.info.runId, status: 'FINISHED', endTime: Date.now() });
process.stdout.write(`trained on ${rows} rows\n`);
process.stdout.write(`MLFLOW_RUN_ID=${run.info.runId}\n`);
