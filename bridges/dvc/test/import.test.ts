import { createHash } from 'node:crypto';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { createDvcWorkspace, type DvcWorkspace } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDvcPointer } from '../src/resolve.js';
import { syncDvc } from '../src/sync.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const RAW = 'city,trips\nparis,3\nlyon,1\n';

describe('syncDvc on a dvc import from another local repository', () => {
  let source: DvcWorkspace;
  let consumer: DvcWorkspace;
  let store: LineageStore;
  let sourceRoot: string;
  let consumerRoot: string;
  let sourceCommit: string;
  let importCommit: string;

  beforeAll(async () => {
    [source, consumer] = await Promise.all([createDvcWorkspace(), createDvcWorkspace()]);
    [sourceRoot, consumerRoot] = await Promise.all([realpath(source.dir), realpath(consumer.dir)]);
    store = await openPgliteStore({ dataDir: 'memory://' });
    await source.writeFile('data/trips.csv', RAW);
    await source.dvc('add', '-q', 'data/trips.csv');
    sourceCommit = await source.commit('trips v1');
    await source.dvc('push', '-q');
    await mkdir(join(consumer.dir, 'upstream')); // dvc import -o needs the directory
    await consumer.dvc('import', '-q', source.dir, 'data/trips.csv', '-o', 'upstream/trips.csv');
    importCommit = await consumer.commit('import trips');
  }, 180_000);

  afterAll(async () => {
    await store?.close();
    await Promise.all([source?.cleanup(), consumer?.cleanup()]);
  });

  it('links the imported version to the run that produced it in the source repository', async () => {
    const first = await syncDvc({ store, repo: source.dir });
    const second = await syncDvc({ store, repo: consumer.dir });
    expect([first.errors, second.errors]).toEqual([[], []]);
    expect(second).toMatchObject({ dataRuns: 1, stageRuns: 0 });

    const graph = await store.trace({ uri: `file://${consumerRoot}/upstream/trips.csv`, version: md5(RAW) });
    expect(graph.runs.map((r) => [r.component, r.gitCommit])).toEqual([
      ['dvc import upstream/trips.csv', importCommit],
      ['dvc add data/trips.csv', sourceCommit],
    ]);
    const run = await store.run(graph.runs[0]!.id);
    expect(run.inputs.map((p) => [p.uri, p.version])).toEqual([
      [`file://${sourceRoot}/data/trips.csv`, md5(RAW)],
    ]);
    expect(run.metadata.dvc).toMatchObject({
      kind: 'import',
      frozen: true,
      import: { url: source.dir, path: 'data/trips.csv', revLock: sourceCommit },
      outs: [{ path: 'upstream/trips.csv', hash: md5(RAW), algorithm: 'md5', size: RAW.length }],
    });
  });

  it('resolves an imported path with its source repository and exact source commit', async () => {
    const pointer = await resolveDvcPointer({ repo: consumer.dir, path: 'upstream/trips.csv' });
    expect(pointer).toMatchObject({
      uri: `file://${consumerRoot}/upstream/trips.csv`,
      version: md5(RAW),
      commit: importCommit,
      declaredIn: 'upstream/trips.csv.dvc',
      import: { url: source.dir, path: 'data/trips.csv', revLock: sourceCommit },
    });
    expect(pointer.remoteUrl).toBeUndefined();
  });
});
