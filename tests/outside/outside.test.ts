/**
 * The outside-install test: the guide (docs/guide.md) followed by a user, outside this repository.
 * Packs the packages with the guide's command, makes a fresh app in the system's temp directory
 * (its own package.json, @temporalio/* from the registry, no workspace link, nothing resolvable
 * from the monorepo's node_modules), writes the guide's files into it, runs the guide's commands
 * as written against the harness's real Temporal dev server and a fresh PostgreSQL database, and
 * checks the lineage with the app's installed `mltrace` and with the real Temporal CLI.
 *
 * Twice: with the app on the monorepo's SDK (1.24.0, the guide's command as written) and on the
 * oldest of the peer range (1.23.0: the one substitution, `@1.24.0` -> `@1.23.0`). Each app runs
 * on the machine's Node.js and on the pinned 22 and 24 (tools/node-versions.txt, from scripts/setup.sh).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot, temporalAddress, testDatabaseUrl, toolPath } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guideCommands, guideFiles } from './guide.js';

/** The SDK versions the app is installed with: the monorepo's, and the oldest of the peer range. */
const SDK_VERSIONS = ['1.24.0', '1.23.0'] as const;
const GUIDE_SDK = '1.24.0';

/** The machine's Node.js, then the pinned ones scripts/setup.sh unpacks. */
function nodeVersions(): { version: string; binDir: string }[] {
  const pinned = readFileSync(join(repoRoot(), 'tools', 'node-versions.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  // The tools directory is where the Temporal CLI's venv is: <tools>/venv/bin/temporal.
  const nodes = process.env.MLTRACE_NODE_DIR || join(dirname(dirname(dirname(toolPath('temporal')))), 'node');
  return [
    { version: process.versions.node, binDir: dirname(process.execPath) },
    ...pinned.map((version) => ({ version, binDir: join(nodes, version, 'bin') })),
  ];
}

const npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the guide's command lines with bash, as a user's shell would. */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Fails with the command's output unless it exits 0; returns stdout. */
async function ok(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await sh(command, cwd, env);
  if (r.code !== 0) throw new Error(`\`${command}\` exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** A long-running command of the guide (`node dist/worker.js &`, `npx mltrace serve`). */
class Background {
  readonly child: ChildProcess;
  output = '';
  private readonly exited: Promise<number | null>;

  constructor(command: string, cwd: string, env: NodeJS.ProcessEnv) {
    // Its own process group, as a shell job is: a signal to the group reaches the command and
    // whatever it runs (npx runs mltrace under sh), as Ctrl-C does on a terminal.
    this.child = spawn('bash', ['-c', `exec ${command}`], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout?.on('data', (d) => {
      this.output += d;
    });
    this.child.stderr?.on('data', (d) => {
      this.output += d;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Waits for `text` in its output, or fails with the output if it exits or takes too long. */
  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(pattern);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${pattern} (exit ${this.child.exitCode}):\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends `signal` (SIGTERM, or SIGINT: Ctrl-C) to its process group, then gives its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(-this.child.pid, signal);
    return this.exited;
  }
}

interface Run {
  id: number;
  component: string;
  status: string;
  attempt: number | null;
  error: { message: string } | null;
  workflow: {
    workflowId?: string;
    runId?: string;
    workflowType?: string;
    parentWorkflowId?: string;
    rootWorkflowId?: string;
  };
  metadata: Record<string, unknown>;
  inputs: { uri: string }[];
  outputs: { uri: string }[];
}
interface Graph {
  runs: (Run & { depth: number })[];
  pointers: { uri: string }[];
}

let work: string;
let home: string;
let commands: string[];
/** The guide's commands this test ran, to check at the end that it ran every one. */
const ran = new Set<string>();

/** The environment of the app's shell: nothing from the monorepo, the Temporal CLI on PATH. */
function appEnv(binDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: [binDir, dirname(toolPath('temporal')), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: home,
    LANG: 'C.UTF-8',
    npm_config_cache: npmCache,
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
    TEMPORAL_ADDRESS: temporalAddress(),
    ...extra,
  };
}

/** The guide's command that starts with `prefix` (each is run once per app and Node.js). */
function command(prefix: string): string {
  const found = commands.filter((c) => c.startsWith(prefix));
  if (found.length !== 1) throw new Error(`the guide has ${found.length} commands starting ${prefix}`);
  ran.add(found[0] as string);
  return found[0] as string;
}

beforeAll(async () => {
  commands = await guideCommands();
  work = join(tmpdir(), `mltrace-outside-${process.pid}`);
  home = join(work, 'home');
  await rm(work, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  // The guide's npm pack, from the repository (built already: npm test builds first).
  for (const prefix of ['mkdir -p ~/', 'npm pack'])
    await ok(command(prefix), repoRoot(), appEnv(dirname(process.execPath)));
  expect((await readdir(join(home, 'mltrace-tarballs'))).filter((f) => f.endsWith('.tgz'))).toHaveLength(8);
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(SDK_VERSIONS)('an app of its own on @temporalio/* %s', (sdk) => {
  let app: string;

  beforeAll(async () => {
    app = join(work, `app-${sdk}`);
    await mkdir(app, { recursive: true });
    const env = appEnv(dirname(process.execPath));
    for (const prefix of ['npm init', 'npm pkg set', 'npm install ~/', 'npm install --save-dev']) {
      const line = command(prefix);
      await ok(line.replaceAll(`@${GUIDE_SDK}`, `@${sdk}`), app, env);
    }
    for (const [file, code] of await guideFiles()) {
      await mkdir(dirname(join(app, file)), { recursive: true });
      await writeFile(join(app, file), code);
    }
    await ok(command('npx tsc'), app, env); // moduleResolution nodenext, the guide's tsconfig
    await ok('npx tsc --noEmit --module esnext --moduleResolution bundler', app, env);
  }, 900_000);

  it('is installed from the tarballs, with one copy of the SDK: the app’s own', async () => {
    const env = appEnv(dirname(process.execPath));
    const resolved = await ok(
      `node --input-type=module -e "for (const p of ['@mltrace/temporal', '@mltrace/store', '@mltrace/cli', '@temporalio/workflow']) console.log(import.meta.resolve(p))"`,
      app,
      env,
    );
    for (const url of resolved.trim().split('\n'))
      expect(url.startsWith(`file://${app}/node_modules/`), url).toBe(true);
    expect((await lstat(join(app, 'node_modules', '@mltrace', 'temporal'))).isSymbolicLink()).toBe(false);
    const copies = (await ok('find node_modules -path "*/@temporalio/workflow/package.json"', app, env))
      .trim()
      .split('\n');
    expect(copies).toEqual(['node_modules/@temporalio/workflow/package.json']);
    const installed = JSON.parse(await ok('cat node_modules/@temporalio/worker/package.json', app, env)) as {
      version: string;
    };
    expect(installed.version).toBe(sdk);
    expect(existsSync(join(app, 'node_modules', '.bin', 'mltrace'))).toBe(true);
  });

  it.each(nodeVersions())(
    'runs the guide’s pipeline on Node.js $version, traced end to end',
    { timeout: 300_000 },
    async ({ version, binDir }) => {
      const env = appEnv(binDir, { MLTRACE_DATABASE_URL: await testDatabaseUrl() });
      expect((await ok('node --version', app, env)).trim()).toBe(`v${version}`);
      await rm(join(app, '.mltrace'), { recursive: true, force: true });

      const worker = new Background(command('node dist/worker.js &').replace(/\s*&$/, ''), app, env);
      try {
        await worker.waitFor(/worker ready/);
        expect(await ok(command('node dist/start.js'), app, env)).toBe(
          'guide-pipeline wrote reports/evaluation.json\n',
        );

        // While the worker runs: the guide's commands as written, then their --json for the checks.
        await ok(command('npx mltrace migrate'), app, env);
        const recentText = await ok(command('npx mltrace recent'), app, env);
        expect(recentText).toContain('clean');
        const traceText = await ok(command('npx mltrace trace reports/evaluation.json'), app, env);
        expect(traceText).toContain('evaluate');
        const impactLine = command('npx mltrace impact');
        const impactText = await ok(impactLine, app, env);
        expect(impactText).toContain('evaluate');

        const { runs } = JSON.parse(await ok('npx mltrace recent --limit 100 --json', app, env)) as {
          runs: Run[];
        };
        const of = (component: string) => runs.filter((r) => r.component === component);
        // One run per attempt: clean failed twice before it succeeded, each month.
        expect(runs.map((r) => r.component).sort()).toEqual(
          [
            'clean',
            'clean',
            'clean',
            'clean',
            'clean',
            'clean',
            'download',
            'download',
            'evaluate',
            'features',
            'features',
            'train',
          ].sort(),
        );
        expect(runs.filter((r) => r.component !== 'clean').every((r) => r.status === 'succeeded')).toBe(true);
        const cleans = of('clean').map((r) => [r.attempt, r.status, r.error?.message ?? null]);
        expect(cleans.sort()).toEqual(
          [
            [1, 'failed', 'the warehouse is busy (attempt 1)'],
            [1, 'failed', 'the warehouse is busy (attempt 1)'],
            [2, 'failed', 'the warehouse is busy (attempt 2)'],
            [2, 'failed', 'the warehouse is busy (attempt 2)'],
            [3, 'succeeded', null],
            [3, 'succeeded', null],
          ].sort(),
        );
        expect(of('evaluate')[0]?.metadata.isLocal).toBe(true);

        // The workflow context across the child workflow and its continue-as-new.
        const prepared = runs.filter((r) => ['download', 'clean', 'features'].includes(r.component));
        for (const r of prepared) {
          expect(r.workflow.workflowType).toBe('prepare');
          expect(r.workflow.parentWorkflowId).toBe('guide-pipeline');
          expect(r.workflow.rootWorkflowId).toBe('guide-pipeline');
        }
        expect(new Set(prepared.map((r) => r.workflow.workflowId)).size).toBe(1);
        expect(new Set(prepared.map((r) => r.workflow.runId)).size).toBe(2); // one per month: continued as new
        for (const r of [...of('train'), ...of('evaluate')]) {
          expect(r.workflow.workflowId).toBe('guide-pipeline');
          expect(r.workflow.workflowType).toBe('pipeline');
        }
        const pipelineRuns = new Set(runs.map((r) => JSON.stringify(r.metadata.pipelineRun)));
        expect(pipelineRuns.size).toBe(1);
        expect([...pipelineRuns][0]).toContain('guide-pipeline');

        // trace of the final output goes back to both months' sources; impact of the first source reaches it.
        const trace = JSON.parse(
          await ok('npx mltrace trace reports/evaluation.json --json', app, env),
        ) as Graph;
        expect(trace.runs.map((r) => r.component).sort()).toEqual(
          ['clean', 'clean', 'download', 'download', 'evaluate', 'features', 'features', 'train'].sort(),
        );
        expect(trace.runs.every((r) => r.status === 'succeeded')).toBe(true);
        const traced = trace.pointers.map((p) => p.uri);
        expect(traced).toContain('https://data.example.com/trips/2024-01.csv');
        expect(traced).toContain('https://data.example.com/trips/2024-02.csv');
        const impact = JSON.parse(await ok(`${impactLine} --json`, app, env)) as Graph;
        expect(impact.runs.map((r) => r.component).sort()).toEqual(
          // clean's failed attempts read the source too
          ['clean', 'clean', 'clean', 'download', 'evaluate', 'features', 'train'].sort(),
        );
        expect(impact.pointers.map((p) => p.uri).some((u) => u.endsWith('/reports/evaluation.json'))).toBe(
          true,
        );

        // The real Temporal CLI's lineage query, answered by the running worker.
        const query = await ok(command('temporal workflow query'), app, env);
        for (const type of ['"train"', '"evaluate"', '"prepare"']) expect(query).toContain(type);

        // mltrace serve on the same store, while the worker runs.
        const serve = new Background(command('npx mltrace serve'), app, env);
        try {
          const [, url] = await serve.waitFor(/mltrace server at (http:\/\/\S+) /);
          // Reads need the token `mltrace serve` keeps in the app's .mltrace/ (the guide says so).
          const token = readFileSync(join(app, '.mltrace', 'server-token'), 'utf8').trim();
          const response = await fetch(
            `${url}/api/v1/impact?uri=${encodeURIComponent('https://data.example.com/trips/2024-01.csv')}`,
            { headers: { authorization: `Bearer ${token}` } },
          );
          expect(response.status).toBe(200);
          const served = (await response.json()) as Graph;
          expect(served.runs.map((r) => r.component).sort()).toEqual(
            impact.runs.map((r) => r.component).sort(),
          );
        } finally {
          // Ctrl-C, as the guide says: mltrace closes the server (npx itself ends by the signal).
          await serve.stop('SIGINT');
          expect(serve.output).toContain('mltrace server stopped');
        }

        // A prebuilt bundle with the plugin replays the pipeline's history.
        expect(await ok(command('node dist/replay.js'), app, env)).toBe(
          'guide-pipeline replays without a determinism error\n',
        );
      } finally {
        expect(await worker.stop(), worker.output).toBe(0);
      }
    },
  );
});

it('ran every command of the guide', () => {
  expect([...ran].sort()).toEqual([...commands].sort());
});
