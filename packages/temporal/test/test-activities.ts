/**
 * Activities of the plugin's tests (not part of the package). The pipeline steps are plain
 * functions that read and write real files; the others cover retries, failures, cancellation,
 * async completion, run-time I/O, `component()` declarations and secrets.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CompleteAsyncError, Context, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { addInput, addOutput, component } from '../src/index.js';

async function write(path: string, content: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return path;
}

/** Step 1: raw CSV -> clean CSV (drops empty lines). */
export async function cleaning(rawPath: string): Promise<string> {
  const raw = await readFile(rawPath, 'utf8');
  const clean = raw
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('\n');
  return write(join(dirname(rawPath), 'clean.csv'), clean);
}

/** Step 2: clean CSV -> features CSV. */
export async function featuregen(cleanPath: string): Promise<string> {
  const rows = (await readFile(cleanPath, 'utf8')).split('\n');
  return write(
    join(dirname(cleanPath), 'features.csv'),
    rows.map((row) => `${row},${row.length}`).join('\n'),
  );
}

/** Step 3: features -> train and test sets. */
export async function split(
  featuresPath: string,
): Promise<{ trainPath: string; testPath: string; rows: number }> {
  const rows = (await readFile(featuresPath, 'utf8')).split('\n');
  const cut = Math.max(1, Math.floor(rows.length * 0.8));
  const dir = dirname(featuresPath);
  return {
    trainPath: await write(join(dir, 'train.csv'), rows.slice(0, cut).join('\n')),
    testPath: await write(join(dir, 'test.csv'), rows.slice(cut).join('\n')),
    rows: rows.length,
  };
}

/** Step 4: train set -> model file. */
export async function train(trainPath: string): Promise<{ modelPath: string; accuracy: number }> {
  const rows = (await readFile(trainPath, 'utf8')).split('\n');
  const modelPath = await write(
    join(dirname(trainPath), 'model.pkl'),
    JSON.stringify({ weights: rows.length }),
  );
  return { modelPath, accuracy: 0.9 };
}

/** Fails its first `failures` attempts, then returns the attempt number. */
export async function flaky(failures: number): Promise<{ attempt: number }> {
  const { attempt } = Context.current().info;
  if (attempt <= failures)
    throw ApplicationFailure.retryable(`attempt ${attempt} failed on purpose`, 'FlakyError');
  return { attempt };
}

/** Always fails, without retry. */
export async function broken(reason: string): Promise<never> {
  throw ApplicationFailure.nonRetryable(reason, 'BrokenStep');
}

/** Heartbeats until cancelled (cancellation reaches activities through heartbeats). */
export async function waitForCancel(): Promise<string> {
  for (;;) {
    Context.current().heartbeat();
    await sleep(100); // rejects with CancelledFailure once the cancel is delivered
  }
}

/**
 * Attempt 1 goes quiet past its heartbeat timeout, then heartbeats again and is told it timed out
 * (a `TIMED_OUT` cancellation); the retry succeeds.
 */
export async function missHeartbeat(): Promise<string> {
  const ctx = Context.current();
  if (ctx.info.attempt > 1) return 'recovered';
  ctx.heartbeat();
  await new Promise((resolve) => setTimeout(resolve, 3000)); // no heartbeat: the server times it out
  for (;;) {
    ctx.heartbeat();
    await sleep(100); // rejects once the worker learns the attempt timed out
  }
}

/** Task tokens of async activities, for the test to complete them (same process). */
export const asyncTokens: Uint8Array[] = [];

/** Completes asynchronously: the test completes it through the client. */
export async function completeLater(): Promise<string> {
  asyncTokens.push(Context.current().info.taskToken);
  throw new CompleteAsyncError();
}

/** Adds its I/O at run time, from inside the activity. */
export async function discover(dir: string): Promise<number> {
  addInput(`s3://bucket/${dir}/input.parquet`);
  addOutput({ uri: `s3://bucket/${dir}/output.parquet`, version: 'etag-1' });
  return 42;
}

/** Returns what it is given (for byte-identical results and secrets). */
export async function echo<T>(value: T): Promise<T> {
  return value;
}

/** Returns `value` after `ms`. */
export async function slowEcho<T>(value: T, ms: number): Promise<T> {
  await sleep(ms);
  return value;
}

/** A trivial step (local-activity and load tests). */
export async function step(i: number): Promise<number> {
  return i + 1;
}

/** Sleeps, then returns its index (the SIGKILL test). */
export async function slowStep(i: number, ms: number): Promise<number> {
  await sleep(ms);
  return i;
}

/** Starts a follow-up workflow with the worker's client (it joins this activity's pipeline run). */
export async function startFollowUp(taskQueue: string): Promise<string> {
  const { client, info } = Context.current();
  const workflowId = `${info.workflowExecution?.workflowId}-follow-up`;
  await client.workflow.start('withLocalActivity', { taskQueue, workflowId, args: [1] });
  return workflowId;
}

/** A declared component: name, extractors and checks. */
export const evaluate = component(
  async function evaluate(
    modelUri: string,
    _threshold: number,
  ): Promise<{ metricsUri: string; auc: number }> {
    return { metricsUri: `${modelUri}/metrics.json`, auc: 0.8 };
  },
  {
    name: 'evaluation',
    inputs: (modelUri) => [{ uri: modelUri, version: '7' }],
    outputs: (result) => [result.metricsUri],
    beforeRun: [
      function thresholdInRange(_modelUri, threshold) {
        return threshold > 0 && threshold < 1;
      },
    ],
    afterRun: [
      {
        name: 'aucAboveThreshold',
        check: (result, _modelUri, threshold) =>
          result.auc >= threshold || `auc ${result.auc} < ${threshold}`,
      },
    ],
  },
);

/** A declared component whose failing check fails the attempt. */
export const strictEvaluate = component(
  async function strictEvaluate(modelUri: string): Promise<{ auc: number }> {
    return { auc: modelUri.length > 0 ? 0.5 : 0 };
  },
  {
    name: 'strict-evaluation',
    afterRun: [{ name: 'aucAboveHalf', check: (result) => result.auc > 0.5 }],
    onCheckFailure: 'fail',
  },
);

/** Carries planted secrets in its source, its arguments and its result (the planted-secrets test). */
export async function leaky(config: {
  note: string;
  endpoint: string;
}): Promise<{ header: string; note: string }> {
  const API_TOKEN = 'zzTokCodeLiteral0123456789';
  return { header: `Authorization: Bearer ${API_TOKEN.replace('Code', 'Result')}`, note: config.note };
}
