import { describe, expect, it } from 'vitest';
import type { IOPointer, LineageGraph } from '../ui/src/api.js';
import { fitZoom, layoutLineage, MIN_READABLE_ZOOM } from '../ui/src/layout.js';

// The trace page's layout is pure: these run it on hand-made graphs, without a browser.

let nextPointer = 1;
const pointer = (uri: string, version = ''): IOPointer => ({
  id: nextPointer++,
  uri,
  version,
  type: 'data',
  flag: false,
});

/** A graph from `[component, inputs, outputs]` steps, listed upstream first; the last output is the subject. */
function graph(steps: Array<[string, IOPointer[], IOPointer[]]>): LineageGraph {
  const runs = steps.map(([component, inputs, outputs], i) => ({
    id: i + 1,
    runKey: `k${i + 1}`,
    component,
    source: component === 'dvc' ? 'dvc' : 'temporal',
    status: 'succeeded' as const,
    startedAt: '2026-03-01T10:00:00Z',
    endedAt: '2026-03-01T10:01:00Z',
    attempt: 1,
    gitCommit: 'abc1234',
    codeHash: null,
    error: null,
    notes: '',
    stale: [],
    workflow: {},
    metadata: {},
    inputs,
    outputs,
    dependsOn: [] as number[],
    depth: 0,
  }));
  const dependencies: LineageGraph['dependencies'] = [];
  for (const run of runs) {
    for (const p of run.inputs) {
      const producer = runs.find((r) => r.outputs.some((q) => q.id === p.id));
      if (producer) {
        dependencies.push({ run: run.id, dependsOn: producer.id });
        run.dependsOn.push(producer.id);
      }
    }
  }
  const subject = runs[runs.length - 1]!.outputs[0]!;
  // Depth: hops from the subject's producer.
  const depth = new Map<number, number>([[runs.length, 0]]);
  for (let i = runs.length - 1; i >= 0; i--) {
    const run = runs[i]!;
    run.depth = depth.get(run.id) ?? 0;
    for (const d of run.dependsOn)
      depth.set(d, Math.min(depth.get(d) ?? Number.POSITIVE_INFINITY, run.depth + 1));
  }
  const pointers = [
    ...new Map(runs.flatMap((r) => [...r.inputs, ...r.outputs]).map((p) => [p.id, p])).values(),
  ];
  return { roots: [subject], runs, pointers, dependencies, truncated: false };
}

function chain(length: number, component = (i: number) => `step-${i}`) {
  const outs = Array.from({ length }, (_, i) => pointer(`file:///s${i}`));
  return graph(
    Array.from({ length }, (_, i): [string, IOPointer[], IOPointer[]] => [
      component(i),
      i === 0 ? [] : [outs[i - 1]!],
      [outs[i]!],
    ]),
  );
}

describe('the trace page layout', () => {
  it('wraps a ten-run chain into bands that fit a 1280x800 page at a readable zoom', () => {
    const layout = layoutLineage(chain(10), { viewWidth: 880, viewHeight: 640 });
    expect(layout.columns).toBe(11); // ten runs and the subject
    expect(layout.columnsPerBand).toBeLessThan(11);
    expect(layout.bands.length).toBeGreaterThan(1);
    expect(fitZoom(layout.width, layout.height, 880, 640)).toBeGreaterThanOrEqual(MIN_READABLE_ZOOM);
    // Columns read left to right, band after band.
    const byColumn = [...layout.nodes].sort((a, b) => a.column - b.column);
    for (let i = 1; i < byColumn.length; i++) {
      const [a, b] = [byColumn[i - 1]!, byColumn[i]!];
      expect(b.band > a.band || (b.band === a.band && b.x > a.x)).toBe(true);
    }
    const wrapped = layout.edges.filter((e) => e.wrapY !== undefined);
    expect(wrapped).toHaveLength(layout.bands.length - 1);
  });

  it('draws an edge implied by a longer path as a skip edge, and highlights the path to the data version', () => {
    const data = pointer('file:///trips.csv', 'md5abc');
    const clean = pointer('file:///clean.csv');
    const model = pointer('models:/m@champion', '1');
    const g = graph([
      ['dvc', [], [data]],
      ['cleaning', [data], [clean]],
      ['train', [clean, data], [model]],
    ]);
    const layout = layoutLineage(g, { viewWidth: 1500, viewHeight: 900 });
    const edge = (from: string, to: string) =>
      layout.edges.find(
        (e) =>
          layout.nodes.find((n) => n.id === e.source)?.runs[0]?.component === from &&
          layout.nodes.find((n) => n.id === e.target)?.runs[0]?.component === to,
      );
    expect(edge('dvc', 'train')?.kind).toBe('skip');
    expect(edge('dvc', 'cleaning')?.kind).toBe('main');
    expect(edge('cleaning', 'train')?.onPath).toBe(true);
    expect(edge('dvc', 'train')?.onPath).toBe(false);
    expect(layout.nodes.filter((n) => n.onPath).map((n) => n.runs[0]?.component ?? n.pointer?.uri)).toEqual(
      expect.arrayContaining(['dvc', 'cleaning', 'train', 'models:/m@champion']),
    );
    expect(layout.nodes.find((n) => n.id === layout.subjectId)?.pointer?.uri).toBe('models:/m@champion');
  });

  it('folds three or more runs of one component in one column into a group, unless expanded', () => {
    const raw = pointer('file:///raw.csv');
    const features = pointer('file:///features.csv');
    const models = [1, 2, 3, 4].map((i) => pointer(`file:///model-${i}.pkl`));
    const best = pointer('file:///best.pkl');
    const g = graph([
      ['featuregen', [raw], [features]],
      ...models.map((m): [string, IOPointer[], IOPointer[]] => ['train', [features], [m]]),
      ['select', models, [best]],
    ]);
    const grouped = layoutLineage(g, { viewWidth: 1500, viewHeight: 900 });
    const groups = grouped.nodes.filter((n) => n.kind === 'group');
    expect(groups.map((n) => [n.groupKey, n.runs.length])).toEqual([['train', 4]]);
    expect(grouped.edges.filter((e) => e.target === groups[0]!.id)).toHaveLength(1);
    const expanded = layoutLineage(g, { viewWidth: 1500, viewHeight: 900, expanded: new Set(['train']) });
    expect(expanded.nodes.filter((n) => n.kind === 'group')).toEqual([]);
    expect(expanded.nodes.filter((n) => n.runs[0]?.component === 'train')).toHaveLength(4);
  });

  it('keeps the runs nearest the subject when there are too many boxes, and names where it stopped', () => {
    const layout = layoutLineage(
      chain(100, (i) => `c${i}`),
      { viewWidth: 880, viewHeight: 640, maxNodes: 30 },
    );
    expect(layout.nodes.length).toBeLessThanOrEqual(30);
    const kept = layout.nodes.flatMap((n) => n.runs);
    expect(kept.length + (layout.leftOut?.runs ?? 0)).toBe(100);
    expect(Math.max(...kept.map((r) => r.depth))).toBe(layout.leftOut?.depth);
    expect(layout.leftOut?.frontier.map((p) => p.uri)).toEqual([`file:///s${100 - kept.length - 1}`]);
  });
});
