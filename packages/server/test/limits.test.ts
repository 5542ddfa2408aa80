import { describe, expect, it } from 'vitest';
import { boundedGraph, isoString } from '../src/limits.js';

const pointer = (id: number) => ({
  id,
  uri: `s3://bucket/part-${id}.parquet`,
  version: '',
  type: 'data',
  flag: false,
});

/** A chain of `n` runs shaped as the store returns them (dates, nested pointers, metadata). */
function chainGraph(n: number, metadata: Record<string, unknown> = {}) {
  const runs = Array.from({ length: n }, (_, i) => ({
    id: n - i,
    runKey: `test:${n - i}`,
    component: `step-${i % 3}`,
    source: 'api',
    status: 'succeeded',
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    endedAt: i % 2 ? null : new Date(Date.UTC(2026, 0, 1, 0, 0, i, 500)),
    attempt: null,
    error: null,
    notes: 'a "quoted" note\n',
    stale: [],
    workflow: {},
    metadata,
    inputs: [pointer(n - i - 1)],
    outputs: [pointer(n - i)],
    dependsOn: i < n - 1 ? [n - i - 1] : [],
    depth: i,
  }));
  return {
    roots: [pointer(n)],
    runs,
    pointers: Array.from({ length: n + 1 }, (_, i) => pointer(i)),
    dependencies: runs.slice(0, -1).map((run) => ({ run: run.id, dependsOn: run.id - 1 })),
    truncated: false,
  };
}

describe('boundedGraph', () => {
  it('answers exactly the JSON of the graph when it fits', () => {
    const graph = chainGraph(20, { ü: ['ß', 1.5, null], nested: { at: 'x' } });
    const text = boundedGraph(graph, { maxRuns: 2_000, maxBytes: 8_388_608, maxDepth: 100 });
    expect(text).toBe(JSON.stringify(graph));
  });

  it('cuts the farthest runs to the byte limit, and says so, in the same JSON as a plain serialisation', () => {
    const graph = chainGraph(200);
    const text = boundedGraph(graph, { maxRuns: 2_000, maxBytes: 20_000, maxDepth: 100 });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(20_000);
    const answer = JSON.parse(text);
    expect(answer.truncated).toBe(true);
    expect(answer.truncatedBy).toEqual(['bytes']);
    const kept = graph.runs.slice(0, answer.runs.length);
    expect(answer.runs).toEqual(JSON.parse(JSON.stringify(kept)));
    expect(answer.reachedDepth).toBe(kept[kept.length - 1]?.depth);
    const ids = new Set(kept.map((run) => run.id));
    expect(
      answer.dependencies.every(
        (d: { run: number; dependsOn: number }) => ids.has(d.run) && ids.has(d.dependsOn),
      ),
    ).toBe(true);
  });

  it('answers the same JSON for answers too large to keep each run serialised', () => {
    // Runs of ~20 KB each: past the pieces' limit (1 Mi characters), so the runs are serialised again.
    const graph = chainGraph(80, { blob: 'x'.repeat(20_000) });
    const text = boundedGraph(graph, { maxRuns: 2_000, maxBytes: 8_388_608, maxDepth: 100 });
    expect(text).toBe(JSON.stringify(graph));
  });
});

describe('isoString', () => {
  it('writes every date as toJSON does', () => {
    const edges = [
      0,
      1,
      951_782_400_000,
      4_107_542_399_999,
      253_402_300_799_999,
      253_402_300_800_000,
      -1,
      -62_198_755_200_000,
      Number.NaN,
    ];
    let seed = 7;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const times = [
      ...edges,
      ...Array.from({ length: 20_000 }, () => Math.floor(random() * 253_402_300_800_000)),
    ];
    for (const time of times) expect(isoString(new Date(time))).toBe(new Date(time).toJSON());
  });
});
