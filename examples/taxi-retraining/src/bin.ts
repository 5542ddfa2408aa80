#!/usr/bin/env node
/**
 * `mltrace-demo` (`npm run demo`): the taxi retraining demo. See `runDemo`.
 * @module
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { runDemo } from './demo.js';

const HELP = `Usage: mltrace-demo [--serve] [--rows N] [--home DIR]

Runs the taxi retraining example end to end: starts a Temporal dev server and an MLflow server
(or uses TEMPORAL_ADDRESS / MLFLOW_TRACKING_URI), makes a DVC repository of monthly taxi trips
under <home>/demo, starts a Python worker for training and evaluation (scikit-learn, from the
repository's .tools/python-venv), retrains the taxi-tip model on January (a champion is promoted)
and on March (the data shifted; the decision is recorded with its reasons), prints why
models:/taxi-tip@champion is what it is, back to the DVC data version and its git commit, and
stops what it started.

  --serve      keep the servers up and serve the mltrace web UI, the Temporal UI and the MLflow UI
               until Ctrl-C
  --rows N     trips per month (default 12000)
  --home DIR   state directory (default: $MLTRACE_HOME, else ./.mltrace); lineage goes to
               DIR/lineage unless MLTRACE_DATABASE_URL is set
  --help       this text
`;

function parseArgs(argv: string[]): { serve: boolean; rows?: number; home?: string; help: boolean } {
  const out: { serve: boolean; rows?: number; home?: string; help: boolean } = { serve: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--serve') out.serve = true;
    else if (arg === '--help' || arg === '-h') out.help = true;
    else if (arg === '--rows') {
      const rows = Number(argv[++i]);
      if (!Number.isInteger(rows) || rows < 500) throw new Error('--rows takes an integer of at least 500');
      out.rows = rows;
    } else if (arg === '--home') {
      const home = argv[++i];
      if (!home) throw new Error('--home takes a directory');
      out.home = home;
    } else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  return out;
}

/** An error with its causes (a failed workflow's activity failure and its message) and hint. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const e = current as Error & { hint?: string };
    parts.push(`${depth > 0 ? '  caused by: ' : ''}${e.message ?? String(e)}${e.hint ? ` (${e.hint})` : ''}`);
    current = e.cause;
  }
  return parts.join('\n');
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`mltrace-demo: ${(error as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  // The demo handles SIGINT and SIGTERM itself (and stops what it started): no shutdown signals for the runtime.
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      console.error(`\nmltrace-demo: ${signal} again, exiting now`);
      process.exit(130);
    }
    interrupted = true;
    if (!args.serve) console.error(`\nmltrace-demo: ${signal}, stopping what the demo started...`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runDemo({
      serve: args.serve,
      signal: controller.signal,
      ...(args.rows ? { rows: args.rows } : {}),
      ...(args.home ? { home: args.home } : {}),
    });
    return 0;
  } catch (error) {
    if (interrupted && !args.serve) return 130;
    if (interrupted) return 0;
    console.error(`mltrace-demo: ${describeError(error)}`);
    return 1;
  }
}

process.exitCode = await main();
