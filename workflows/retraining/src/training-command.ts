/**
 * Training by command: any program (Python, a shell script, a TypeScript CLI) run through execa,
 * which trains, logs to MLflow and reports the run id on stdout.
 * @module
 */
import { InvalidInputError } from '@mltrace/core';
import type { MlflowClient } from '@mltrace/mlflow';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import type { StepContext, TrainingConfig, TrainResult } from './types.js';

const RUN_ID_LINE = /\bmlflow[_ ]run[_ ]id\s*[=:]\s*"?([0-9a-f]{32})"?/i;

/**
 * The MLflow run id a training command printed: the last `MLFLOW_RUN_ID=<32 hex>` line (any case,
 * `=` or `:`), or the last JSON line with an `mlflow_run_id` (or `run_id`) field.
 */
export function parseRunId(stdout: string): string | undefined {
  let found: string | undefined;
  for (const line of stdout.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('{')) {
      try {
        const parsed = JSON.parse(trimmed) as { mlflow_run_id?: unknown; run_id?: unknown };
        const id = parsed.mlflow_run_id ?? parsed.run_id;
        if (typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)) found = id;
        continue;
      } catch {
        // not JSON: try the plain form
      }
    }
    const match = RUN_ID_LINE.exec(trimmed);
    if (match) found = match[1];
  }
  return found;
}

/** The environment a training command gets: the step context, flattened. */
export function trainingEnvironment(context: StepContext, trackingUri: string): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: trackingUri,
    MLFLOW_EXPERIMENT_NAME: context.experiment,
    MLTRACE_MODEL: context.model,
    MLTRACE_DATA_PATH: context.data.localPath,
    MLTRACE_DATA_URI: context.data.uri,
    MLTRACE_DATA_VERSION: context.data.version,
    MLTRACE_DATA_COMMIT: context.data.commit,
    MLTRACE_OUTPUTS: JSON.stringify(context.outputs),
    MLTRACE_PARAMS: JSON.stringify(context.params),
  };
}

/** Runs a training command and returns its run. @throws ApplicationFailure when it prints no run id */
export async function runTrainingCommand(options: {
  command: string[];
  context: StepContext;
  training: TrainingConfig;
  mlflow: MlflowClient;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
}): Promise<TrainResult> {
  const [file, ...args] = options.command;
  if (!file) throw new InvalidInputError('the training command is empty');
  const result = await execa(file, args, {
    ...(options.training.cwd ? { cwd: options.training.cwd } : {}),
    env: {
      ...options.env,
      ...trainingEnvironment(options.context, options.mlflow.trackingUri),
      ...(options.training.env ?? {}),
    },
    stdin: 'ignore',
    cancelSignal: options.signal,
    reject: false,
    all: true,
  });
  const tail = (result.all ?? '').split('\n').slice(-15).join('\n');
  if (result.failed) {
    throw ApplicationFailure.create({
      type: 'TrainingCommandFailed',
      message: `the training command ${options.command.join(' ')} failed (${result.shortMessage}):\n${tail}`,
    });
  }
  const runId = parseRunId(result.stdout ?? '');
  if (!runId) {
    throw ApplicationFailure.create({
      type: 'TrainingCommandFailed',
      nonRetryable: true,
      message: `the training command ${options.command.join(' ')} printed no MLflow run id (a line MLFLOW_RUN_ID=<id>):\n${tail}`,
    });
  }
  const run = await options.mlflow.getRun(runId);
  const metrics = Object.fromEntries(run.metrics.map((m) => [m.key, m.value]));
  return { runId, artifactPath: options.training.artifactPath ?? 'model', metrics };
}
