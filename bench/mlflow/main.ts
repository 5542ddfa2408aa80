/**
 * The MLflow bridge benchmark: requests and seconds of the registry sync against a real
 * `mlflow server`, for an initial sync of 1,000 model versions across 50 models, an incremental
 * sync with nothing new, and one with a few changes; side by side with a cursor-less rescan (what
 * a poller without a cursor does: every model's versions, each version with its aliases, each
 * source run), interleaved over rounds, medians. See bench/mlflow/README.md.
 *
 *   npm run bench -- mlflow [--models 50] [--versions-per-model 20] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { MlflowClient, syncMlflow } from '@mltrace/mlflow';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { startMlflowServer } from '@mltrace/test-helpers';
import { median, type Row, timeMs, writeReport } from '../lib/report.js';

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: '50' },
    'versions-per-model': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench -- mlflow [flags]
  --models N               registered models (default 50)
  --versions-per-model N   versions per model, each from its own run with two dataset inputs (default 20)
  --rounds N               interleaved rounds (default 3)
  --concurrency N          parallel requests while populating MLflow (default 4)
  --no-write               print the table only
  MLFLOW_TRACKING_URI      use an external server instead of starting one (it should be empty)`);
  process.exit(0);
}
const MODELS = Number(flags.models);
const PER_MODEL = Number(flags['versions-per-model']);
const ROUNDS = Number(flags.rounds);
const CONCURRENCY = Number(flags.concurrency);

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** 50 models x 20 versions, each version from its own finished run with two dataset inputs. */
async function populate(client: MlflowClient, prefix: string): Promise<string[]> {
  const experimentId = await client.createExperiment(`${prefix}-exp`);
  const names = Array.from({ length: MODELS }, (_, i) => `${prefix}-model-${String(i).padStart(3, '0')}`);
  for (const name of names) await client.createRegisteredModel({ name });
  const runIds: string[] = [];
  const indexes = Array.from({ length: MODELS * PER_MODEL }, (_, i) => i);
  // The first runs alone: MLflow inserts a shared dataset (the eval set) without a lock, so the
  // first concurrent log-inputs of one dataset can fail with a UNIQUE constraint error.
  const first = indexes.splice(0, 3);
  await pool(first, 1, logRun);
  await pool(indexes, CONCURRENCY, logRun);
  async function logRun(i: number): Promise<void> {
    const run = await client.createRun({ experimentId, tags: { 'mlflow.source.git.commit': `c${i}` } });
    await client.logInputs(run.info.runId, [
      {
        dataset: {
          name: 'train',
          digest: `t${i}`,
          sourceType: 's3',
          source: JSON.stringify({ uri: `s3://bench/train-${i % 7}.parquet` }),
        },
        tags: { 'mlflow.data.context': 'training' },
      },
      {
        dataset: {
          name: 'eval',
          digest: `e${i % 3}`,
          sourceType: 's3',
          source: JSON.stringify({ uri: 's3://bench/eval.parquet' }),
        },
        tags: { 'mlflow.data.context': 'evaluation' },
      },
    ]);
    runIds[i] = run.info.runId;
  }
  // Versions in order per model (version numbers follow creation), models in parallel.
  await pool(names, CONCURRENCY, async (name) => {
    const m = names.indexOf(name);
    for (let v = 0; v < PER_MODEL; v++) {
      const runId = runIds[m * PER_MODEL + v]!;
      await client.createModelVersion({ name, source: `s3://bench/models/${name}/${v + 1}`, runId });
    }
    await client.setRegisteredModelAlias(name, 'champion', String(PER_MODEL));
  });
  return names;
}

/** The baseline: a rescan with no cursor, reading every version (with its aliases) and its source run. */
async function naiveRescan(client: MlflowClient, filter: string): Promise<number> {
  let versions = 0;
  for (const model of await client.listRegisteredModels({ filter })) {
    for (const v of await client.listVersionsOfModel(model.name)) {
      await client.getModelVersion(v.name, v.version);
      if (v.runId) await client.getRun(v.runId);
      versions++;
    }
  }
  return versions;
}

async function main(): Promise<void> {
  const server = await startMlflowServer();
  const stores: LineageStore[] = [];
  try {
    const setupClient = new MlflowClient({ trackingUri: server.trackingUri });
    const prefix = `bench-${Date.now().toString(36)}`;
    const filter = `name LIKE '${prefix}-%'`;
    console.log(`populating ${server.trackingUri}: ${MODELS} models x ${PER_MODEL} versions...`);
    let names: string[] = [];
    const populateMs = await timeMs(async () => {
      names = await populate(setupClient, prefix);
    });
    console.log(`populated in ${(populateMs / 1000).toFixed(1)} s`);

    const samples: Record<string, number[]> = {};
    const record = (name: string, value: number) => {
      samples[name] ??= [];
      samples[name].push(value);
    };
    let changeRound = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // Ours: an initial sync into a fresh embedded store, then incremental syncs.
      const store = await openPgliteStore({ dataDir: 'memory://' });
      stores.push(store);
      const client = new MlflowClient({ trackingUri: server.trackingUri });
      let summary = await syncMlflow({ store, client, filter });
      const initialMs = summary.durationMs;
      record('initial_sync_seconds', initialMs / 1000);
      record('initial_sync_requests', summary.requests);
      record('initial_versions_written', summary.versions);
      record('initial_promotions_written', summary.promotions);

      summary = await syncMlflow({ store, client, filter });
      record('incremental_noop_seconds', summary.durationMs / 1000);
      record('incremental_noop_requests', summary.requests);
      record('incremental_noop_runs_written', summary.versions + summary.promotions + summary.updated);

      // Baseline: the cursor-less rescan, same server, same moment.
      const naive = new MlflowClient({ trackingUri: server.trackingUri });
      let versions = 0;
      const naiveMs = await timeMs(async () => {
        versions = await naiveRescan(naive, filter);
      });
      record('naive_rescan_seconds', naiveMs / 1000);
      record('naive_rescan_requests', naive.requestCount);

      // Every model changed, by an alias move alone (aliases bump no timestamp): still one request.
      await pool(names, CONCURRENCY, (name) => setupClient.setRegisteredModelAlias(name, 'champion', '2'));
      summary = await syncMlflow({ store, client, filter });
      record('incremental_all_aliases_seconds', summary.durationMs / 1000);
      record('incremental_all_aliases_requests', summary.requests);
      record('incremental_all_aliases_runs_written', summary.promotions);
      await pool(names, CONCURRENCY, (name) =>
        setupClient.setRegisteredModelAlias(name, 'champion', String(PER_MODEL)),
      );
      await syncMlflow({ store, client, filter }); // settles the revert (not measured)

      // A few changes: one new version and one alias move, in two models.
      // Undone afterwards, so every round starts from the same 1,000 versions.
      changeRound++;
      const a = `${prefix}-model-000`;
      const b = `${prefix}-model-001`;
      const run = await setupClient.createRun({ experimentId: '0' });
      const added = await setupClient.createModelVersion({
        name: a,
        source: `s3://bench/models/${a}/new-${changeRound}`,
        runId: run.info.runId,
      });
      await setupClient.setRegisteredModelAlias(b, 'champion', '1');
      summary = await syncMlflow({ store, client, filter });
      record('incremental_change_seconds', summary.durationMs / 1000);
      record('incremental_change_requests', summary.requests);
      record('incremental_change_runs_written', summary.versions + summary.promotions);
      await setupClient.deleteModelVersion(a, added.version);
      await setupClient.setRegisteredModelAlias(b, 'champion', String(PER_MODEL));

      console.log(
        `round ${round}: initial ${(initialMs / 1000).toFixed(2)} s, no-op ${samples.incremental_noop_requests?.at(-1)} request(s), rescan of ${versions} versions ${(naiveMs / 1000).toFixed(2)} s`,
      );
      await store.close();
      stores.pop();
    }

    const m = (name: string) => median(samples[name] ?? [Number.NaN]);
    const figures: Record<string, number> = {
      models: MODELS,
      versions: MODELS * PER_MODEL,
      rounds: ROUNDS,
      initial_sync_seconds: m('initial_sync_seconds'),
      initial_sync_requests: m('initial_sync_requests'),
      initial_versions_written: m('initial_versions_written'),
      initial_promotions_written: m('initial_promotions_written'),
      incremental_noop_seconds: m('incremental_noop_seconds'),
      incremental_noop_requests: m('incremental_noop_requests'),
      incremental_noop_runs_written: m('incremental_noop_runs_written'),
      incremental_noop_requests_per_model: m('incremental_noop_requests') / MODELS,
      incremental_change_seconds: m('incremental_change_seconds'),
      incremental_change_requests: m('incremental_change_requests'),
      incremental_all_aliases_seconds: m('incremental_all_aliases_seconds'),
      incremental_all_aliases_requests: m('incremental_all_aliases_requests'),
      naive_rescan_seconds: m('naive_rescan_seconds'),
      naive_rescan_requests: m('naive_rescan_requests'),
    };
    figures.ratio_incremental_noop_vs_naive_rescan_requests =
      figures.incremental_noop_requests! / figures.naive_rescan_requests!;
    figures.ratio_incremental_noop_vs_naive_rescan_seconds =
      figures.incremental_noop_seconds! / figures.naive_rescan_seconds!;
    figures.ratio_initial_vs_naive_rescan_requests =
      figures.initial_sync_requests! / figures.naive_rescan_requests!;

    const rows: Row[] = [
      {
        scenario: 'initial sync (ours)',
        requests: figures.initial_sync_requests!,
        seconds: figures.initial_sync_seconds!,
        'runs written': figures.initial_versions_written! + figures.initial_promotions_written!,
      },
      {
        scenario: 'incremental, nothing new (ours)',
        requests: figures.incremental_noop_requests!,
        seconds: figures.incremental_noop_seconds!,
        'runs written': figures.incremental_noop_runs_written!,
      },
      {
        scenario: 'incremental, 1 new version + 1 alias move (ours)',
        requests: figures.incremental_change_requests!,
        seconds: figures.incremental_change_seconds!,
        'runs written': m('incremental_change_runs_written'),
      },
      {
        scenario: `incremental, champion moved in all ${MODELS} models (ours)`,
        requests: figures.incremental_all_aliases_requests!,
        seconds: figures.incremental_all_aliases_seconds!,
        'runs written': m('incremental_all_aliases_runs_written'),
      },
      {
        scenario: 'cursor-less rescan (baseline, reads only)',
        requests: figures.naive_rescan_requests!,
        seconds: figures.naive_rescan_seconds!,
        'runs written': 0,
      },
    ];
    const notes = [
      `${MODELS} registered models x ${PER_MODEL} versions = ${MODELS * PER_MODEL} versions, each from its own run with two dataset inputs, and a champion alias per model; MLflow ${await setupClient.serverVersion()} (\`mlflow server\`, SQLite, 1 worker) on this machine; store: embedded PGlite (memory).`,
      `Medians of ${ROUNDS} interleaved rounds; each round: an initial sync into a fresh store, a no-op incremental sync, the baseline rescan, an incremental sync after moving the champion alias of every model (then undone and synced again, not measured), and one after 1 new version (model 000) and 1 alias move (model 001), undone after the round. Requests count every HTTP attempt.`,
      "The incremental sync with nothing new reads the registered-model listing only (1 request per 1,000 models): aliases and tags come with it, and a model whose last_updated_timestamp, aliases and tags are unchanged needs nothing more. A changed model costs 1 more request (its versions), plus its new versions' source runs (one get each, or one runs/search per 100 from 5 on).",
      "The baseline is what a poller without a cursor must do to see alias moves and new versions: list every model's versions, get each version (aliases) and each source run; it writes nothing, so its seconds are a lower bound.",
      `Populating MLflow took ${(populateMs / 1000).toFixed(0)} s (not measured).`,
    ];
    if (flags['no-write']) {
      console.table(rows);
      console.log(figures);
    } else {
      writeReport('mlflow', { title: 'MLflow registry sync: requests and seconds', notes, rows, figures });
    }
  } finally {
    for (const store of stores) await store.close().catch(() => {});
    await server.stop();
  }
}

await main();
