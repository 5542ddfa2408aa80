/**
 * The taxi pipeline as Temporal activities: the prepare steps (cleaning, featuregen, split), each
 * an mltrace component reading and writing files, and the training and evaluation functions the
 * retraining activities call (logistic regression logged to MLflow; F1, accuracy and AUC).
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type {
  EvaluateInput,
  EvaluationResult,
  PrepareResult,
  PromotionPolicy,
  RetrainingInput,
  StepContext,
  StepHelpers,
  TrainResult,
} from '@mltrace/retraining';
import { addMetadata, component } from '@mltrace/temporal';
import { evaluate, type LogisticModel, type TrainParams, trainLogisticRegression } from './model.js';
import { buildFeatures, cleanTrips, FEATURE_COLUMNS, parseNumericCsv, splitFeatures } from './pipeline.js';

/** Where a data version's pipeline files go: next to its pinned copy, so each version has its own. */
async function pipelineDir(context: StepContext): Promise<string> {
  const dir = join(dirname(context.data.localPath), 'pipeline');
  await mkdir(dir, { recursive: true });
  return dir;
}

function input(context: StepContext, name: string): string {
  const path = context.outputs[name];
  if (!path)
    throw new Error(
      `no ${name} file: run the step that makes it first (outputs: ${Object.keys(context.outputs).join(', ')})`,
    );
  return path;
}

/** `cleaning`: drops bad trips and adds the label (tip > 20% of the fare). */
export const cleaning = component(
  async function cleaning(context: StepContext): Promise<PrepareResult> {
    const { csv, stats } = cleanTrips(await readFile(context.data.localPath, 'utf8'));
    const clean = join(await pipelineDir(context), 'clean.csv');
    await writeFile(clean, csv);
    addMetadata({ cleaning: stats });
    return { outputs: { clean } };
  },
  {
    name: 'cleaning',
    inputs: (context) => [
      { uri: `file://${context.data.localPath}`, version: context.data.version, type: 'data' },
    ],
    outputs: (result) => [`file://${result.outputs.clean}`],
    afterRun: [
      async function keepsMostTrips(result: PrepareResult) {
        const rows = (await readFile(result.outputs.clean!, 'utf8')).split('\n').length - 2;
        return rows > 0 || 'the cleaning step dropped every trip';
      },
    ],
  },
);

/** `featuregen`: the model's features, after mltrace's toy pipeline. */
export const featuregen = component(
  async function featuregen(context: StepContext): Promise<PrepareResult> {
    const features = join(await pipelineDir(context), 'features.csv');
    await writeFile(features, buildFeatures(await readFile(input(context, 'clean'), 'utf8')));
    return { outputs: { features } };
  },
  {
    name: 'featuregen',
    inputs: (context) => [`file://${input(context, 'clean')}`],
    outputs: (result) => [`file://${result.outputs.features}`],
  },
);

/** `split`: earlier trips to train on, the last 20% to test on. */
export const split = component(
  async function split(context: StepContext): Promise<PrepareResult> {
    const dir = await pipelineDir(context);
    const testFraction = typeof context.params.testFraction === 'number' ? context.params.testFraction : 0.2;
    const parts = splitFeatures(await readFile(input(context, 'features'), 'utf8'), { testFraction });
    const train = join(dir, 'train.csv');
    const test = join(dir, 'test.csv');
    await Promise.all([writeFile(train, parts.train), writeFile(test, parts.test)]);
    return { outputs: { train, test } };
  },
  {
    name: 'split',
    inputs: (context) => [`file://${input(context, 'features')}`],
    outputs: (result) => [`file://${result.outputs.train}`, `file://${result.outputs.test}`],
  },
);

/** The prepare steps, by activity name, to register on the worker. */
export const taxiActivities = { cleaning, featuregen, split };

/** Training parameters the example reads from `params` (plus `slowTrainingMs`, for crash tests). */
export interface TaxiParams extends TrainParams {
  /** Sleep this long after fitting, heartbeating: room to kill a worker mid-training. @default 0 */
  slowTrainingMs?: number;
}

function trainParams(params: Record<string, unknown>): TaxiParams {
  const out: TaxiParams = {};
  if (Array.isArray(params.features)) out.features = params.features.map(String);
  for (const key of ['epochs', 'learningRate', 'l2', 'threshold', 'slowTrainingMs'] as const) {
    const value = params[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

/**
 * Trains the logistic regression on the train split, logs parameters, training metrics and the
 * model (`model/model.json`) to an MLflow run, and returns the run.
 */
export async function trainTaxiModel(context: StepContext, helpers: StepHelpers): Promise<TrainResult> {
  const params = trainParams(context.params);
  const train = parseNumericCsv(await readFile(input(context, 'train'), 'utf8'));
  const model = trainLogisticRegression(train, params);
  const experimentId = await helpers.experimentId(context.experiment);
  const run = await helpers.mlflow.createRun({
    experimentId,
    runName: `${context.model} on ${context.data.rev}`,
    tags: { 'mlflow.source.name': '@mltrace/example-taxi-retraining', 'mltrace.data.rev': context.data.rev },
  });
  const runId = run.info.runId;
  if (params.slowTrainingMs) {
    const until = Date.now() + params.slowTrainingMs;
    while (Date.now() < until && !helpers.signal.aborted) {
      helpers.heartbeat({ phase: 'training', remainingMs: until - Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const dir = await helpers.workDir('runs', runId);
  const modelPath = join(dir, 'model.json');
  await writeFile(modelPath, `${JSON.stringify(model, null, 2)}\n`);
  await helpers.logArtifact(runId, modelPath, 'model');
  const fit = evaluate(model, train);
  await helpers.mlflow.logBatch({
    runId,
    params: {
      features: model.features.join(','),
      epochs: String(model.params.epochs),
      learning_rate: String(model.params.learningRate),
      l2: String(model.params.l2),
      threshold: String(model.params.threshold),
    },
    metrics: { train_f1: fit.f1, train_accuracy: fit.accuracy, train_auc: fit.auc, train_rows: fit.rows },
  });
  await helpers.mlflow.updateRun({ runId, status: 'FINISHED', endTime: Date.now() });
  return { runId, artifactPath: 'model', metrics: { train_f1: fit.f1, train_auc: fit.auc } };
}

/** Evaluates a registered model (candidate or champion) on the run's test split. */
export async function evaluateTaxiModel(
  evaluation: EvaluateInput,
  helpers: StepHelpers,
): Promise<EvaluationResult> {
  const dir = await helpers.modelFiles(evaluation.model);
  const model = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as LogisticModel;
  const test = parseNumericCsv(await readFile(input(evaluation.context, 'test'), 'utf8'));
  const { f1, accuracy, auc, precision, recall, log_loss } = evaluate(model, test);
  return { metrics: { f1, accuracy, auc, precision, recall, log_loss } };
}

/** The example's promotion policy. */
export const TAXI_POLICY: PromotionPolicy = {
  primaryMetric: { name: 'f1', direction: 'maximize', minImprovement: 0.005, minValue: 0.4 },
  guardMetrics: [
    { name: 'auc', maxRegression: 0.01 },
    { name: 'accuracy', maxRegression: 0.02 },
  ],
  drift: { psi: 0.25, ks: 0.2, meanShift: 0.5 },
};

/** Options of {@link taxiRetrainingInput}. */
export interface TaxiInputOptions {
  /** The DVC repository of the trips. */
  repo: string;
  /** The month to train on (a git tag of the repository, e.g. `2020-01`). */
  rev: string;
  /** @default 'taxi-tip' */
  model?: string;
  /** @default TAXI_POLICY */
  policy?: PromotionPolicy;
  /** Training parameters. @default {} */
  params?: TaxiParams & { testFraction?: number };
  /**
   * The task queue of the Python worker (`python/taxi_worker.py`): training and evaluation run
   * there, as the scikit-learn activities `train_taxi_model` and `evaluate_taxi_model`. Without
   * it they run on the TypeScript worker (`trainTaxiModel`, `evaluateTaxiModel`).
   */
  pythonTaskQueue?: string;
  /** Extra retraining input (step timeouts...). */
  overrides?: Partial<RetrainingInput>;
}

/** The Python worker's activities (python/taxi_activities.py), by name. */
export const PYTHON_ACTIVITIES = { train: 'train_taxi_model', evaluate: 'evaluate_taxi_model' } as const;

/** The retraining input of the taxi example: its prepare steps, the drift dataset and features. */
export function taxiRetrainingInput(options: TaxiInputOptions): RetrainingInput {
  return {
    model: options.model ?? 'taxi-tip',
    alias: 'champion',
    data: { repo: options.repo, path: 'data/trips.csv', rev: options.rev },
    policy: options.policy ?? TAXI_POLICY,
    params: { ...(options.params ?? {}) },
    prepare: [{ activity: 'cleaning' }, { activity: 'featuregen' }, { activity: 'split' }],
    drift: { dataset: 'train', features: [...FEATURE_COLUMNS] },
    ...(options.pythonTaskQueue
      ? {
          training: { activity: PYTHON_ACTIVITIES.train, taskQueue: options.pythonTaskQueue },
          evaluation: { activity: PYTHON_ACTIVITIES.evaluate, taskQueue: options.pythonTaskQueue },
        }
      : {}),
    ...(options.overrides ?? {}),
  };
}
