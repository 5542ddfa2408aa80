import { readFileSync } from 'node:fs';
import type { LineageStore } from '@mltrace/store';
import { Command, CommanderError } from 'commander';
import type { CommandBody, Wrap } from './command.js';
import { registerBackfill } from './commands/backfill.js';
import { registerComponents } from './commands/components.js';
import { registerExport } from './commands/export.js';
import { registerFlags } from './commands/flags.js';
import { registerImport } from './commands/import.js';
import { registerLineage } from './commands/lineage.js';
import { registerLog } from './commands/log.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPromotions } from './commands/promotions.js';
import { registerRuns } from './commands/runs.js';
import { registerServe } from './commands/serve.js';
import { registerSync } from './commands/sync.js';
import { registerTemporal } from './commands/temporal.js';
import { registerWhy } from './commands/why.js';
import { createContext, isDebug, StopSignal, StoreHolder } from './context.js';
import { EXIT_CODES, reportError } from './errors.js';
import type { CliIo } from './io.js';

/** Options of {@link runCli}: the process's streams, environment and directory, or a test's. */
export interface RunCliOptions extends CliIo {
  /**
   * A store to use instead of opening one from `--db` / `MLTRACE_DATABASE_URL`; it stays open
   * (it belongs to the caller).
   */
  store?: LineageStore;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function buildProgram(
  options: RunCliOptions,
  holder: StoreHolder,
  stop: StopSignal,
  result: { code: number },
): Command {
  const { stdout, stderr } = options;
  const program = new Command('mltrace')
    .description('lineage of ML pipeline runs: where did this model, prediction or file come from?')
    // `-V` only for commander: `--version` belongs to the commands that take a pointer (its
    // content version); `mltrace --version` before any command is read as `-V` (runCli).
    .version(VERSION, '-V', 'print the version (also --version, before any command)')
    .option(
      '--db <url>',
      'the lineage database: postgres://USER:PASSWORD@HOST:PORT/DB (default: $MLTRACE_DATABASE_URL, else the embedded store in $MLTRACE_HOME or ./.mltrace)',
    )
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      writeErr: (text) => stderr.write(text),
      outputError: (text, write) => write(`mltrace: ${text.trim()}\n`),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ mltrace log train --input features.csv --output model.pkl
  $ mltrace trace model.pkl
  $ mltrace flag predictions.csv && mltrace review
  $ mltrace sync dvc && mltrace sync mlflow && mltrace why models:/taxi-tip@champion

Environment:
  MLTRACE_DATABASE_URL  the lineage database (as --db)
  MLTRACE_HOME          the embedded store's directory (default ./.mltrace)
  MLTRACE_DEBUG=1       print stack traces on errors
  MLFLOW_TRACKING_URI   the MLflow tracking server (sync mlflow, why, serve), with
                        MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD
  TEMPORAL_ADDRESS      the Temporal frontend for backfill (default localhost:7233)
  TEMPORAL_NAMESPACE    its namespace (default default)

Exit codes: 0 ok, 1 unexpected, 2 invalid input or usage, 3 not found, 4 unavailable, 5 configuration, 6 conflict.`,
    );

  const wrap: Wrap =
    <A extends unknown[]>(body: CommandBody<A>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const ctx = createContext(options, holder, stop, command.optsWithGlobals<{ db?: string }>().db);
      result.code = (await body(ctx, ...(args.slice(0, -1) as A))) ?? EXIT_CODES.ok;
    };

  for (const register of [
    registerLog,
    registerImport,
    registerExport,
    registerRuns,
    registerLineage,
    registerFlags,
    registerComponents,
    registerPromotions,
    registerWhy,
    registerSync,
    registerBackfill,
    registerTemporal,
    registerServe,
    registerMigrate,
  ]) {
    register(program, wrap);
  }
  return program;
}

/** `--version` before any command name is the program's `-V`; after one, the command's own option. */
function programVersionFlag(argv: string[], program: Command): string[] {
  const commands = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  const out = [...argv];
  for (let i = 2; i < out.length; i++) {
    if (commands.has(out[i]!)) break;
    if (out[i] === '--version') out[i] = '-V';
  }
  return out;
}

/**
 * Runs the `mltrace` command line in this process and returns its exit code: what the binary
 * does, with the streams, environment and directory injected. Never throws and never exits the
 * process; errors are printed as one `mltrace: error:` line (the stack with `MLTRACE_DEBUG=1`).
 *
 * @param argv the full argv, as `process.argv` (`['node', 'mltrace', 'trace', 'model.pkl']`)
 */
export async function runCli(argv: string[], options: RunCliOptions): Promise<number> {
  const holder = new StoreHolder(options.store);
  const stop = new StopSignal(options.signal);
  const result = { code: EXIT_CODES.ok as number };
  const debug = isDebug(options.env);
  try {
    const program = buildProgram(options, holder, stop, result);
    await program.parseAsync(programVersionFlag(argv, program), { from: 'node' });
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander printed its message already (through outputError).
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return EXIT_CODES.ok;
      if (error.code !== 'commander.help') {
        const command = argv.slice(2).find((arg) => !arg.startsWith('-'));
        options.stderr.write(
          `hint: see \`mltrace ${command && !error.code.endsWith('unknownCommand') ? `${command} ` : ''}--help\`\n`,
        );
      }
      return EXIT_CODES.invalid_input;
    }
    return reportError(error, options.stderr, debug);
  } finally {
    stop.dispose();
    try {
      await holder.close();
    } catch (error) {
      if (debug) reportError(error, options.stderr, debug);
    }
  }
}
