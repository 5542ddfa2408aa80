import type { BackfillResult } from '@mltrace/temporal';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { positiveInt } from '../options.js';
import { plural } from '../render/format.js';
import { connectTemporal, temporalError } from '../services.js';

interface BackfillCliOptions {
  workflowId?: string;
  runId?: string;
  query?: string;
  namespace?: string;
  address?: string;
  children: boolean;
  maxWorkflows: number;
  json?: boolean;
}

/** What `mltrace backfill --json` prints: the counts of `backfill`, and where they come from. */
export interface BackfillJson extends BackfillResult {
  address: string;
  namespace: string;
}

/** The one-line summary of a backfill. */
export function formatBackfill(result: BackfillJson): string {
  return (
    `backfill from ${result.address} (namespace ${result.namespace}): ` +
    `${plural(result.workflows, 'workflow run')} read, ${plural(result.activities, 'activity', 'activities')}; ` +
    `${plural(result.created, 'run')} written, ${result.updated} completed, ${result.unchanged} already recorded` +
    (result.pending > 0 ? `, ${result.pending} still running (the worker records those)` : '')
  );
}

async function backfillCommand(ctx: CommandContext, options: BackfillCliOptions): Promise<number> {
  if ((options.workflowId === undefined) === (options.query === undefined)) {
    throw new UsageError(
      'give --workflow-id ID or --query VISIBILITY_QUERY (exactly one)',
      'mltrace backfill --workflow-id retrain-2024-06-01',
    );
  }
  if (options.runId !== undefined && options.workflowId === undefined) {
    throw new UsageError('--run-id needs --workflow-id');
  }
  const store = await ctx.store();
  const { backfill } = await import('@mltrace/temporal');
  const temporal = await connectTemporal(ctx, { address: options.address, namespace: options.namespace });
  let result: BackfillResult;
  try {
    ctx.progress(
      `reading the event history of ${options.workflowId ?? 'the workflows the query lists'} from ${temporal.address}…`,
    );
    result = await backfill({
      client: temporal.client,
      store,
      namespace: temporal.namespace,
      ...(options.workflowId !== undefined ? { workflowId: options.workflowId } : {}),
      ...(options.runId !== undefined ? { runId: options.runId } : {}),
      ...(options.query !== undefined ? { query: options.query } : {}),
      children: options.children,
      maxWorkflows: options.maxWorkflows,
      cwd: ctx.io.cwd,
      env: ctx.io.env,
      logger: ctx.logger,
    });
  } catch (error) {
    throw temporalError(error, temporal);
  } finally {
    ctx.progress(undefined);
    await temporal.close();
  }
  const json: BackfillJson = { ...result, address: temporal.address, namespace: temporal.namespace };
  if (options.json) ctx.json(json);
  else ctx.out(formatBackfill(json));
  return 0;
}

/** `mltrace backfill`: rebuilds the runs a worker did not record from Temporal's event history. */
export const registerBackfill: Register = (program, wrap) => {
  program
    .command('backfill')
    .description(
      "rebuild missing activity runs from Temporal's event history (a worker without the plugin, or killed before it flushed); idempotent",
    )
    .option('--workflow-id <id>', 'this workflow (its latest run, and the runs it continued from)')
    .option('--run-id <id>', 'with --workflow-id: this run of it')
    .option(
      '--query <query>',
      'every workflow a visibility query lists, e.g. \'WorkflowType = "retraining"\'',
    )
    .option('--namespace <ns>', 'the Temporal namespace (default: $TEMPORAL_NAMESPACE, else default)')
    .option(
      '--address <host:port>',
      'the Temporal frontend (default: $TEMPORAL_ADDRESS, else localhost:7233)',
    )
    .option('--no-children', 'do not follow child workflows')
    .option('--max-workflows <n>', 'read at most N workflow runs', positiveInt, 1000)
    .option('--json', 'print the counts as JSON (see the README)')
    .addHelpText(
      'after',
      `${examples(
        'mltrace backfill --workflow-id retrain-2024-06-01',
        `mltrace backfill --query 'WorkflowType = "retraining" AND StartTime > "2024-06-01T00:00:00Z"' --json`,
        'TEMPORAL_ADDRESS=temporal:7233 TEMPORAL_NAMESPACE=ml mltrace backfill --workflow-id nightly',
      )}
Each activity's final attempt becomes a run (run key temporal:NS/WORKFLOW/RUN/ACTIVITY/ATTEMPT)
when the store lacks it, or completes it when the store only has it running; earlier failed
attempts are not in the history (only the plugin records those).
`,
    )
    .action(wrap((ctx, options: BackfillCliOptions) => backfillCommand(ctx, options)));
};
