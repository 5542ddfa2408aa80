/**
 * Workflows of the plugin's tests (not part of the package; bundled by the tests). Imports only
 * `@temporalio/workflow` and activity types.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  continueAsNew,
  executeChild,
  getCurrentDetails,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from './test-activities.js';

const acts = proxyActivities<typeof activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '50ms', backoffCoefficient: 1, maximumAttempts: 5 },
});

const cancellable = proxyActivities<typeof activities>({
  startToCloseTimeout: '1m',
  heartbeatTimeout: '2s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

const quiet = proxyActivities<typeof activities>({
  startToCloseTimeout: '1m',
  heartbeatTimeout: '1s',
  retry: { initialInterval: '50ms', maximumAttempts: 2 },
});

const local = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10s' });

/** The four-step pipeline: cleaning -> featuregen -> split -> train. */
export async function pipeline(rawPath: string): Promise<{ modelPath: string; accuracy: number }> {
  const cleanPath = await acts.cleaning(rawPath);
  const featuresPath = await acts.featuregen(cleanPath);
  const { trainPath } = await acts.split(featuresPath);
  return acts.train(trainPath);
}

/** One activity that fails `failures` times before succeeding. */
export async function retries(failures: number): Promise<{ attempt: number }> {
  return acts.flaky(failures);
}

/** One activity that fails for good; the workflow catches it. */
export async function failing(reason: string): Promise<string> {
  try {
    await acts.broken(reason);
    return 'unexpected';
  } catch {
    return 'caught';
  }
}

/** Starts a heartbeating activity, then cancels it. */
export async function cancelling(): Promise<string> {
  const scope = new CancellationScope();
  const promise = scope.run(() => cancellable.waitForCancel());
  await sleep('1.5s');
  scope.cancel();
  try {
    await promise;
    return 'completed';
  } catch (error) {
    return isCancellation(error) ? 'cancelled' : 'failed';
  }
}

/** An activity that completes asynchronously. */
export async function asyncCompletion(): Promise<string> {
  return acts.completeLater();
}

/** An activity that adds its I/O at run time. */
export async function runtimeIo(dir: string): Promise<number> {
  return acts.discover(dir);
}

/** Returns what the `echo` activity returns. */
export async function echoValue(value: unknown): Promise<unknown> {
  return acts.echo(value);
}

/** `n` trivial activities, `parallel` at a time. */
export async function many(n: number, parallel: number): Promise<number> {
  let sum = 0;
  for (let start = 0; start < n; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - start) }, (_, i) => acts.step(start + i));
    for (const value of await Promise.all(batch)) sum += value;
  }
  return sum;
}

/** `n` calls in flight at once, each returning its own output file. */
export async function fanOut(n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => acts.echo(`s3://fan/out-${i}.parquet`)));
}

/** Sets details of its own, runs an activity, and returns the details as it sees them. */
export async function ownDetails(note: string): Promise<string> {
  setCurrentDetails(note);
  await acts.echo('s3://own/details.csv');
  return getCurrentDetails();
}

/** `n` activities one after another, each sleeping `ms`. */
export async function slow(n: number, ms: number): Promise<number> {
  let done = 0;
  for (let i = 0; i < n; i++) {
    await acts.slowStep(i, ms);
    done++;
  }
  return done;
}

/** A local activity. */
export async function withLocalActivity(i: number): Promise<number> {
  return local.step(i);
}

/**
 * `n` local activities at once, the i-th returning its pointer after `i * ms`: a worker hands
 * their results to the workflow in several activations, and a replay in one.
 */
export async function localFanOut(n: number, ms: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => local.slowEcho(`s3://fan/local-${i}.parquet`, i * ms)),
  );
}

/** Declared components: one with passing checks, one whose check fails the attempt. */
export async function declared(modelUri: string): Promise<string> {
  await acts.evaluate(modelUri, 0.7);
  try {
    await acts.strictEvaluate(modelUri);
    return 'strict passed';
  } catch {
    return 'strict failed';
  }
}

/** Continues as new until `iteration` reaches `last`, one activity per run. */
export async function chain(iteration: number, last: number): Promise<number> {
  await acts.step(iteration);
  if (iteration < last) await continueAsNew<typeof chain>(iteration + 1, last);
  return iteration;
}

/** A parent: one activity, then a child workflow that continues as new once. */
export async function parent(): Promise<number> {
  await acts.step(100);
  return executeChild(chain, { args: [0, 1], workflowId: `${workflowInfo().workflowId}-child` });
}

/** An activity that starts another workflow through the worker's client. */
export async function followUp(taskQueue: string): Promise<string> {
  return acts.startFollowUp(taskQueue);
}

/** Secrets in an activity's arguments, result, error and source (the planted-secrets test). */
export async function plantedSecrets(config: {
  note: string;
  endpoint: string;
  reason: string;
}): Promise<string> {
  await acts.echo({ note: config.note, endpoint: config.endpoint });
  await acts.leaky({ note: config.note, endpoint: config.endpoint });
  try {
    await acts.broken(config.reason);
  } catch {
    // expected
  }
  return 'done';
}

/** An activity whose first attempt misses its heartbeat timeout; the retry succeeds. */
export async function heartbeatTimeout(): Promise<string> {
  return quiet.missHeartbeat();
}
