import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openStore } from '@mltrace/store';
import { eventually, repoRoot, temporalAddress } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
// The built CLI through its bin, as a user runs it.
const CLI = join(repoRoot(), 'packages', 'cli', 'dist', 'bin.js');
const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));
const EMIT = join(repoRoot(), 'packages', 'server', 'tools', 'openlineage_emit.py');
const PYTHON = join(
  process.env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools'),
  'openlineage-venv',
  'bin',
  'python',
);
const TOKEN = 'sharing-test-token-0123456789';
const ACTIVITIES = 200;

interface Child {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  closed: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Child {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Child = {
    child,
    stdout: '',
    stderr: '',
    closed: new Promise((resolve) => child.once('close', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  return out;
}

describe('one embedded directory used by a worker, the CLI, the server and an OpenLineage client at once', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'mltrace-sharing-'));
    env = { ...process.env, MLTRACE_HOME: join(home, '.mltrace'), TEMPORAL_ADDRESS: temporalAddress() };
    delete env.MLTRACE_DATABASE_URL;
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
  });

  it('keeps every acknowledged write, counted exactly', async () => {
    expect(existsSync(PYTHON)).toBe(true);
    const taskQueue = `sharing-${randomUUID().slice(0, 8)}`;
    // 1. A worker with the plugin, running a 200-activity workflow (it opens the store first).
    const worker = start(process.execPath, [WORKER, taskQueue, String(ACTIVITIES)], env, home);
    children.push(worker.child);
    await eventually(() => worker.stdout.includes('started'), 'the worker to start', 180_000);

    // 2. `mltrace serve` from a second process.
    const serve = start(
      process.execPath,
      [CLI, 'serve', '--port', '0'],
      { ...env, MLTRACE_SERVER_TOKEN: TOKEN },
      home,
    );
    children.push(serve.child);
    await eventually(() => /mltrace server at http/.test(serve.stdout), 'mltrace serve to listen', 120_000);
    const url = /mltrace server at (http:\/\/\S+) /.exec(serve.stdout)?.[1] as string;
    // Reads need the server's token too (no --public-reads).
    const auth = { authorization: `Bearer ${TOKEN}` };

    // 3. `mltrace log` in a loop from a third, 4. trace requests to the server, and 5. the official
    // OpenLineage client posting to it, all while the worker runs.
    let logged = 0;
    let traced = 0;
    let emitted = 0;
    const cliLoop = (async () => {
      for (let i = 0; i < 12; i++) {
        const { stdout } = await run(
          process.execPath,
          [CLI, 'log', 'cli-loop', '--input', `data/cli-${i}.csv`, '--output', `data/cli-${i + 1}.csv`],
          { env, cwd: home },
        );
        expect(stdout).toMatch(/^logged run \d+ of cli-loop/);
        logged++;
      }
    })();
    const traceLoop = (async () => {
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`${url}/api/v1/trace?uri=${encodeURIComponent('data/cli-1.csv')}`, {
          headers: auth,
        });
        if (response.status === 200) traced++;
        else expect(response.status).toBe(404); // before the CLI's first run landed
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const emitLoop = (async () => {
      for (let i = 0; i < 3; i++) {
        const { stdout } = await run(PYTHON, [EMIT, url, TOKEN, randomUUID()]);
        expect(stdout).toContain('sent');
        emitted++;
      }
    })();
    await Promise.all([cliLoop, traceLoop, emitLoop]);
    expect(traced).toBeGreaterThan(0);

    const workerExit = await worker.closed;
    expect({ code: workerExit, stderr: worker.stderr }).toMatchObject({ code: 0 });
    expect(worker.stdout).toContain(`done ${ACTIVITIES}`);
    // The server answers after the worker (which may have owned the store) is gone.
    const after = await fetch(
      `${url}/api/v1/trace?maxDepth=100&uri=${encodeURIComponent(`data/e2e-${ACTIVITIES}.csv`)}`,
      { headers: auth },
    );
    expect(after.status).toBe(200);
    // The chain's last 101 runs (depth 0 to 100, the server's depth limit).
    const graph = (await after.json()) as { runs: Array<{ component: string }>; truncated: boolean };
    expect(graph.runs).toHaveLength(101);
    expect(new Set(graph.runs.map((r) => r.component))).toEqual(new Set(['step']));
    serve.child.kill('SIGTERM');
    expect(await serve.closed).toBe(0);

    const store = await openStore({ env: { MLTRACE_HOME: env.MLTRACE_HOME }, cwd: home });
    try {
      const counts = await store.countRuns();
      const count = (component: string) =>
        counts.filter((c) => c.component === component).reduce((n, c) => n + c.count, 0);
      expect(count('step')).toBe(ACTIVITIES);
      expect(count('cli-loop')).toBe(logged);
      expect(logged).toBe(12);
      expect(count('scripts/score_customers')).toBe(emitted);
      expect(emitted).toBe(3);
    } finally {
      await store.close();
    }
  }, 600_000);
});
