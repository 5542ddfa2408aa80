import { InvalidInputError } from '@mltrace/core';
import { describe, expect, it } from 'vitest';
import { openPgliteStore } from '../src/pglite/index.js';
import { describeStoreBehaviour } from './store-behaviour.js';

describeStoreBehaviour('PGlite', () => openPgliteStore({ dataDir: 'memory://' }));

describe('LineageStore on PGlite, concurrent callers', () => {
  it('keeps each transaction whole: a rolled-back batch takes no other caller’s writes with it', async () => {
    // PGlite is one session: without the store's lock, a failing batch's ROLLBACK would also
    // undo the statements other callers ran while it was open.
    const store = await openPgliteStore({ dataDir: 'memory://' });
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, i));
    try {
      const good = Array.from({ length: 20 }, (_, i) =>
        store.logRuns([
          { component: 'step', runKey: `good-${i}`, startedAt: at(i), outputs: [`s3://c/${i}.parquet`] },
        ]),
      );
      const bad = Array.from({ length: 5 }, (_, i) =>
        store.logRuns([
          { component: 'step', runKey: `bad-${i}`, startedAt: at(i), outputs: [`s3://c/bad-${i}.parquet`] },
          { component: 'step', startedAt: at(i), dependsOn: ['no-such-run'] },
        ]),
      );
      const traces = Array.from({ length: 5 }, () => store.recent({ limit: 5 }));
      const settled = await Promise.allSettled([...good, ...bad, ...traces]);
      expect(settled.slice(0, 20).every((s) => s.status === 'fulfilled')).toBe(true);
      for (const s of settled.slice(20, 25)) {
        expect(s.status === 'rejected' && s.reason instanceof InvalidInputError).toBe(true);
      }
      const { runs } = await store.recent({ limit: 100 });
      expect(runs.map((r) => r.runKey).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `good-${i}`).sort(),
      );
    } finally {
      await store.close();
    }
  });

  it('rolls back a batch the database refuses, and the session goes on', async () => {
    const store = await openPgliteStore({ dataDir: 'memory://' });
    const at = new Date(Date.UTC(2026, 0, 1));
    try {
      // PostgreSQL text cannot hold NUL: the database, not the store's checks, refuses this run.
      await expect(
        store.logRuns([
          { component: 'ok', runKey: 'first', startedAt: at },
          { component: 'ok', runKey: 'second', startedAt: at, notes: 'a\u0000b' },
        ]),
      ).rejects.toThrow('unsupported Unicode escape sequence');
      await store.logRun({ component: 'ok', runKey: 'third', startedAt: at });
      expect((await store.recent()).runs.map((r) => r.runKey)).toEqual(['third']);
    } finally {
      await store.close();
    }
    await expect(store.recent()).rejects.toThrow('the embedded lineage store is closed');
  });
});
