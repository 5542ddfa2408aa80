import { type LineageStore, openStore } from '@mltrace/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { EXIT_CODES } from '../src/errors.js';
import { removeTemplate, type Workspace, workspace } from './test-cli.js';

const COMMANDS = [
  'log',
  'import',
  'recent',
  'history',
  'inspect',
  'notes',
  'trace',
  'impact',
  'flag',
  'unflag',
  'review',
  'component',
  'components',
  'tags',
  'promotions',
  'why',
  'sync',
  'backfill',
  'serve',
  'migrate',
];

/** Commands under another (`sync dvc`). */
const SUBCOMMANDS = ['sync dvc', 'sync mlflow'];

/** No stack frame (`    at fn (file:line)`) in what a user sees. */
const STACK_FRAME = /^\s+at .+[:(]/m;

describe('the mltrace command line', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
  });

  afterAll(async () => {
    await ws.remove();
    await removeTemplate();
  });

  it('keeps one exit-code table', () => {
    expect(EXIT_CODES).toEqual({
      ok: 0,
      unexpected: 1,
      invalid_input: 2,
      not_found: 3,
      unavailable: 4,
      config: 5,
      conflict: 6,
    });
  });

  it('prints help with an example for every command', async () => {
    const top = await ws.run(['--help']);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command} `);
    for (const command of [...COMMANDS, ...SUBCOMMANDS]) {
      const result = await ws.run([...command.split(' '), '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toMatch(new RegExp(`^Usage: mltrace ${command} `));
      expect(result.stdout, command).toMatch(new RegExp(`\\nExamples:\\n {2}\\$ mltrace ${command}`));
    }
  });

  it('refuses an unsupported database URL in one line, exit 5, without a stack trace', async () => {
    const result = await ws.run(['--db', 'mysql://x', 'recent']);
    expect(result).toEqual({
      code: 5,
      stdout: '',
      stderr:
        'mltrace: error: unsupported database URL "mysql://x"\n' +
        'hint: use postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave MLTRACE_DATABASE_URL unset for the embedded store\n',
    });
  });

  it('takes the database from MLTRACE_DATABASE_URL when there is no --db, and --db wins over it', async () => {
    const fromEnv = await ws.run(['recent'], { env: { MLTRACE_DATABASE_URL: 'mysql://from-env' } });
    expect(fromEnv.code).toBe(5);
    expect(fromEnv.stderr).toContain('"mysql://from-env"');
    const both = await ws.run(['--db', 'mysql://from-flag', 'recent'], {
      env: { MLTRACE_DATABASE_URL: 'mysql://from-env' },
    });
    expect(both.stderr).toContain('"mysql://from-flag"');
  });

  it('says an unreachable database is unavailable, exit 4, and never prints its password', async () => {
    const result = await ws.run(['recent', '--db', 'postgres://me:s3cret@nohost.invalid:1/lineage']);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^mltrace: error: cannot open the lineage database postgres:\/\/me:\*\*\*@nohost\.invalid:1\/lineage: /,
    );
    expect(lines[1]).toMatch(/^hint: /);
    expect(result.stderr).not.toContain('s3cret');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('shows the stack only with MLTRACE_DEBUG=1', async () => {
    const result = await ws.run(['--db', 'mysql://x', 'recent'], { env: { MLTRACE_DEBUG: '1' } });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^mltrace: error: unsupported database URL/);
    expect(result.stderr).toMatch(STACK_FRAME);
  });

  /** `mltrace recent` on a given store: its exit code and stderr lines. */
  async function recentOn(store: LineageStore): Promise<{ code: number; errors: string[] }> {
    let stderr = '';
    const code = await runCli(['node', 'mltrace', 'recent'], {
      stdout: { write: () => {} },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
      cwd: ws.cwd,
      store,
    });
    return { code, errors: stderr.trimEnd().split('\n') };
  }

  it('reports an unexpected failure in one line with exit 1 and asks for a report', async () => {
    const store = await openStore({ dataDir: 'memory://', cwd: ws.cwd });
    const message = 'could not read block 7 in file "base/5/16384": read only 0 of 8192 bytes';
    // Fault injection: a storage failure no real store can be made to produce on demand.
    const failing: LineageStore = {
      ...store,
      recent: () => Promise.reject(Object.assign(new Error(message), { code: 'XX001' })),
    };
    const { code, errors } = await recentOn(failing);
    await store.close();
    expect(code).toBe(1);
    expect(errors).toEqual([
      `mltrace: error: unexpected: ${message}`,
      'hint: rerun with MLTRACE_DEBUG=1 to see the stack trace, and report it',
    ]);
  });

  it('says the store is closed, with exit 4, when a command gets a closed store', async () => {
    const store = await openStore({ dataDir: 'memory://', cwd: ws.cwd });
    await store.close();
    const { code, errors } = await recentOn(store);
    expect(code).toBe(4);
    expect(errors[0]).toBe('mltrace: error: the embedded lineage store is closed');
  });

  it('exits 2 with one error line and a hint for usage errors', async () => {
    const cases: Array<[string[], string]> = [
      [['recent', '--bogus'], "mltrace: error: unknown option '--bogus'"],
      [['bogus'], "mltrace: error: unknown command 'bogus'"],
      [['trace'], "mltrace: error: missing required argument 'pointer'"],
      [
        ['recent', '--limit', '0'],
        `mltrace: error: option '-n, --limit <n>' argument '0' is invalid. "0" is not a positive integer`,
      ],
      [
        ['log', 'train', '--start', 'yesterday'],
        "mltrace: error: option '--start <iso-time>' argument 'yesterday' is invalid.",
      ],
      [
        ['log', 'train', '--status', 'done'],
        "mltrace: error: option '--status <status>' argument 'done' is invalid.",
      ],
      [
        ['log', 'train', '--start', '2024-05-02', '--end', '2024-05-01'],
        'mltrace: error: --end is before --start',
      ],
    ];
    for (const [args, first] of cases) {
      const result = await ws.run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]?.startsWith(first), `${args.join(' ')}: ${lines[0]}`).toBe(true);
      expect(lines.length, args.join(' ')).toBeLessThanOrEqual(2);
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
  });

  it('logs a run with pointer versions, a run key and notes, and re-logging the key updates it', async () => {
    const first = await ws.json<Record<string, unknown>>(
      'log',
      'train',
      '-i',
      'features.csv@abc',
      '-o',
      'model.pkl',
      '--run-key',
      'train-7',
      '--notes',
      'baseline',
      '--start',
      '2024-05-01T10:00:00Z',
      '--end',
      '2024-05-01T10:00:42Z',
      '--git-commit',
      '4be5f2e',
    );
    expect(first).toEqual({ id: 1, runKey: 'train-7', created: true, stale: [] });
    const again = await ws.ok(
      'log',
      'train',
      '-o',
      'metrics.json',
      '--run-key',
      'train-7',
      '--start',
      '2024-05-01T10:00:00Z',
      '--end',
      '2024-05-01T10:00:42Z',
    );
    expect(again).toBe('updated run 1 of train (train-7)\n');
    const card = await ws.json<{ run: Record<string, unknown> }>('inspect', 'train-7');
    expect(card.run).toMatchObject({
      notes: 'baseline',
      gitCommit: '4be5f2e',
      durationMs: 42_000,
      inputs: [{ uri: `file://${ws.cwd}/features.csv`, version: 'abc', type: 'data' }],
    });
    expect((card.run.outputs as Array<{ uri: string }>).map((p) => p.uri)).toEqual([
      `file://${ws.cwd}/metrics.json`,
      `file://${ws.cwd}/model.pkl`,
    ]);
  });

  it('logs a running run without an end', async () => {
    await ws.ok('log', 'serve', '--status', 'running', '--run-key', 'serve-1');
    const card = await ws.json<{ run: Record<string, unknown> }>('inspect', 'serve-1');
    expect(card.run).toMatchObject({ status: 'running', endedAt: null, durationMs: null });
  });

  it('creates the embedded store in MLTRACE_HOME and says what migrate applied, then that nothing was left to apply', async () => {
    const fresh = await ws.run(['migrate'], { env: { MLTRACE_HOME: `${ws.cwd}/fresh-home` } });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/^applied 0001_lineage\.sql\n/);
    expect(fresh.stdout).toContain(`${ws.cwd}/fresh-home/lineage is up to date: `);
    const again = await ws.json<{ database: string; applied: string[]; migrations: string[] }>('migrate');
    expect(again).toEqual({
      database: `${ws.home}/lineage`,
      applied: [],
      migrations: expect.arrayContaining(['0001_lineage.sql']),
    });
    expect(again.migrations[0]).toBe('0001_lineage.sql');
  });
});
