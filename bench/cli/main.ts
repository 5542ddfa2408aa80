/**
 * `npm run bench -- cli [--rounds N]`: the `mltrace` command's wall time and peak RSS, each call a
 * fresh process (GNU time's %M for the peak), interleaved over rounds, medians:
 *
 * - `node -e 0`: the floor any Node CLI pays on this machine;
 * - `mltrace --help`: no store;
 * - ours with an owner running (a process holding the embedded store, as a worker would): the CLI
 *   connects to its socket and never loads PGlite;
 * - ours cold, no owner: the CLI boots PGlite itself, which is what every call did before the
 *   store was shared (today's path: PGlite opened directly, plus a lock file and a socket);
 * - mltrace 0.17's CLI (`.tools/mltrace-venv`) on PostgreSQL (its only working engine: its CLI
 *   fails on SQLite), `recent` and `--help`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openStore } from '@mltrace/store';
import { median, type Row, writeReport } from '../lib/report.js';
import { startBenchPostgres } from '../store/postgres.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(root, 'packages', 'cli', 'dist', 'bin.js');
const MLTRACE = join(process.env.MLTRACE_TOOLS_DIR || join(root, '.tools'), 'mltrace-venv', 'bin', 'mltrace');
const TIME = '/usr/bin/time';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const rounds = Number(values.rounds);

/** Runs a command once: wall milliseconds and peak RSS in MiB. */
async function measure(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const dir = await mkdtemp(join(tmpdir(), 'mltrace-bench-cli-'));
  const out = join(dir, 'rss');
  const start = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(TIME, ['-f', '%M', '-o', out, command, ...args], { env, cwd, stdio: 'ignore' });
    child.once('close', resolve);
  });
  const ms = performance.now() - start;
  const rssKb = Number((await readFile(out, 'utf8')).trim().split('\n').pop());
  await rm(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`);
  return { ms, mib: rssKb / 1024 };
}

async function main() {
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed for peak RSS`);
  const home = await mkdtemp(join(tmpdir(), 'mltrace-bench-cli-home-'));
  const env: NodeJS.ProcessEnv = { ...process.env, MLTRACE_HOME: join(home, '.mltrace') };
  delete env.MLTRACE_DATABASE_URL;
  // A chain of 200 runs to trace and list.
  const seed = await openStore({ env, cwd: home });
  await seed.logRuns(
    Array.from({ length: 200 }, (_, i) => ({
      component: `step-${i % 5}`,
      runKey: `seed-${i}`,
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
      endedAt: new Date(Date.UTC(2026, 0, 1, 0, i, 30)),
      inputs: [`data/${i}.csv`],
      outputs: [`data/${i + 1}.csv`],
    })),
  );
  await seed.close();

  const pg = await startBenchPostgres();
  const mltraceEnv = { ...process.env, DB_URI: await pg.createDatabase('mltrace_cli') };
  const hasMltrace = existsSync(MLTRACE);
  // mltrace creates its tables on first use; time the calls after that. Its `recent` fails on
  // an empty store; we time it only when it works.
  let mltraceRecent = hasMltrace;
  let mltraceRecentError = '';
  try {
    if (hasMltrace) execFileSync(MLTRACE, ['recent'], { env: mltraceEnv, stdio: 'pipe' });
  } catch (error) {
    mltraceRecent = false;
    mltraceRecentError =
      String((error as { stderr?: Buffer }).stderr ?? '')
        .trim()
        .split('\n')
        .pop() ?? '';
  }

  const commands: Record<string, string[]> = {
    recent: ['recent', '--json'],
    trace: ['trace', 'data/200.csv'],
    impact: ['impact', 'data/0.csv'],
    inspect: ['inspect', '1'],
  };
  const samples: Record<string, Array<{ ms: number; mib: number }>> = {};
  const add = (name: string, sample: { ms: number; mib: number }) => {
    samples[name] ??= [];
    samples[name].push(sample);
  };

  for (let round = 0; round < rounds; round++) {
    add('node_floor', await measure(process.execPath, ['-e', '0'], env, home));
    add('help', await measure(process.execPath, [CLI, '--help'], env, home));
    for (const [name, args] of Object.entries(commands)) {
      add(`cold_${name}`, await measure(process.execPath, [CLI, ...args], env, home));
    }
    // An owner holding the store, as a worker or `mltrace serve` would.
    const owner = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
      env,
      cwd: home,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise<void>((resolve, reject) => {
      owner.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('mltrace server at')) resolve();
      });
      owner.once('exit', (code) => reject(new Error(`mltrace serve exited ${code}`)));
    });
    // The first calls after the owner started pay its warm-up (PGlite's first queries); a worker
    // that has been running has paid it. Both are reported.
    for (const [name, args] of Object.entries(commands)) {
      add(`owner_first_${name}`, await measure(process.execPath, [CLI, ...args], env, home));
    }
    for (const [name, args] of Object.entries(commands)) {
      add(`owner_${name}`, await measure(process.execPath, [CLI, ...args], env, home));
    }
    owner.removeAllListeners('exit');
    await new Promise((resolve) => {
      owner.once('exit', resolve);
      owner.kill('SIGTERM');
    });
    if (hasMltrace) {
      if (mltraceRecent) add('mltrace_recent', await measure(MLTRACE, ['recent'], mltraceEnv, home));
      add('mltrace_help', await measure(MLTRACE, ['--help'], mltraceEnv, home));
    }
  }
  await pg.stop();
  await rm(home, { recursive: true, force: true });

  const figures: Record<string, number> = {};
  const rows: Row[] = [];
  const labels: Record<string, string> = {
    node_floor: '`node -e 0` (floor)',
    help: 'ours `mltrace --help`',
    owner_first_recent: 'ours `recent --json`, owner just started',
    owner_first_trace: 'ours `trace`, owner just started',
    owner_first_inspect: 'ours `inspect`, owner just started',
    owner_first_impact: 'ours `impact`, owner just started',
    owner_recent: 'ours `recent --json`, owner running',
    owner_trace: 'ours `trace`, owner running',
    owner_inspect: 'ours `inspect`, owner running',
    owner_impact: 'ours `impact`, owner running',
    cold_recent: 'ours `recent --json`, cold (boots PGlite: today’s path)',
    cold_trace: 'ours `trace`, cold (boots PGlite: today’s path)',
    cold_inspect: 'ours `inspect`, cold (boots PGlite: today’s path)',
    cold_impact: 'ours `impact`, cold (boots PGlite: today’s path)',
    mltrace_recent: 'mltrace 0.17 `recent` (PostgreSQL)',
    mltrace_help: 'mltrace 0.17 `--help`',
  };
  for (const [name, label] of Object.entries(labels)) {
    const list = samples[name];
    if (!list) continue;
    const ms = median(list.map((s) => s.ms));
    const mib = median(list.map((s) => s.mib));
    figures[`${name}_wall_ms`] = Math.round(ms);
    figures[`${name}_peak_rss_mib`] = Math.round(mib);
    rows.push({ call: label, 'wall ms (median)': Math.round(ms), 'peak RSS MiB (median)': Math.round(mib) });
  }
  for (const name of Object.keys(commands)) {
    const owner = figures[`owner_${name}_wall_ms`];
    const cold = figures[`cold_${name}_wall_ms`];
    if (owner && cold) {
      figures[`ratio_owner_${name}_vs_cold_wall`] = Number((cold / owner).toFixed(2));
      figures[`ratio_owner_${name}_vs_cold_rss`] = Number(
        ((figures[`cold_${name}_peak_rss_mib`] ?? 0) / (figures[`owner_${name}_peak_rss_mib`] ?? 1)).toFixed(
          2,
        ),
      );
    }
  }
  if (figures.mltrace_help_wall_ms && figures.help_wall_ms) {
    figures.ratio_help_vs_mltrace_help_wall = Number(
      (figures.mltrace_help_wall_ms / figures.help_wall_ms).toFixed(2),
    );
    figures.ratio_owner_recent_vs_mltrace_help_wall = Number(
      (figures.mltrace_help_wall_ms / (figures.owner_recent_wall_ms ?? 1)).toFixed(2),
    );
  }
  if (figures.mltrace_recent_wall_ms && figures.owner_recent_wall_ms) {
    figures.ratio_owner_recent_vs_mltrace_wall = Number(
      (figures.mltrace_recent_wall_ms / figures.owner_recent_wall_ms).toFixed(2),
    );
  }
  writeReport('cli', {
    title: 'The mltrace CLI: wall time and peak RSS per call, with and without an owner running',
    notes: [
      `${rounds} rounds, interleaved; each call a fresh process; medians. Wall from spawn to exit (GNU time around it), peak RSS from GNU time's %M.`,
      'The embedded store holds 200 runs (a chain); `trace data/200.csv` and `impact data/0.csv` walk all 200.',
      'Owner running: `mltrace serve` holds the store (as a worker with the plugin would); the CLI connects to its unix socket through postgres.js and never loads PGlite. "Just started": the first call of each command after the owner printed its URL (the owner is restarted every round); "running": the next call, as against a worker that has run for a while.',
      'Cold: no owner; the CLI boots PGlite, migrates and queries, then closes: what every embedded CLI call did before the store was shared (plus a lock file and a socket).',
      `mltrace 0.17: its CLI on PostgreSQL (it fails on SQLite), tables created before timing. ${mltraceRecent ? '`recent` of an empty store.' : `Its \`recent\` on an empty store fails (${mltraceRecentError || 'exit 1'}), so only its \`--help\` (its imports) is timed.`} Ratios are cold / owner and mltrace / ours (above 1: ours faster).`,
      'The machine is shared (2 cores, several engineers at once): absolute times carry that load; compare within a run, against the `node -e 0` floor.',
    ],
    rows,
    figures,
  });
}

await main();
