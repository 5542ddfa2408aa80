// Workflow code for the Temporal smoke test. Runs in the workflow sandbox: imports only
// @temporalio/workflow.
import { proxyActivities } from '@temporalio/workflow';

/** The activity the smoke workflow calls; the test registers its implementation on the worker. */
export interface SmokeActivities {
  greet(name: string): Promise<string>;
}

const { greet } = proxyActivities<SmokeActivities>({ startToCloseTimeout: '30 seconds' });

/** Returns what the `greet` activity returns for `name`. */
export async function greetingWorkflow(name: string): Promise<string> {
  return await greet(name);
}
