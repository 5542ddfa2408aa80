/**
 * The README's Quickstart on a fresh clone: `npm run demo`, then the README's follow-up
 * `npx mltrace ...` commands, each exactly as written, with the registry made unreachable so
 * that `npx` can only run the workspace's own `mltrace`.
 *
 * The clone is of the committed HEAD. Its `.tools` links to this checkout's (as every worktree's
 * does; set-up skips what is there already) and turbo shares this checkout's cache, so set-up
 * costs `npm ci` and the build is a cache hit when nothing uncommitted changed. The README's other
 * set-up command, `npm test`, is the run this test is part of: it is not run again inside it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, constants, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot, toolPath } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Result {
  code: number | null;
  out: string;
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The commands of the README's first `sh` block that contains `marker`, comments stripped. */
async function readmeBlock(marker: string): Promise<string[]> {
  const readme = await readFile(join(repoRoot(), 'README.md'), 'utf8');
  for (const m of readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const code = m[1] ?? '';
    if (code.includes(marker))
      return code
        .split('\n')
        .map((line) => line.replace(/\s+#.*$/, '').trim())
        .filter((line) => line !== '');
  }
  throw new Error(`README.md has no sh block with ${marker}`);
}

let clone: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  clone = join(tmpdir(), `mltrace-fresh-clone-${process.pid}`);
  await rm(clone, { recursive: true, force: true });
  const cloned = await sh(`git clone --quiet "${repoRoot()}" "${clone}"`, tmpdir(), process.env);
  expect(cloned.code, cloned.out).toBe(0);
  // <tools>/venv/bin/temporal: the tools directory this checkout uses.
  await symlink(dirname(dirname(dirname(toolPath('temporal')))), join(clone, '.tools'));
  const keep = ['PATH', 'HOME', 'LANG', 'MLTRACE_CHROMIUM', 'MLTRACE_NODE_DIR'];
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => keep.includes(k)));
  // Turbo's cache of this checkout: <repo>/.turbo/cache, the main worktree's for a linked one.
  const common = await sh('git rev-parse --path-format=absolute --git-common-dir', repoRoot(), process.env);
  env.TURBO_CACHE_DIR = join(dirname(common.out.trim()), '.turbo', 'cache');
}, 120_000);

afterAll(async () => {
  if (clone) await rm(clone, { recursive: true, force: true });
});

describe('the README on a fresh clone', () => {
  it('npm run demo, then every npx mltrace command after it, as written', { timeout: 900_000 }, async () => {
    const setup = await readmeBlock('npm run demo');
    expect(setup).toEqual(['npm run demo', 'npm test']);
    const demo = await sh('npm run demo', clone, env);
    expect(demo.code, demo.out.slice(-4000)).toBe(0);
    expect(demo.out).toContain('models:/taxi-tip@champion');

    // npm linked the command at install time, before the build.
    await access(join(clone, 'node_modules', '.bin', 'mltrace'), constants.X_OK);
    expect(existsSync(join(clone, 'packages', 'cli', 'dist', 'bin.js'))).toBe(true);

    const followUps = await readmeBlock('npx mltrace why');
    expect(followUps).toEqual([
      'npx mltrace why models:/taxi-tip@champion',
      'npx mltrace trace models:/taxi-tip@champion',
      'npx mltrace promotions taxi-tip',
    ]);
    // A registry lookup would fail here: only the workspace's own mltrace can answer.
    const offline = { ...env, npm_config_registry: 'http://127.0.0.1:9/' };
    const outputs: string[] = [];
    for (const command of followUps) {
      const r = await sh(command, clone, offline);
      expect(r.code, `${command}:\n${r.out}`).toBe(0);
      outputs.push(r.out);
    }
    const [why, trace, promotions] = outputs;
    expect(why).toContain('taxi-tip');
    expect(why).toMatch(/promot/i);
    expect(trace).toMatch(/trace of models:\/taxi-tip@champion/);
    expect(promotions).toContain('taxi-tip');
  });
});
