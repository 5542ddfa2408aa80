/**
 * A tiny pipeline workflow for the `backfill` tests (not part of the build; bundled by the test).
 * It runs on a worker WITHOUT the mltrace plugin, so only Temporal's history knows its activities.
 */
import { proxyActivities } from '@temporalio/workflow';

/** The activities the workflow calls; the test's worker implements them. */
export interface PipelineActivities {
  /** Cleans a raw file; returns the cleaned file's URI. */
  clean(rawUri: string): Promise<string>;
  /** Trains on cleaned data; returns the model's URI. */
  train(cleanUri: string): Promise<string>;
}

const { clean, train } = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

/** clean, then train: two activity runs, the second reading what the first wrote. */
export async function cleanAndTrain(rawUri: string): Promise<string> {
  return train(await clean(rawUri));
}
