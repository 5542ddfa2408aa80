/**
 * Test support (not part of the build): run the CLI in-process against a real embedded store in
 * a temporary MLTRACE_HOME, or as the built binary.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '@mltrace/store';
import { runCli } from '../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary working directory with its own embedded store (`MLTRACE_HOME`). */
export interface Workspace {
  /** The working directory the CLI runs in (relative pointer paths resolve against it). */
  cwd: string;
  /** The MLTRACE_HOME of its embedded store. */
  home: string;
  env: Record<string, string | undefined>;
  /** Runs `mltrace ARGS...` in-process. */
  run(
    args: string[],
    options?: { stdin?: string; env?: Record<string, string | undefined> },
  ): Promise<CliResult>;
  /** Runs it and fails the test unless it exits 0; returns stdout. */
  ok(...args: string[]): Promise<string>;
  /** Runs `--json` output through JSON.parse. */
  json<T = Record<string, unknown>>(...args: string[]): Promise<T>;
  remove(): Promise<void>;
}

let template: Promise<string> | undefined;

/**
 * A migrated, empty embedded store, made once per test file: creating a PGlite database costs
 * seconds, copying one a fraction of that.
 */
function templateHome(): Promise<string> {
  template ??= (async () => {
    const home = await mkdtemp(join(tmpdir(), 'mltrace-cli-template-'));
    const store = await openStore({ env: { MLTRACE_HOME: home }, cwd: home });
    await store.close();
    return home;
  })();
  return template;
}

/** A fresh workspace whose store is a copy of the template. */
export async function workspace(): Promise<Workspace> {
  const cwd = await mkdtemp(join(tmpdir(), 'mltrace-cli-'));
  const home = join(cwd, '.mltrace-home');
  await cp(await templateHome(), home, { recursive: true });
  const env: Record<string, string | undefined> = { MLTRACE_HOME: home };
  const run: Workspace['run'] = async (args, options = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['node', 'mltrace', ...args], {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env: { ...env, ...options.env },
      cwd,
      ...(options.stdin === undefined ? {} : { stdin: [options.stdin] }),
    });
    return { code, stdout, stderr };
  };
  const ok = async (...args: string[]) => {
    const result = await run(args);
    if (result.code !== 0) {
      throw new Error(`mltrace ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
    }
    return result.stdout;
  };
  return {
    cwd,
    home,
    env,
    run,
    ok,
    json: async <T>(...args: string[]) => JSON.parse(await ok(...args, '--json')) as T,
    remove: () => rm(cwd, { recursive: true, force: true }),
  };
}

/** Removes the template store (call in `afterAll`). */
export async function removeTemplate(): Promise<void> {
  if (!template) return;
  const home = await template;
  template = undefined;
  await rm(home, { recursive: true, force: true });
}

/** The `mltrace` command as npm links it: `packages/cli/bin/mltrace.js`, which runs `dist/bin.js`. */
export const BIN = fileURLToPath(new URL('../bin/mltrace.js', import.meta.url));

/** Runs the built binary with `node`, as a user would. */
export function runBin(
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined>; stdin?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : undefined) : 0;
        if (code === undefined) reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}
