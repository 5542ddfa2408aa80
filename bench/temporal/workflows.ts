/**
 * The benchmark's workflow (bundled for the worker; imports only @temporalio/workflow): runs
 * `count` trivial activities, `parallel` at a time (benchLocalWorkflow: local activities). Each reads one URI and returns one, so the
 * plugin has a pointer to find on each side.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface StepActivities {
  step(input: { part: string }): Promise<{ output: string }>;
}

const { step } = proxyActivities<StepActivities>({ startToCloseTimeout: '1 minute' });

export async function benchWorkflow(first: number, count: number, parallel: number): Promise<number> {
  let done = 0;
  for (let start = 0; start < count; start += parallel) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + parallel); i++) {
      batch.push(step({ part: `s3://bench/raw/part-${first + i}.parquet` }));
    }
    done += (await Promise.all(batch)).length;
  }
  return done;
}

const local = proxyLocalActivities<StepActivities>({ startToCloseTimeout: '1 minute' });

/** The same as {@link benchWorkflow} with local activities (no server round trip per activity). */
export async function benchLocalWorkflow(first: number, count: number, parallel: number): Promise<number> {
  let done = 0;
  for (let start = 0; start < count; start += parallel) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + parallel); i++) {
      batch.push(local.step({ part: `s3://bench/raw/part-${first + i}.parquet` }));
    }
    done += (await Promise.all(batch)).length;
  }
  return done;
}
