/**
 * Bounded reads on a store of 100,000 runs, on PostgreSQL (the server's own process memory then
 * measures the server, not the database). One output fans in to every run: without bounds one
 * trace was 63 MB of JSON and four at once took the server past 1 GB. Asserts behaviour only:
 * the truncated marker, bounded bytes and runs, memory under a stated bound, and /health
 * answered while the heavy requests are still in flight (no timing thresholds).
 */
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';

const TOKEN = 'bounded-reads-token-0123456789';
const RUNS = 100_000;
const GROUPS = 100;
const OUTPUT = 's3://lineage-test/model/final.pkl';
/** The stated bound: the server process grows by less than this while answering four at once. */
const MEMORY_BOUND_BYTES = 512 * 1024 * 1024;

describe('bounded reads on a 100k-run store', { timeout: 900_000 }, () => {
  let store: LineageStore;
  let server: MltraceServer;

  beforeAll(async () => {
    store = await openPostgresStore({ url: await testDatabaseUrl() });
    const start = new Date('2026-03-01T00:00:00Z').getTime();
    const perGroup = RUNS / GROUPS;
    for (let g = 0; g < GROUPS; g++) {
      const batch: ComponentRunInput[] = [];
      for (let i = 0; i < perGroup; i++) {
        const n = g * perGroup + i;
        batch.push({
          component: 'shard',
          runKey: `bounded:shard/${n}`,
          startedAt: new Date(start + n),
          inputs: [`s3://lineage-test/raw/${n}.csv`],
          outputs: [`s3://lineage-test/part/${n}.parquet`],
          metadata: { shard: n, note: 'x'.repeat(200) },
        });
      }
      await store.logRuns(batch);
      await store.logRun({
        component: 'merge',
        runKey: `bounded:merge/${g}`,
        startedAt: new Date(start + RUNS + g),
        inputs: batch.flatMap((run) => run.outputs ?? []),
        outputs: [`s3://lineage-test/merged/${g}.parquet`],
      });
    }
    await store.logRun({
      component: 'train',
      runKey: 'bounded:train',
      startedAt: new Date(start + RUNS + GROUPS),
      inputs: Array.from({ length: GROUPS }, (_, g) => `s3://lineage-test/merged/${g}.parquet`),
      outputs: [OUTPUT],
    });
    server = await createServer({ store, port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('caps what one trace may cost, marks it truncated, and keeps /health answering under four at once', async () => {
    const heavy = () =>
      fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(OUTPUT)}&maxDepth=10000`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      }).then(async (response) => ({ status: response.status, body: await response.text() }));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let settled = 0;
    const requests = [heavy(), heavy(), heavy(), heavy()].map((p) =>
      p.finally(() => {
        settled++;
      }),
    );
    // /health is never queued behind the heavy queries: it answers while they are in flight.
    const health = await fetch(`${server.url}/api/v1/health`);
    const inFlightAtHealth = 4 - settled;
    const answers = await Promise.all(requests);
    clearInterval(sampler);
    expect(health.status).toBe(200);
    expect(inFlightAtHealth).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(Buffer.byteLength(answer.body)).toBeLessThanOrEqual(16 * 1024 * 1024);
      const graph = JSON.parse(answer.body);
      expect(graph.truncated).toBe(true);
      expect(graph.truncatedBy).toContain('runs');
      expect(graph.runs.length).toBeLessThanOrEqual(5_000);
      expect(graph.limits).toMatchObject({ maxRuns: 5_000, maxDepth: 10_000 });
      // The nearest runs are the ones kept: the trained model's run, then the merges.
      expect(graph.runs[0].component).toBe('train');
      expect(graph.runs.filter((r: { depth: number }) => r.depth === 1)).toHaveLength(GROUPS);
    }
    console.log(
      `bounded reads: rss grew ${((peak - baseline) / 1048576).toFixed(0)} MB; body ${(Buffer.byteLength(answers[0]!.body) / 1048576).toFixed(1)} MB`,
    );
    expect(peak - baseline).toBeLessThan(MEMORY_BOUND_BYTES);

    // Narrowing: a smaller maxRuns is honoured, and the depth says where to go on from.
    const narrow = await fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(OUTPUT)}&maxRuns=50`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const small = await narrow.json();
    expect(small.runs).toHaveLength(50);
    expect(small).toMatchObject({ truncated: true, reachedDepth: 1 });
    const tooMany = await fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(OUTPUT)}&maxRuns=5001`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(tooMany.status).toBe(400);
  });
});
