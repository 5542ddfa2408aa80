/**
 * Staleness means a re-run of a step over the same outputs (issue 21): a dependency is stale when
 * its component wrote one of its outputs again, at another version, before the consumer began.
 * Runs of one component over other outputs (the versions of a registered model, the promotions of
 * an alias, GTO tags) are not fresher runs of each other, and runs a bridge read from a versioned
 * history (source dvc, mlflow) are never stale. Run on PGlite and on PostgreSQL.
 */
import type { ComponentRunInput, PointerInput } from '@mltrace/core';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineageStore } from '../src/api.js';
import { openPgliteStore } from '../src/pglite/index.js';
import { openPostgresStore } from '../src/postgres/index.js';

const T0 = Date.parse('2026-02-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const tag = () => Math.random().toString(36).slice(2, 8);

function step(
  component: string,
  minute: number,
  inputs: Array<string | PointerInput>,
  outputs: Array<string | PointerInput>,
): ComponentRunInput {
  return { component, startedAt: at(minute), endedAt: at(minute + 1), inputs, outputs };
}

const drivers: Array<[string, () => Promise<LineageStore>]> = [
  ['PGlite', () => openPgliteStore({ dataDir: 'memory://' })],
  ['PostgreSQL', async () => openPostgresStore({ url: await testDatabaseUrl() })],
];

for (const [driver, open] of drivers) {
  describe(`staleness on ${driver}`, () => {
    let store: LineageStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('warns when the step that made an input re-ran over the same output before the consumer began', async () => {
      const id = tag();
      const clean = `clean-${id}`;
      const out = `s3://b-${id}/clean.parquet`;
      const first = await store.logRun(step(clean, 0, [], [{ uri: out, version: 'v1' }]));
      await store.logRun(step(clean, 1, [], [{ uri: out, version: 'v2' }]));
      await store.logRun(step(clean, 2, [], [{ uri: out, version: 'v3' }]));
      const consumer = await store.logRun(step(`train-${id}`, 3, [{ uri: out, version: 'v1' }], []));
      const run = await store.run(consumer.id);
      expect(run.dependsOn).toEqual([first.id]);
      expect(run.stale).toEqual([
        `${clean} (run ${first.id}) has 2 fresher run(s) that began before this component run started.`,
      ]);
    });

    it('does not count runs of the same component over other outputs as fresher', async () => {
      const id = tag();
      const clean = `clean-${id}`;
      const dep = await store.logRun(step(clean, 0, [], [`s3://b-${id}/day1.parquet`]));
      await store.logRun(step(clean, 1, [], [`s3://b-${id}/day2.parquet`]));
      const consumer = await store.logRun(step(`train-${id}`, 2, [`s3://b-${id}/day1.parquet`], []));
      const run = await store.run(consumer.id);
      expect(run.dependsOn).toEqual([dep.id]);
      expect(run.stale).toEqual([]);
    });

    it('gives no warning for the versions of a registered model (MLflow register and promote)', async () => {
      const model = `fraud-${tag()}`;
      // register v1, v2, v3: one component, one output URI per version, as the MLflow bridge logs them.
      const registered = [];
      for (const v of [1, 2, 3]) {
        registered.push(
          await store.logRun(step('register', v, [], [{ uri: `models:/${model}/${v}`, type: 'model' }])),
        );
      }
      // promote v1 to champion after v3 was registered, then v3 (reading the previous holder).
      const champion = `models:/${model}@champion`;
      const promote1 = await store.logRun(
        step('promote', 10, [`models:/${model}/1`], [{ uri: champion, version: '1' }]),
      );
      await store.logRun(
        step('promote', 11, [`models:/${model}/2`], [{ uri: `models:/${model}@challenger`, version: '2' }]),
      );
      const promote3 = await store.logRun(
        step(
          'promote',
          12,
          [`models:/${model}/3`, { uri: champion, version: '1' }],
          [{ uri: champion, version: '3' }],
        ),
      );
      expect((await store.run(promote1.id)).dependsOn).toEqual([registered[0]!.id]);
      expect((await store.run(promote1.id)).stale).toEqual([]);
      expect((await store.run(promote3.id)).dependsOn.sort()).toEqual(
        [registered[2]!.id, promote1.id].sort(),
      );
      expect((await store.run(promote3.id)).stale).toEqual([]);
    });

    it('gives no warning for GTO tags of later versions (one component per artifact)', async () => {
      const artifact = `gto ${tag()}`;
      const name = artifact.slice(4);
      const hash = (v: string) => `${v.replace(/\D/g, '')}`.padEnd(32, '0');
      const register = async (minute: number, v: string) =>
        store.logRun(step(artifact, minute, [], [{ uri: `gto:${name}@${v}`, version: hash(v) }]));
      const r100 = await register(0, 'v1.0.0');
      await register(1, 'v1.1.0');
      await register(2, 'v1.2.0');
      // Assigning prod to the older v1.0.0 after newer versions were registered is not stale.
      const assign = await store.logRun(
        step(
          artifact,
          3,
          [{ uri: `gto:${name}@v1.0.0`, version: hash('v1.0.0') }],
          [{ uri: `gto:${name}#prod`, version: 'v1.0.0' }],
        ),
      );
      const run = await store.run(assign.id);
      expect(run.dependsOn).toEqual([r100.id]);
      expect(run.stale).toEqual([]);
    });

    it('gives no warning to runs a bridge read from a versioned history (a GTO tag of an older commit)', async () => {
      const id = tag();
      const model = `file:///repo-${id}/model.pkl`;
      const train = `train-${id}`;
      const first = await store.logRun({
        ...step(train, 0, [], [{ uri: model, version: 'h1' }]),
        source: 'dvc',
      });
      await store.logRun({ ...step(train, 1, [], [{ uri: model, version: 'h2' }]), source: 'dvc' });
      // `gto register fraud <first commit>` after the second training, and 40 days later.
      for (const minute of [2, 41 * 24 * 60]) {
        const registered = await store.logRun({
          ...step(`gto ${id}`, minute, [{ uri: model, version: 'h1' }], [`gto:${id}@v1.0.${minute}`]),
          source: 'dvc',
        });
        expect((await store.run(registered.id)).dependsOn).toEqual([first.id]);
        expect((await store.run(registered.id)).stale).toEqual([]);
      }
    });

    it("keeps mltrace's 'was run D days ago' rule as it was", async () => {
      const id = tag();
      const old = await store.logRun(step(`snapshot-${id}`, 0, [], [`s3://b-${id}/old.csv`]));
      const late = await store.logRun(
        step(`report-${id}`, 40 * 24 * 60 + 21 * 60, [`s3://b-${id}/old.csv`], []),
      );
      expect((await store.run(late.id)).stale).toEqual([
        `snapshot-${id} (run ${old.id}) was run 40 days ago.`,
      ]);
    });
  });
}
