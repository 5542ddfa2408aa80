/**
 * `@mltrace/cli`: the `mltrace` command. Log runs from the shell, import them from NDJSON or from
 * an mltrace 0.17 database, bring lineage in from DVC, MLflow and Temporal's history (`sync dvc`,
 * `sync mlflow`, `backfill`), serve the HTTP API and web UI (`serve`), and ask where anything came
 * from (`trace`), what it fed (`impact`), which runs are behind bad outputs (`flag`, `review`) and
 * why a model is in production (`why`). Every read command takes `--json`.
 *
 * `runCli` runs the command line in-process with injected streams, environment and directory
 * (what tests use); `main` is what the `mltrace` binary calls.
 *
 * @example
 * ```ts
 * import { runCli } from '@mltrace/cli';
 * let out = '';
 * const code = await runCli(['node', 'mltrace', 'recent', '--json'], {
 *   stdout: { write: (s: string) => (out += s) },
 *   stderr: process.stderr,
 *   env: { MLTRACE_HOME: '/tmp/lineage' },
 *   cwd: process.cwd(),
 * });
 * ```
 * @module
 */
import { runCli } from './cli.js';

export { type RunCliOptions, runCli } from './cli.js';
export { EXIT_CODES } from './errors.js';
export type { CliIo, Writable } from './io.js';

/**
 * The binary's entry point: runs the CLI on the process's streams and sets the exit code.
 * @param argv `process.argv`
 */
export async function main(argv: string[]): Promise<void> {
  // `mltrace recent | head`: the reader went away; that is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  const code = await runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
  });
  process.exitCode = code;
  // Everything is closed by now; should a driver leave a handle open, do not hang the shell.
  setTimeout(() => process.exit(code), 2000).unref();
}
