/**
 * The store's behaviour suite, written once and run on every driver (pglite.test.ts,
 * postgres.test.ts), in the manner of drizzle's pg-common. Cases follow mltrace 0.17's own tests
 * (latest producer wins, frozen edges, harmless cycles, staleness messages, review ordering) and
 * the cases where mltrace fell short (diamond DAGs, long chains, versions, downstream impact).
 */
import { type ComponentRunInput, InvalidInputError, NotFoundError, type PointerInput } from '@mltrace/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineageStore } from '../src/api.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** A time `minutes` after T0. */
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
let unique = 0;
/** A fresh relative path, so tests sharing one store never see each other's pointers. */
const fresh = (name: string) => `t${++unique}-${Math.random().toString(36).slice(2, 8)}/${name}`;

type Pointers = Array<string | PointerInput>;

function step(
  component: string,
  minute: number,
  inputs: Pointers,
  outputs: Pointers,
  extra: Partial<ComponentRunInput> = {},
) {
  return { component, startedAt: at(minute), endedAt: at(minute + 1), inputs, outputs, ...extra };
}

export function describeStoreBehaviour(driver: string, open: () => Promise<LineageStore>): void {
  describe(`LineageStore on ${driver}`, () => {
    let store: LineageStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('creates, tags and lists components by tag and owner', async () => {
      const name = fresh('cleaning');
      await store.createComponent({ name, description: 'drops bad rows', owner: 'ana', tags: ['etl'] });
      const tagged = await store.tagComponent(name, ['etl', 'nightly']);
      expect(tagged).toEqual({ name, description: 'drops bad rows', owner: 'ana', tags: ['etl', 'nightly'] });
      expect((await store.components({ tag: 'nightly' })).map((c) => c.name)).toContain(name);
      expect((await store.components({ owner: 'nobody' })).map((c) => c.name)).not.toContain(name);
      expect(await store.tags()).toEqual(expect.arrayContaining(['etl', 'nightly']));
    });

    it('gets one component by name and counts runs by component and status', async () => {
      const name = fresh('counted').replace('/', '-');
      await store.logRun({ ...step(name, 0, [], []), status: 'failed' });
      await store.logRun(step(name, 1, [], []));
      await store.logRun(step(name, 2, [], []));
      expect((await store.component(name)).name).toBe(name);
      await expect(store.component(`${name}-missing`)).rejects.toThrow(NotFoundError);
      const counts = (await store.countRuns()).filter((c) => c.component === name);
      expect(counts).toEqual([
        { component: name, status: 'failed', count: 1, stale: 0 },
        { component: name, status: 'succeeded', count: 2, stale: 0 },
      ]);
    });

    it('keeps the earliest start when an end event re-logs a run with a later time', async () => {
      const runKey = fresh('openlineage:ns/job/run');
      await store.logRun({ component: 'job', runKey, startedAt: at(0), status: 'running' });
      await store.logRun({ component: 'job', runKey, startedAt: at(5), endedAt: at(5), status: 'succeeded' });
      expect(await store.run(runKey)).toMatchObject({
        startedAt: at(0),
        endedAt: at(5),
        status: 'succeeded',
      });
    });

    it('re-logging a run key updates the run instead of duplicating it', async () => {
      const runKey = fresh('temporal:ns/wf/run/1');
      const [input, output] = [fresh('in.csv'), fresh('out.csv')];
      const first = await store.logRun({
        ...step('train', 0, [input], []),
        runKey,
        status: 'running',
        endedAt: null,
      });
      const second = await store.logRun({ ...step('train', 0, [], [output]), runKey, status: 'succeeded' });
      expect(first.created).toBe(true);
      expect(second).toEqual({ id: first.id, runKey, created: false });
      const run = await store.run(runKey);
      expect(run.status).toBe('succeeded');
      expect(run.endedAt).toEqual(at(1));
      expect(run.inputs.map((p) => p.uri)).toEqual([`file://${process.cwd()}/${input}`]);
      expect(run.outputs).toHaveLength(1);
      expect((await store.history('train', { limit: 1000 })).filter((r) => r.runKey === runKey)).toHaveLength(
        1,
      );
    });

    it('never lets a late running status overwrite a finished run', async () => {
      const runKey = fresh('k');
      await store.logRun({
        ...step('c', 0, [], []),
        runKey,
        status: 'failed',
        error: { message: 'boom', type: 'Error' },
      });
      await store.logRun({ ...step('c', 0, [], []), runKey, status: 'running', endedAt: null });
      const run = await store.run(runKey);
      expect(run.status).toBe('failed');
      expect(run.error).toEqual({ message: 'boom', type: 'Error' });
    });

    it('writes a batch atomically: one invalid run and nothing of the batch is stored', async () => {
      const component = fresh('atomic');
      const bad = { component, startedAt: at(5), endedAt: at(1) };
      await expect(store.logRuns([step(component, 0, [], []), bad])).rejects.toThrow(InvalidInputError);
      await expect(store.logRuns([step(component, 0, [], []), bad])).rejects.toThrow(
        /endedAt is before startedAt/,
      );
      expect(await store.history(component)).toEqual([]);
    });

    it('rejects unknown statuses, empty components and bad dates with clear messages', async () => {
      await expect(
        store.logRun({ component: 'x', startedAt: at(0), status: 'done' as never }),
      ).rejects.toThrow(/unknown status "done"/);
      await expect(store.logRun({ component: ' ', startedAt: at(0) })).rejects.toThrow(
        /component must be a non-empty/,
      );
      await expect(store.logRun({ component: 'x', startedAt: new Date('nope') })).rejects.toThrow(
        /startedAt must be a valid date/,
      );
      await expect(store.logRun({ component: 'x', startedAt: at(0), attempt: 1.5 })).rejects.toThrow(
        /attempt must be a whole number/,
      );
      await expect(
        store.logRun({ component: 'x', startedAt: at(0), gitCommit: 42 as never }),
      ).rejects.toThrow(/gitCommit must be a string/);
      await expect(
        store.logRun({ component: 'x', startedAt: at(0), metadata: 'str' as never }),
      ).rejects.toThrow(/metadata must be an object/);
    });

    it('infers a dependency on the latest producer that started before the run', async () => {
      const x = fresh('x.csv');
      const old = await store.logRun(step('produce', 0, [], [x]));
      const latest = await store.logRun(step('produce', 10, [], [x]));
      await store.logRun(step('produce', 30, [], [x])); // started after the consumer: not its producer
      const consumer = await store.logRun(step('consume', 20, [x], []));
      expect((await store.run(consumer.id)).dependsOn).toEqual([latest.id]);
      expect((await store.run(consumer.id)).dependsOn).not.toContain(old.id);
    });

    it('infers from the start as stored when a re-log brings inputs and a later start', async () => {
      const x = fresh('x.csv');
      const key = `relog-${unique}`;
      await store.logRun({ ...step('consume', 10, [], []), runKey: key });
      const before = await store.logRun(step('produce', 5, [], [x]));
      await store.logRun(step('produce', 20, [], [x])); // after the run began: not what it read
      // The end event re-logs the run with a later time and its inputs; it still began at 10.
      const consumer = await store.logRun({ ...step('consume', 30, [x], []), runKey: key });
      expect((await store.run(consumer.id)).startedAt).toEqual(at(10));
      expect((await store.run(consumer.id)).dependsOn).toEqual([before.id]);
    });

    it('links an input of a known version to the producer of that exact version', async () => {
      const uri = fresh('data/train.parquet');
      const v1 = await store.logRun(step('extract', 0, [], [{ uri, version: 'md5-aaa' }]));
      await store.logRun(step('extract', 10, [], [{ uri, version: 'md5-bbb' }]));
      const reader = await store.logRun(step('train', 20, [{ uri, version: 'md5-aaa' }], []));
      expect((await store.run(reader.id)).dependsOn).toEqual([v1.id]);
      const graph = await store.trace({ uri, version: 'md5-aaa' });
      expect(graph.runs.map((r) => r.id)).toEqual([v1.id]);
    });

    it('links a consumer to its producer even when the producer is logged later', async () => {
      const uri = fresh('imported/data.csv');
      const consumer = await store.logRun(step('train', 10, [{ uri, version: 'md5-1' }], []));
      const unversioned = await store.logRun(step('train', 10, [uri], []));
      const otherVersion = await store.logRun(step('train', 10, [{ uri, version: 'md5-2' }], []));
      const early = await store.logRun(step('train', 0, [uri], []));
      const producer = await store.logRun(step('dvc add data.csv', 5, [], [{ uri, version: 'md5-1' }]));
      await store.logRun(step('dvc add data.csv', 6, [], [{ uri, version: 'md5-1' }]));
      expect((await store.run(consumer.id)).dependsOn).toEqual([producer.id]);
      expect((await store.run(unversioned.id)).dependsOn).toEqual([producer.id]);
      expect((await store.run(otherVersion.id)).dependsOn).toEqual([]); // another version's content
      expect((await store.run(early.id)).dependsOn).toEqual([]); // started before the producer
    });

    it('links an activity logged by one worker to its producer logged later by another', async () => {
      const features = fresh('features.parquet');
      const train = await store.logRun(step('train', 10, [features], [fresh('model.pkl')]));
      const featuregen = await store.logRun(step('featuregen', 5, [], [features]));
      expect((await store.run(train.id)).dependsOn).toEqual([featuregen.id]);
      const graph = await store.trace({ uri: (await store.run(train.id)).outputs[0]!.uri });
      expect(graph.runs.map((r) => r.component)).toEqual(['train', 'featuregen']);
    });

    it('never rewires a run when its upstream re-runs later (frozen edges)', async () => {
      const [a, b] = [fresh('a.csv'), fresh('b.csv')];
      const up1 = await store.logRun(step('up', 0, [], [a]));
      const down = await store.logRun(step('down', 5, [a], [b]));
      await store.logRun(step('up', 10, [], [a]));
      await store.logRun({ ...step('down', 5, [a], [b]), runKey: (await store.run(down.id)).runKey });
      expect((await store.run(down.id)).dependsOn).toEqual([up1.id]);
      const graph = await store.trace({ uri: b });
      expect(graph.runs.map((r) => r.id).sort()).toEqual([up1.id, down.id].sort());
    });

    it('traces through cycles between components without looping', async () => {
      const [x, y] = [fresh('x.txt'), fresh('y.txt')];
      const first = await store.logRun(step('a', 0, [], [x]));
      const second = await store.logRun(step('b', 1, [x], [y]));
      const third = await store.logRun(step('a', 2, [y], [x]));
      const fourth = await store.logRun(step('b', 3, [x], [y]));
      const graph = await store.trace({ uri: y });
      expect(graph.runs.map((r) => [r.id, r.depth])).toEqual([
        [fourth.id, 0],
        [third.id, 1],
        [second.id, 2],
        [first.id, 3],
      ]);
    });

    it('reports a depth-limited trace as cut only when an edge leads beyond what it visited', async () => {
      const [clean, features, model] = ['clean.csv', 'features.csv', 'model.pkl'].map(fresh) as [
        string,
        string,
        string,
      ];
      await store.logRun(step('clean', 0, [], [clean]));
      await store.logRun(step('featuregen', 1, [clean], [features]));
      await store.logRun(step('train', 2, [features, clean], [model]));
      const graph = await store.trace({ uri: model }, { maxDepth: 1 });
      expect(graph.runs.map((r) => [r.component, r.depth])).toEqual([
        ['train', 0],
        ['featuregen', 1],
        ['clean', 1],
      ]);
      expect(graph.truncated).toBe(false);
      expect((await store.trace({ uri: features }, { maxDepth: 0 })).truncated).toBe(true);
    });

    it('keeps the nearest runs under a run limit, with only their pointers and edges, and says it cut', async () => {
      const [a, b, c, d, model] = ['a.csv', 'b.csv', 'c.csv', 'd.csv', 'model.pkl'].map(fresh) as [
        string,
        string,
        string,
        string,
        string,
      ];
      const first = await store.logRun(step('source', 0, [], [a]));
      const second = await store.logRun(step('left', 1, [a], [b]));
      const third = await store.logRun(step('right', 2, [a], [c]));
      const merge = await store.logRun(step('merge', 3, [b, c], [d]));
      const train = await store.logRun(step('train', 4, [d], [model]));
      const whole = await store.trace({ uri: model }, { maxRuns: 5 });
      expect(whole.runs).toHaveLength(5);
      expect(whole.truncated).toBe(false);
      // Three runs: at depth 2, the higher id (right) is kept, the lower (left) goes; the source
      // at depth 3 goes too, and with them their edges.
      const cut = await store.trace({ uri: model }, { maxRuns: 3 });
      expect(cut.runs.map((r) => [r.component, r.depth])).toEqual([
        ['train', 0],
        ['merge', 1],
        ['right', 2],
      ]);
      expect(cut.truncated).toBe(true);
      // Pointer URIs come back normalised (absolute file: URIs): compare their file names.
      const names = (graph: { pointers: Array<{ uri: string }> }) =>
        graph.pointers.map((p) => p.uri.split('/').pop()).sort();
      expect(names(cut)).toEqual(['a.csv', 'b.csv', 'c.csv', 'd.csv', 'model.pkl']);
      expect(cut.dependencies).toEqual([
        { run: train.id, dependsOn: merge.id },
        { run: merge.id, dependsOn: third.id },
      ]);
      // A run's own dependsOn stays whole (the source, outside the cut graph, included).
      expect(cut.runs[2]?.dependsOn).toEqual([first.id]);
      // Two runs: the source's input `a` was read only by runs left out.
      const two = await store.trace({ uri: model }, { maxRuns: 2 });
      expect(names(two)).toEqual(['b.csv', 'c.csv', 'd.csv', 'model.pkl']);
      expect(two.runs.flatMap((r) => r.dependsOn).sort()).toEqual(
        [second.id, third.id, two.runs[1]!.id].sort(),
      );
      expect(two.dependencies).toEqual([{ run: two.runs[0]!.id, dependsOn: two.runs[1]!.id }]);
      const four = await store.trace({ uri: model }, { maxRuns: 4 });
      expect(four.runs.map((r) => r.component)).toEqual(['train', 'merge', 'right', 'left']);
      expect(four.truncated).toBe(true);
    });

    it('reports a depth-limited impact as cut when a consumer lies beyond the limit', async () => {
      const [raw, clean, model] = ['raw.csv', 'clean.csv', 'model.pkl'].map(fresh) as [
        string,
        string,
        string,
      ];
      await store.logRun(step('clean', 0, [raw], [clean]));
      await store.logRun(step('train', 1, [clean], [model]));
      const cut = await store.impact({ uri: raw }, { maxDepth: 0 });
      expect(cut.runs.map((r) => r.component)).toEqual(['clean']);
      expect(cut.truncated).toBe(true);
      const whole = await store.impact({ uri: raw }, { maxDepth: 1 });
      expect(whole.runs.map((r) => r.component)).toEqual(['clean', 'train']);
      expect(whole.truncated).toBe(false);
    });

    it("writes mltrace's staleness messages when a dependency is old or has fresher runs", async () => {
      const [old, busy] = [fresh('old.csv'), fresh('busy.csv')];
      const oldRun = await store.logRun(step('snapshot', 0, [], [old]));
      // 40 days and 21 hours: mltrace counts whole days.
      const late = await store.logRun(step('report', 40 * 24 * 60 + 21 * 60, [old], []));
      expect((await store.run(late.id)).stale).toEqual([`snapshot (run ${oldRun.id}) was run 40 days ago.`]);

      // A component of this test only, so no other test's runs fall in the window.
      const component = `features-${unique}`;
      const dep = await store.logRun(step(component, 100, [], [{ uri: busy, version: 'v1' }]));
      // Two re-runs of the dependency's step over the same output start before the consumer,
      // which still reads the first version (issue 21: re-runs over other outputs do not count).
      await store.logRun(step(component, 101, [], [{ uri: busy, version: 'v2' }]));
      await store.logRun(step(component, 102, [], [{ uri: busy, version: 'v3' }]));
      const consumer = await store.logRun({ ...step('train', 103, [{ uri: busy, version: 'v1' }], []) });
      expect((await store.run(consumer.id)).dependsOn).toEqual([dep.id]);
      expect((await store.run(consumer.id)).stale).toEqual([
        `${component} (run ${dep.id}) has 2 fresher run(s) that began before this component run started.`,
      ]);
    });

    it('traces a 12-level diamond to its 37 distinct runs, each once', async () => {
      const runs: ReturnType<typeof step>[] = [];
      let previous: string[] = [];
      const base = fresh('diamond');
      for (let level = 0; level < 12; level++) {
        // Named so that uri order is the reverse of the order they are written in.
        const outputs = [0, 1, 2].map((i) => `${base}/l${String(11 - level).padStart(2, '0')}-${2 - i}.csv`);
        for (const [i, out] of outputs.entries())
          runs.push(step(`level${level}`, level * 10 + i, previous, [out]));
        previous = outputs;
      }
      const model = `${base}/a-model.pkl`;
      await store.logRuns(runs);
      // The model is written last, so its pointer has the highest id, yet sorts first.
      await store.logRun(step('sink', 200, previous, [model]));
      const graph = await store.trace({ uri: model });
      expect(graph.runs).toHaveLength(37);
      expect(new Set(graph.runs.map((r) => r.id)).size).toBe(37);
      expect(graph.dependencies).toHaveLength(3 + 11 * 9);
      expect(graph.runs[0]?.component).toBe('sink');
      expect(Math.max(...graph.runs.map((r) => r.depth))).toBe(12);
      expect(graph.truncated).toBe(false);
      // Every pointer once, by uri: 36 intermediate outputs and the model.
      const uris = graph.pointers.map((p) => p.uri);
      expect(uris).toHaveLength(37);
      expect(uris).toEqual([...uris].sort());
    });

    it('traces a 10,000-run chain without error', async () => {
      const prefix = fresh('chain');
      const runs = Array.from({ length: 10_000 }, (_, i) =>
        step('link', i, i === 0 ? [] : [`${prefix}/${i - 1}.csv`], [`${prefix}/${i}.csv`]),
      );
      for (let i = 0; i < runs.length; i += 2_000) await store.logRuns(runs.slice(i, i + 2_000));
      const graph = await store.trace({ uri: `${prefix}/9999.csv` });
      expect(graph.runs).toHaveLength(10_000);
      expect(graph.dependencies).toHaveLength(9_999);
      const cut = await store.trace({ uri: `${prefix}/9999.csv` }, { maxDepth: 10 });
      expect(cut.runs).toHaveLength(11);
      expect(cut.truncated).toBe(true);
      const whole = await store.trace({ uri: `${prefix}/9.csv` }, { maxDepth: 9 });
      expect(whole.runs).toHaveLength(10);
      expect(whole.truncated).toBe(false);
    }, 180_000);

    it('answers impact: everything derived from one data version', async () => {
      const [raw, clean, model, report] = ['raw.csv', 'clean.csv', 'model.pkl', 'report.md'].map(fresh) as [
        string,
        string,
        string,
        string,
      ];
      await store.logRun(step('ingest', 0, [], [{ uri: raw, version: 'v1' }]));
      const cleaning = await store.logRun(step('clean', 1, [{ uri: raw, version: 'v1' }], [clean]));
      const training = await store.logRun(step('train', 2, [clean], [model]));
      const reporting = await store.logRun(step('report', 3, [model], [report]));
      await store.logRun(step('clean', 4, [{ uri: raw, version: 'v2' }], [fresh('other.csv')]));
      const graph = await store.impact({ uri: raw, version: 'v1' });
      expect(graph.runs.map((r) => [r.id, r.depth])).toEqual([
        [cleaning.id, 0],
        [training.id, 1],
        [reporting.id, 2],
      ]);
      expect(graph.pointers.map((p) => p.uri)).toContain(`file://${process.cwd()}/${report}`);
    });

    it('says clearly when no run produced a pointer', async () => {
      const err = await store.trace({ uri: 'nowhere/never.csv' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toBe('no run produced nowhere/never.csv');
    });

    it('links the relative, absolute and file:// forms of one file', async () => {
      const name = fresh('data/same.csv');
      const producer = await store.logRun(step('write', 0, [], [`./${name}`]));
      const consumer = await store.logRun(step('read', 1, [`file://${process.cwd()}/${name}`], []));
      expect((await store.run(consumer.id)).dependsOn).toEqual([producer.id]);
      expect((await store.trace({ uri: `${process.cwd()}/${name}` })).runs[0]?.id).toBe(producer.id);
    });

    it('gives component history newest first within a date range', async () => {
      const component = fresh('hist');
      for (let i = 0; i < 5; i++) await store.logRun(step(component, i * 60, [], []));
      const all = await store.history(component, { limit: 10 });
      expect(all.map((r) => r.startedAt.getTime())).toEqual(
        [240, 180, 120, 60, 0].map((m) => at(m).getTime()),
      );
      const window = await store.history(component, { from: at(60), to: at(180) });
      expect(window.map((r) => r.startedAt)).toEqual([at(180), at(120), at(60)]);
      expect(await store.history(component, { limit: 2 })).toHaveLength(2);
    });

    it('pages recent runs with a cursor and no overlap', async () => {
      const component = fresh('paged');
      for (let i = 0; i < 7; i++) await store.logRun(step(component, 10_000 + i, [], []));
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.recent({ component, limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.runs.map((r) => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect(new Set(seen).size).toBe(7);
      await expect(store.recent({ cursor: 'garbage' })).rejects.toThrow(/invalid page cursor/);
    });

    it('flags and unflags one version or every version of an output', async () => {
      const uri = fresh('pred.json');
      await store.logRun(step('predict', 0, [], [{ uri, version: '1' }]));
      await store.logRun(step('predict', 1, [], [{ uri, version: '2' }]));
      expect(await store.flag({ uri, version: '1' })).toBe(1);
      expect((await store.pointers(uri)).map((p) => [p.version, p.flag])).toEqual([
        ['2', false],
        ['1', true],
      ]);
      expect(await store.flag({ uri })).toBe(1); // version 1 was flagged already
      expect(await store.flag({ uri })).toBe(0);
      expect(await store.unflag({ uri })).toBe(2);
      await expect(store.flag({ uri: 'never-logged-pointer' })).rejects.toThrow(NotFoundError);
    });

    it('ranks the run only bad outputs share above the run every output shares', async () => {
      await store.unflagAll();
      const raw = fresh('review/raw.csv');
      const shared = await store.logRun(step('clean', 0, [], [raw]));
      const goodModel = await store.logRun(step('train', 1, [raw], [fresh('review/good.pkl')]));
      const badModel = await store.logRun(step('train', 2, [raw], [fresh('review/bad.pkl')]));
      const predictions: string[] = [];
      for (let i = 0; i < 4; i++) {
        const bad = fresh('review/pred-bad');
        const good = fresh('review/pred-good');
        const badModelUri = (await store.run(badModel.id)).outputs[0]!.uri;
        const goodModelUri = (await store.run(goodModel.id)).outputs[0]!.uri;
        await store.logRun(step('predict', 10 + i, [badModelUri], [bad]));
        await store.logRun(step('predict', 20 + i, [goodModelUri], [good]));
        predictions.push(bad);
      }
      for (const uri of predictions) await store.flag({ uri });
      const review = await store.review({ limit: 10 });
      expect(review.flagged).toHaveLength(4);
      expect(review.comparedUnflagged).toBeGreaterThanOrEqual(4);
      const byRun = new Map(review.suspects.map((s) => [s.run.id, s]));
      expect(byRun.get(badModel.id)).toMatchObject({
        flaggedCount: 4,
        coverage: 1,
        unflaggedCount: 0,
        score: 1,
      });
      expect(byRun.get(shared.id)).toMatchObject({ flaggedCount: 4, coverage: 1 });
      expect(byRun.get(shared.id)!.score).toBeLessThan(1);
      const rank = (id: number) => review.suspects.findIndex((s) => s.run.id === id);
      expect(rank(badModel.id)).toBeLessThan(rank(shared.id));
      expect(byRun.has(goodModel.id)).toBe(false);
      await store.unflagAll();
      expect((await store.review()).suspects).toEqual([]);
    });

    it('keeps notes, code snapshots, workflow context and metadata on a run', async () => {
      const runKey = fresh('temporal:default/wf-1/run-1/3/1');
      const { id } = await store.logRun({
        ...step('split', 0, [], []),
        runKey,
        source: 'temporal',
        attempt: 1,
        gitCommit: 'abc123',
        codeSnapshot: 'async function split() {}',
        workflow: {
          namespace: 'default',
          workflowId: 'wf-1',
          runId: 'run-1',
          workflowType: 'pipeline',
          taskQueue: 'q',
        },
        // Nulls inside metadata are the caller's data: the write path drops only a row's own null fields.
        metadata: { rows: 120, owner: null, split: { seed: null } },
      });
      await store.setNotes(id, 'split looks skewed');
      const run = await store.run(id);
      expect(run).toMatchObject({
        source: 'temporal',
        attempt: 1,
        gitCommit: 'abc123',
        codeSnapshot: 'async function split() {}',
        notes: 'split looks skewed',
        workflow: {
          namespace: 'default',
          workflowId: 'wf-1',
          runId: 'run-1',
          workflowType: 'pipeline',
          taskQueue: 'q',
        },
        metadata: { rows: 120, owner: null, split: { seed: null } },
      });
      expect(run.codeHash).toMatch(/^[0-9a-f]{64}$/);
      await expect(store.setNotes(999_999_999, 'x')).rejects.toThrow(NotFoundError);
      await expect(store.run('no-such-key')).rejects.toThrow(/no run with run key no-such-key/);
    });

    it('adds explicit dependencies by run key, and refuses unknown ones', async () => {
      const up = await store.logRun({ ...step('upstream', 0, [], []), runKey: fresh('up') });
      const down = await store.logRun({ ...step('downstream', 1, [], []), dependsOn: [up.runKey] });
      expect((await store.run(down.id)).dependsOn).toEqual([up.id]);
      await expect(
        store.logRun({ ...step('downstream', 1, [], []), dependsOn: ['missing-key'] }),
      ).rejects.toThrow(/dependsOn names runs that do not exist: missing-key/);
    });

    it('copies frozen edges without inferring new ones when asked', async () => {
      const x = fresh('x.csv');
      await store.logRun(step('p', 0, [], [x]));
      const copied = await store.logRun({ ...step('q', 1, [x], []), inferDependencies: false });
      expect((await store.run(copied.id)).dependsOn).toEqual([]);
    });

    it('records a promotion decision with its reasons, linked to the run that made it', async () => {
      const model = fresh('taxi-tip').replace('/', '-');
      const decide = await store.logRun({ ...step('decide', 0, [], []), runKey: fresh('decide-run') });
      const decisionKey = fresh('wf-1/decision');
      const waiting = await store.recordPromotionDecision({
        decisionKey,
        model,
        candidate: '3',
        previousChampion: '2',
        decision: 'awaiting_approval',
        policy: { primaryMetric: 'f1', minImprovement: 0.01 },
        metrics: { candidate: { f1: 0.74 }, champion: { f1: 0.71 } },
        reasons: ['f1 improved by 0.03 (>= 0.01)', 'a person must approve'],
        runKey: decide.runKey,
        decidedAt: at(1),
      });
      expect(waiting).toMatchObject({
        model,
        candidate: '3',
        previousChampion: '2',
        alias: 'champion',
        runId: decide.id,
      });
      const approved = await store.recordPromotionDecision({
        decisionKey,
        model,
        candidate: '3',
        previousChampion: '2',
        decision: 'approved',
        reasons: ['f1 improved by 0.03 (>= 0.01)', 'approved by ana: "looks right"'],
        approver: 'ana',
        approvalComment: 'looks right',
        decidedAt: at(2),
      });
      expect(approved.id).toBe(waiting.id);
      expect(approved.runId).toBe(decide.id);
      await store.recordPromotionDecision({
        decisionKey: fresh('other'),
        model,
        candidate: '4',
        decision: 'reject',
        reasons: ['f1 fell'],
        decidedAt: at(3),
      });
      const history = await store.promotions({ model });
      expect(history.map((d) => [d.candidate, d.decision])).toEqual([
        ['4', 'reject'],
        ['3', 'approved'],
      ]);
      expect(history[1]).toMatchObject({
        approver: 'ana',
        reasons: ['f1 improved by 0.03 (>= 0.01)', 'approved by ana: "looks right"'],
      });
      await expect(
        store.recordPromotionDecision({
          decisionKey: 'k',
          model,
          candidate: '1',
          decision: 'maybe' as never,
          reasons: [],
          decidedAt: at(0),
        }),
      ).rejects.toThrow(/unknown decision "maybe"/);
      await expect(
        store.recordPromotionDecision({
          decisionKey: 'k',
          model,
          candidate: '1',
          decision: 'reject',
          reasons: [],
          runKey: 'nope',
          decidedAt: at(0),
        }),
      ).rejects.toThrow(/no run with run key nope/);
    });

    it('stores and returns a sync cursor per source', async () => {
      const source = fresh('dvc:/repo');
      expect(await store.getSyncState(source)).toBeUndefined();
      await store.setSyncState(source, { commit: 'abc' });
      await store.setSyncState(source, { commit: 'def' });
      expect(await store.getSyncState(source)).toEqual({ commit: 'def' });
    });
  });
}
