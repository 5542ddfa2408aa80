/** The hot-path test's workflows (bundled; imports only @temporalio/workflow). */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface HotPathActivities {
  read(input: { source: string; notes: string }): Promise<{ output: string; notes: string }>;
}

const { read } = proxyActivities<HotPathActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<HotPathActivities>({ startToCloseTimeout: '1 minute' });

/** `n` activities one after another (then `n` local ones), each reading and writing one URI. */
export async function sequence(n: number, notes: string): Promise<number> {
  for (let i = 0; i < n; i++) await read({ source: `s3://lake/raw/part-${i}.parquet`, notes });
  for (let i = 0; i < n; i++) await local.read({ source: `s3://lake/raw/local-${i}.parquet`, notes });
  return 2 * n;
}
