/**
 * `npm run bench -- python-worker`: a Python worker's CPU per activity attempt with no
 * interceptor, with temporalio.contrib.opentelemetry's, with mltrace's (writing to a real
 * PostgreSQL), and with mltrace's while its store is down (spooling), side by side in one Python
 * process (bench.py), interleaved rounds, medians; and the wall time per attempt.
 * Writes bench/results/python-worker.{md,json}.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '@mltrace/store';
import { createTestDatabase, repoRoot, startPostgres, startTemporalDevServer } from '@mltrace/test-helpers';

const run = promisify(execFile);

async function main(): Promise<void> {
  const root = repoRoot();
  const python = join(process.env.MLTRACE_TOOLS_DIR || join(root, '.tools'), 'python-venv', 'bin', 'python');
  const script = join(root, 'bench', 'python-worker', 'bench.py');
  const json = join(root, 'bench', 'results', 'python-worker.json');
  const temporal = await startTemporalDevServer();
  const postgres = await startPostgres({ dedicated: true });
  try {
    const database = await createTestDatabase(postgres.adminUrl, { prefix: 'mltrace_bench' });
    const store = await openStore({ url: database.url }); // migrates
    await store.close();
    // This checkout's package first (the venv's copy may come from another checkout sharing .tools).
    const PYTHONPATH = [join(root, 'python', 'mltrace-temporal', 'src'), process.env.PYTHONPATH]
      .filter(Boolean)
      .join(':');
    await run(python, [script, temporal.address, database.url, json], {
      maxBuffer: 1 << 24,
      env: { ...process.env, PYTHONPATH },
    });
    const figures = JSON.parse(await readFile(json, 'utf8')) as Record<string, number>;
    const { stdout: commit } = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: root });
    const md = [
      '# Python worker: CPU per activity attempt',
      '',
      `${new Date().toISOString()}, commit ${commit.trim()}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores).`,
      'One Python process (temporalio 1.35): 200 activities per workflow, 5 interleaved rounds, medians;',
      'CPU is the process’s (worker, workflow, and for mltrace the writer thread and its PostgreSQL calls).',
      '',
      '| interceptor | CPU µs / attempt | vs none |',
      '| --- | ---: | ---: |',
      `| none | ${figures.cpu_us_per_attempt_none} | 1.000 |`,
      `| OpenTelemetry (TracingInterceptor, SDK provider, in-memory export) | ${figures.cpu_us_per_attempt_otel} | ${figures.ratio_otel_vs_none} |`,
      `| mltrace (PostgreSQL) | ${figures.cpu_us_per_attempt_mltrace} | ${figures.ratio_mltrace_vs_none} |`,
      `| mltrace, its store down (every write refused, records spooled) | ${figures.cpu_us_per_attempt_mltrace_store_down} | ${figures.ratio_mltrace_store_down_vs_none} |`,
      '',
      '| wall time per attempt (workflow of 200 sequential activities) | ms | vs none |',
      '| --- | ---: | ---: |',
      `| none | ${figures.wall_ms_per_attempt_none} | 1.000 |`,
      `| mltrace (PostgreSQL) | ${figures.wall_ms_per_attempt_mltrace} | ${figures.ratio_wall_mltrace_vs_none} |`,
      `| mltrace, its store down | ${figures.wall_ms_per_attempt_mltrace_store_down} | ${figures.ratio_wall_mltrace_store_down_vs_none} |`,
      '',
      `Added CPU per attempt: mltrace ${figures.added_cpu_us_mltrace} µs, OpenTelemetry ${figures.added_cpu_us_otel} µs (ratio mltrace/otel of totals ${figures.ratio_mltrace_vs_otel}).`,
      '',
    ].join('\n');
    await writeFile(join(root, 'bench', 'results', 'python-worker.md'), md);
    console.log(md);
  } finally {
    await postgres.stop();
    await temporal.stop();
  }
}

await main();
