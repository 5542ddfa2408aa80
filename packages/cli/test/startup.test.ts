import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openStore } from '@mltrace/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const RECORD = fileURLToPath(new URL('./fixtures/record-imports.mjs', import.meta.url));

describe('what the CLI loads at start-up', () => {
  let home: string;
  let owner: Awaited<ReturnType<typeof openStore>>;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'mltrace-startup-'));
    // This process owns the embedded store, as a running worker would.
    owner = await openStore({ env: { MLTRACE_HOME: home }, cwd: home });
    await owner.logRun({
      component: 'clean',
      startedAt: new Date(),
      inputs: ['raw.csv'],
      outputs: ['clean.csv'],
    });
  }, 180_000);
  afterAll(async () => {
    await owner?.close();
    await rm(home, { recursive: true, force: true });
  });

  async function loaded(args: string[]): Promise<{ stdout: string; modules: string[] }> {
    const log = join(home, `imports-${args[0]}.log`);
    const { stdout } = await run(process.execPath, ['--import', RECORD, BIN, ...args], {
      env: { ...process.env, MLTRACE_HOME: home, MLTRACE_IMPORT_LOG: log, MLTRACE_DATABASE_URL: '' },
      cwd: home,
    });
    return { stdout, modules: (await readFile(log, 'utf8').catch(() => '')).split('\n') };
  }

  it('loads no store for --help', async () => {
    const { stdout, modules } = await loaded(['--help']);
    expect(stdout).toContain('Usage: mltrace');
    expect(modules.some((url) => url.includes('/packages/cli/'))).toBe(true);
    expect(
      modules.filter((url) => /\/packages\/store\/|@electric-sql\/pglite|\/postgres\/src\//.test(url)),
    ).toEqual([]);
  });

  it('reads through a running owner without loading PGlite', async () => {
    const { stdout, modules } = await loaded(['trace', 'clean.csv', '--json']);
    expect(
      (JSON.parse(stdout) as { runs: Array<{ component: string }> }).runs.map((r) => r.component),
    ).toEqual(['clean']);
    expect(modules.some((url) => url.includes('/packages/store/dist/shared/index.js'))).toBe(true);
    expect(modules.filter((url) => url.includes('@electric-sql/pglite'))).toEqual([]);
  });
});
