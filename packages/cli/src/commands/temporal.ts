import { ConfigError } from '@mltrace/core';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { connectTemporal, temporalError } from '../services.js';

interface SetupCliOptions {
  namespace?: string;
  address?: string;
  json?: boolean;
}

/** What `mltrace temporal setup --json` prints. */
export interface TemporalSetupJson {
  address: string;
  namespace: string;
  /** Registered by this call. */
  added: string[];
  /** There already. */
  existing: string[];
}

/** The lines `mltrace temporal setup` prints. */
export function formatTemporalSetup(
  result: TemporalSetupJson,
  types: Readonly<Record<string, string>>,
): string[] {
  const named = (names: string[]) => names.map((name) => `${name} (${types[name] ?? '?'})`).join(', ');
  const lines = [`namespace ${result.namespace} at ${result.address}:`];
  if (result.added.length > 0) lines.push(`  registered ${named(result.added)}`);
  if (result.existing.length > 0) lines.push(`  already registered: ${named(result.existing)}`);
  lines.push(
    result.added.length > 0
      ? 'Workers with the mltrace plugin started from now on write them (it checks the namespace once, at start).'
      : 'Nothing to do.',
  );
  return lines;
}

async function setupCommand(ctx: CommandContext, options: SetupCliOptions): Promise<number> {
  const { MLTRACE_SEARCH_ATTRIBUTES, SearchAttributeConflictError, setupSearchAttributes } = await import(
    '@mltrace/temporal'
  );
  const temporal = await connectTemporal(ctx, { address: options.address, namespace: options.namespace });
  let json: TemporalSetupJson;
  try {
    const result = await setupSearchAttributes({
      connection: temporal.client.connection,
      namespace: temporal.namespace,
    });
    json = { address: temporal.address, ...result };
  } catch (error) {
    if (error instanceof SearchAttributeConflictError) {
      throw new ConfigError(error.message, {
        cause: error,
        hint: 'remove them (`temporal operator search-attribute remove --name NAME`) and run this again',
      });
    }
    throw temporalError(error, temporal);
  } finally {
    await temporal.close();
  }
  if (options.json) ctx.json(json);
  else ctx.out(...formatTemporalSetup(json, MLTRACE_SEARCH_ATTRIBUTES));
  return 0;
}

/** `mltrace temporal setup`: registers the search attributes that find workflows by artifact. */
export const registerTemporal: Register = (program, wrap) => {
  const temporal = program
    .command('temporal')
    .description("Temporal's side of the lineage: the search attributes of a namespace");
  temporal
    .command('setup')
    .description(
      'register the mltrace search attributes (MltraceOutputs, MltraceInputs, MltraceModelVersions, MltracePipelineRun) on a namespace, through the operator service; idempotent',
    )
    .option('--namespace <ns>', 'the Temporal namespace (default: $TEMPORAL_NAMESPACE, else default)')
    .option(
      '--address <host:port>',
      'the Temporal frontend (default: $TEMPORAL_ADDRESS, else localhost:7233)',
    )
    .option('--json', 'print what was registered as JSON')
    .addHelpText(
      'after',
      `${examples('mltrace temporal setup --namespace default', 'mltrace temporal setup --address temporal:7233 --namespace ml --json')}
Then find workflows by artifact, in the Temporal UI's search or with the Temporal CLI:
  temporal workflow list --query 'MltraceModelVersions = "models:/taxi-tip/3"'
  temporal workflow list --query 'MltraceInputs = "file:///data/trips.csv@<md5>"'
  temporal workflow list --query 'MltracePipelineRun = "<root workflow id>"'
`,
    )
    .action(wrap((ctx, options: SetupCliOptions) => setupCommand(ctx, options)));
};
