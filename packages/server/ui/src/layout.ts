/**
 * The trace page's layout, pure and synchronous: no DOM, no React, so that it is unit-tested in
 * Node and timed in the browser benchmark.
 *
 * - Runs are the nodes. Pointers are labels, drawn once on the run that produced them, not boxes
 *   of their own: in an ML pipeline one output fans out to several consumers (a train split is
 *   read by training, registration and evaluation), so a pointer box adds a layer and three edges,
 *   and an edge label repeats the same name on every edge. Only pointers no run in view produced
 *   (the subject, external sources) are compact nodes.
 * - Columns by longest path, so that each run sits right before its nearest consumer (trace) or
 *   right after its latest producer (impact); edges implied by a longer path (transitive) are kept
 *   as faint "skip" edges, the others draw the pipeline.
 * - Columns wrap into rows, as text does, at the width that lets the picture fit the view at the
 *   largest zoom; runs of one component in one column fold into a group with a count.
 * - Over `maxNodes` boxes, the runs nearest the subject are kept and the rest is reported as left out.
 */
import type { IOPointer, LineageGraph, RunSummary } from './api';

/** A run of a lineage graph, with its depth from the subject. */
export type TracedRun = LineageGraph['runs'][number];

/** Sizes of the layout, in CSS pixels at zoom 1. */
export const SIZES = {
  nodeWidth: 200,
  runHeight: 68,
  pointerHeight: 44,
  columnGap: 44,
  rowGap: 20,
  bandGap: 40,
  margin: 16,
  /** Room at the sides for the wrapped edges. */
  marginX: 36,
} as const;

/** The smallest zoom at which the nodes' smallest text (13 px) stays at least 11 px. */
export const MIN_READABLE_ZOOM = 0.85;
/** The largest zoom on load: small graphs are not blown up past it. */
export const MAX_FIT_ZOOM = 1.3;
/** Most pointers without a producer drawn as nodes (raw inputs); past this, none are. */
export const MAX_SOURCE_NODES = 12;
/** Runs of one component in one column fold into a group from this many on. */
export const GROUP_MIN = 3;

export type LayoutNodeKind = 'run' | 'group' | 'pointer';

/** One box of the picture. */
export interface LayoutNode {
  id: string;
  kind: LayoutNodeKind;
  /** The run (kind run), the members (kind group), or empty. */
  runs: TracedRun[];
  /** The pointer of a pointer node. */
  pointer?: IOPointer;
  /** Top-left corner and size, at zoom 1. */
  x: number;
  y: number;
  width: number;
  height: number;
  column: number;
  /** The band (row of wrapped columns) it sits in. */
  band: number;
  /** The traced pointer, or the run that produced it (impact: that consumed it). */
  subject: boolean;
  /** On the highlighted path from the subject to its data version and git commit. */
  onPath: boolean;
  /** For groups: the key to expand it with (its component). */
  groupKey?: string;
}

/** One arrow, from upstream to downstream. */
export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
  /** main: draws the pipeline; skip: implied by a longer path; declared: no shared pointer. */
  kind: 'main' | 'skip' | 'declared';
  onPath: boolean;
  /** What flows along it (outputs of the source read by the target). */
  pointers: IOPointer[];
  /** Set when it goes from one band to a later one: the y of the gap under the source's band. */
  wrapY?: number;
}

/** What the page left out, and how to see it. */
export interface LeftOut {
  /** Runs of the graph not drawn. */
  runs: number;
  /** Every run at this depth from the subject or nearer is drawn. */
  depth: number;
  /** Inputs of drawn runs whose producers were left out: trace one to see further. */
  frontier: IOPointer[];
}

export interface Layout {
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  /** Size of the whole picture at zoom 1. */
  width: number;
  height: number;
  /** Columns per band (row) after wrapping. */
  columnsPerBand: number;
  columns: number;
  /** Top and bottom of each band. */
  bands: Array<{ top: number; bottom: number }>;
  leftOut: LeftOut | undefined;
  /** The node the page is about (the traced pointer, else its run). */
  subjectId: string | undefined;
}

/** Options of {@link layoutLineage}. */
export interface LayoutOptions {
  /** trace: the graph is upstream of the subject; impact: downstream. @default 'trace' */
  direction?: 'trace' | 'impact';
  /** Size of the view the picture should fit, in CSS pixels. */
  viewWidth: number;
  viewHeight: number;
  /** Components whose groups are shown run by run. @default none */
  expanded?: ReadonlySet<string>;
  /**
   * Most boxes drawn (runs, groups, pointers); past it, the runs nearest the subject are kept.
   * @default 400
   */
  maxNodes?: number;
}

const nodeId = {
  run: (id: number) => `r${id}`,
  pointer: (id: number) => `p${id}`,
  group: (component: string, column: number) => `g${column}:${component}`,
};

/** Lays out a trace or impact graph; see the module comment. */
export function layoutLineage(graph: LineageGraph, options: LayoutOptions): Layout {
  const maxNodes = Math.max(2, options.maxNodes ?? 400);
  const whole = build(graph, graph.runs, options);
  if (whole.nodes.length <= maxNodes) return whole;
  // Too many boxes even grouped: keep the runs up to the deepest depth that fits.
  const depths = [...new Set(graph.runs.map((r) => r.depth))].sort((a, b) => a - b);
  const upTo = (depth: number) => graph.runs.filter((r) => r.depth <= depth);
  let low = 0;
  let high = depths.length - 1;
  let best: Layout | undefined;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const attempt = build(graph, upTo(depths[mid]!), options);
    if (attempt.nodes.length <= maxNodes) {
      best = attempt;
      low = mid + 1;
    } else high = mid - 1;
  }
  const kept =
    best?.nodes.flatMap((n) => n.runs) ??
    [...graph.runs].sort((a, b) => a.depth - b.depth || a.id - b.id).slice(0, maxNodes - graph.roots.length);
  const layout = best ?? build(graph, kept, options);
  const keptIds = new Set(kept.map((r) => r.id));
  const direction = options.direction ?? 'trace';
  const producedBy = producers(graph.runs);
  const frontier = new Map<number, IOPointer>();
  if (direction === 'trace') {
    for (const run of kept) {
      for (const p of run.inputs) {
        if (producedBy.get(p.id)?.some((id) => !keptIds.has(id))) frontier.set(p.id, p);
      }
    }
  }
  layout.leftOut = {
    runs: graph.runs.length - kept.length,
    depth: Math.max(0, ...kept.map((r) => r.depth)),
    frontier: [...frontier.values()],
  };
  return layout;
}

function build(graph: LineageGraph, runs: TracedRun[], options: LayoutOptions): Layout {
  const direction = options.direction ?? 'trace';
  const expanded = options.expanded ?? new Set<string>();
  const runById = new Map(runs.map((r) => [r.id, r]));

  // 2. Run-level edges (upstream -> downstream), with the pointers that flow along them.
  const edgesRaw: Array<{ from: string; to: string; pointers: IOPointer[]; declared: boolean }> = [];
  const seen = new Set<string>();
  for (const d of graph.dependencies) {
    const consumer = runById.get(d.run);
    const producer = runById.get(d.dependsOn);
    if (!consumer || !producer) continue;
    const key = `${d.dependsOn}>${d.run}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const outs = new Set(producer.outputs.map((p) => p.id));
    const pointers = consumer.inputs.filter((p) => outs.has(p.id));
    edgesRaw.push({
      from: nodeId.run(d.dependsOn),
      to: nodeId.run(d.run),
      pointers,
      declared: pointers.length === 0,
    });
  }

  // 3. Pointer nodes: the subject, and pointers with no producer among the graph's runs.
  const pointerNodes = new Map<number, IOPointer>();
  const rootIds = new Set(graph.roots.map((p) => p.id));
  for (const root of graph.roots) pointerNodes.set(root.id, root);
  const producedBy = producers(graph.runs);
  if (direction === 'trace') {
    // External sources as nodes while they are few; past that, they stay on the runs' cards.
    const sources = new Map<number, IOPointer>();
    for (const run of runs) for (const p of run.inputs) if (!producedBy.has(p.id)) sources.set(p.id, p);
    if (sources.size <= MAX_SOURCE_NODES) for (const [id, p] of sources) pointerNodes.set(id, p);
  }
  for (const [id, p] of pointerNodes) {
    for (const run of runs) {
      const reads = run.inputs.some((q) => q.id === id);
      const makes = run.outputs.some((q) => q.id === id);
      if (makes && (direction === 'trace' || !rootIds.has(id))) {
        edgesRaw.push({ from: nodeId.run(run.id), to: nodeId.pointer(id), pointers: [p], declared: false });
      } else if (reads && !makes) {
        edgesRaw.push({ from: nodeId.pointer(id), to: nodeId.run(run.id), pointers: [p], declared: false });
      }
    }
  }
  // An impact subject is upstream of everything: drop edges into it from runs that also wrote it.
  const baseIds = [...runs.map((r) => nodeId.run(r.id)), ...[...pointerNodes.keys()].map(nodeId.pointer)];

  // 4. Columns by longest path.
  const columnOf = longestPathColumns(baseIds, edgesRaw, direction);

  // 5. Groups: runs of one component in one column, unless expanded.
  const members = new Map<string, TracedRun[]>();
  for (const run of runs) {
    const key = nodeId.group(run.component, columnOf.get(nodeId.run(run.id)) ?? 0);
    const list = members.get(key);
    if (list) list.push(run);
    else members.set(key, [run]);
  }
  const owner = new Map<string, string>(); // base id -> node id
  const nodes: LayoutNode[] = [];
  const subjectRuns = new Set(
    runs
      .filter((r) => (direction === 'trace' ? r.outputs : r.inputs).some((p) => rootIds.has(p.id)))
      .map((r) => r.id),
  );
  // Every box starts at the origin; wrapAndPlace sets x, y and band.
  const box = (
    fields: Pick<LayoutNode, 'id' | 'kind' | 'runs' | 'column' | 'subject'> & Partial<LayoutNode>,
  ) => {
    const node: LayoutNode = {
      x: 0,
      y: 0,
      width: SIZES.nodeWidth,
      height: fields.kind === 'pointer' ? SIZES.pointerHeight : SIZES.runHeight,
      band: 0,
      onPath: false,
      ...fields,
    };
    owner.set(node.id, node.id);
    nodes.push(node);
  };
  for (const [key, list] of members) {
    const first = list[0]!;
    const column = columnOf.get(nodeId.run(first.id)) ?? 0;
    if (list.length >= GROUP_MIN && !expanded.has(first.component)) {
      box({
        id: key,
        kind: 'group',
        runs: list,
        column,
        subject: list.some((r) => subjectRuns.has(r.id)),
        groupKey: first.component,
      });
      for (const r of list) owner.set(nodeId.run(r.id), key);
    } else {
      for (const r of list)
        box({ id: nodeId.run(r.id), kind: 'run', runs: [r], column, subject: subjectRuns.has(r.id) });
    }
  }
  for (const [id, p] of pointerNodes) {
    const nid = nodeId.pointer(id);
    box({
      id: nid,
      kind: 'pointer',
      runs: [],
      pointer: p,
      column: columnOf.get(nid) ?? 0,
      subject: rootIds.has(id),
    });
  }

  // 6. Node-level edges, merged through groups.
  const merged = new Map<string, LayoutEdge>();
  for (const e of edgesRaw) {
    const source = owner.get(e.from);
    const target = owner.get(e.to);
    if (!source || !target || source === target) continue;
    const id = `${source}>${target}`;
    const existing = merged.get(id);
    if (existing) {
      for (const p of e.pointers)
        if (!existing.pointers.some((q) => q.id === p.id)) existing.pointers.push(p);
      if (!e.declared && existing.kind === 'declared') existing.kind = 'main';
    } else {
      merged.set(id, {
        id,
        source,
        target,
        kind: e.declared ? 'declared' : 'main',
        onPath: false,
        pointers: [...e.pointers],
      });
    }
  }
  const edges = [...merged.values()];
  markSkipEdges(nodes, edges);

  // 7. Order within columns, 8. wrap columns into bands, place.
  const columns = Math.max(1, ...nodes.map((n) => n.column + 1));
  const byColumn = orderColumns(nodes, edges, columns);
  const placed = wrapAndPlace(byColumn, options.viewWidth, options.viewHeight);
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  for (const e of edges) {
    const from = nodeById.get(e.source)!;
    const to = nodeById.get(e.target)!;
    if (to.band !== from.band) e.wrapY = placed.bands[from.band]!.bottom + SIZES.bandGap / 2;
  }

  // 9. The subject, and the path from it to the data version and git commit.
  const subjectNode =
    nodes.find((n) => n.kind === 'pointer' && n.subject) ?? nodes.find((n) => n.subject) ?? undefined;
  markPath(nodes, edges, subjectNode, direction);

  return {
    nodes,
    edges,
    width: placed.width,
    height: placed.height,
    columnsPerBand: placed.columnsPerBand,
    columns,
    bands: placed.bands,
    subjectId: subjectNode?.id,
    leftOut: undefined,
  };
}

function producers(runs: RunSummary[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const run of runs) {
    for (const p of run.outputs) {
      const list = out.get(p.id);
      if (list) list.push(run.id);
      else out.set(p.id, [run.id]);
    }
  }
  return out;
}

/**
 * Column of each node: trace, the longest path down to a sink, counted from the right (each run
 * as late as its consumers allow); impact, the longest path from a source. Cycles (which the store
 * does not make) are broken by leaving their nodes in column 0.
 */
function longestPathColumns(
  ids: string[],
  edges: Array<{ from: string; to: string }>,
  direction: 'trace' | 'impact',
): Map<string, number> {
  const down = new Map<string, string[]>(ids.map((id) => [id, []]));
  const up = new Map<string, string[]>(ids.map((id) => [id, []]));
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const e of edges) {
    if (!down.has(e.from) || !down.has(e.to)) continue;
    down.get(e.from)!.push(e.to);
    up.get(e.to)!.push(e.from);
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  }
  const order: string[] = [];
  const queue = ids.filter((id) => indegree.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(id);
    for (const next of down.get(id)!) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const level = new Map<string, number>();
  if (direction === 'impact') {
    for (const id of order) {
      let l = 0;
      for (const prev of up.get(id)!) l = Math.max(l, (level.get(prev) ?? 0) + 1);
      level.set(id, l);
    }
    for (const id of ids) if (!level.has(id)) level.set(id, 0);
    return level;
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i]!;
    let l = 0;
    for (const next of down.get(id)!) l = Math.max(l, (level.get(next) ?? 0) + 1);
    level.set(id, l);
  }
  const max = Math.max(0, ...level.values());
  const column = new Map<string, number>();
  for (const id of ids) column.set(id, level.has(id) ? max - level.get(id)! : 0);
  return column;
}

/** Marks as `skip` every edge implied by a longer path (transitive reduction, bitsets). */
function markSkipEdges(nodes: LayoutNode[], edges: LayoutEdge[]): void {
  if (nodes.length > 4_000) return; // O(V * E / 32): keep it bounded
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const words = Math.ceil(nodes.length / 32);
  const out: number[][] = nodes.map(() => []);
  for (const e of edges) out[index.get(e.source)!]!.push(index.get(e.target)!);
  // Reachability, processing nodes by column from the right (edges go to higher columns).
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[b]!.column - nodes[a]!.column);
  const reach = nodes.map(() => new Uint32Array(words));
  for (const i of order) {
    const r = reach[i]!;
    for (const j of out[i]!) {
      r[j >> 5]! |= 1 << (j & 31);
      const rj = reach[j]!;
      for (let w = 0; w < words; w++) r[w]! |= rj[w]!;
    }
  }
  for (const e of edges) {
    const i = index.get(e.source)!;
    const j = index.get(e.target)!;
    const implied = out[i]!.some((k) => k !== j && (reach[k]![j >> 5]! & (1 << (j & 31))) !== 0);
    if (implied && e.kind === 'main') e.kind = 'skip';
  }
}

/** Orders each column by the barycenter of its neighbours (a few sweeps both ways). */
function orderColumns(nodes: LayoutNode[], edges: LayoutEdge[], columns: number): LayoutNode[][] {
  const byColumn: LayoutNode[][] = Array.from({ length: columns }, () => []);
  const label = (n: LayoutNode) => n.runs[0]?.component ?? n.pointer?.uri ?? n.id;
  for (const n of nodes) byColumn[n.column]!.push(n);
  for (const list of byColumn)
    list.sort((a, b) => label(a).localeCompare(label(b)) || a.id.localeCompare(b.id));
  const neighbours = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    if (e.kind === 'skip') continue;
    neighbours.get(e.source)!.push(e.target);
    neighbours.get(e.target)!.push(e.source);
  }
  const position = new Map<string, number>();
  const remember = () => {
    for (const list of byColumn) {
      for (const [i, n] of list.entries()) position.set(n.id, i / Math.max(1, list.length - 1));
    }
  };
  remember();
  for (let sweep = 0; sweep < 4; sweep++) {
    const range = sweep % 2 === 0 ? byColumn.keys() : [...byColumn.keys()].reverse();
    for (const c of range) {
      const list = byColumn[c]!;
      const score = new Map<string, number>();
      for (const n of list) {
        const near = neighbours.get(n.id)!.map((id) => position.get(id)!);
        score.set(n.id, near.length ? near.reduce((a, b) => a + b, 0) / near.length : position.get(n.id)!);
      }
      list.sort((a, b) => score.get(a.id)! - score.get(b.id)!);
      for (const [i, n] of list.entries()) position.set(n.id, i / Math.max(1, list.length - 1));
    }
  }
  return byColumn;
}

/** Heights of a column's stack. */
function stackHeight(list: LayoutNode[]): number {
  return list.reduce((h, n) => h + n.height, 0) + Math.max(0, list.length - 1) * SIZES.rowGap;
}

/** The zoom at which a picture of this size fits a view (with margins), at most {@link MAX_FIT_ZOOM}. */
export function fitZoom(width: number, height: number, viewWidth: number, viewHeight: number): number {
  return Math.min(
    MAX_FIT_ZOOM,
    (viewWidth - 2 * SIZES.marginX) / Math.max(1, width),
    (viewHeight - 2 * SIZES.margin) / Math.max(1, height),
  );
}

/**
 * Wraps the columns into bands of `k` columns, choosing the `k` whose picture fits the view at
 * the largest zoom (ties: fewer bands), then sets every node's position.
 */
function wrapAndPlace(byColumn: LayoutNode[][], viewWidth: number, viewHeight: number) {
  const columns = byColumn.length;
  const heights = byColumn.map(stackHeight);
  const size = (k: number) => {
    const perBand = Math.min(k, columns);
    const width = perBand * SIZES.nodeWidth + (perBand - 1) * SIZES.columnGap;
    let height = 0;
    for (let start = 0; start < columns; start += k) {
      height += Math.max(...heights.slice(start, start + k));
    }
    height += (Math.ceil(columns / k) - 1) * SIZES.bandGap;
    return { width, height };
  };
  // The largest zoom any wrapping reaches (at most MAX_FIT_ZOOM); among the wrappings within 10%
  // of it, the one whose last band is fullest (no orphan), then the one with fewer bands.
  const options = Array.from({ length: columns }, (_, i) => {
    const k = i + 1;
    const { width, height } = size(k);
    const bandsCount = Math.ceil(columns / k);
    return {
      k,
      zoom: fitZoom(width, height, viewWidth, viewHeight),
      empty: bandsCount * k - columns,
      bandsCount,
    };
  });
  const top = Math.max(...options.map((o) => o.zoom));
  const floor = Math.max(top * 0.9, Math.min(top, MIN_READABLE_ZOOM));
  const best = options
    .filter((o) => o.zoom >= floor - 1e-9)
    .sort((a, b) => a.empty - b.empty || a.bandsCount - b.bandsCount || b.zoom - a.zoom)[0]!.k;
  const { width, height } = size(best);
  const bands: Array<{ top: number; bottom: number }> = [];
  let y0 = 0;
  for (let start = 0; start < columns; start += best) {
    const band = byColumn.slice(start, start + best);
    const bandHeight = Math.max(...heights.slice(start, start + best));
    band.forEach((list, i) => {
      let y = y0 + (bandHeight - stackHeight(list)) / 2;
      for (const n of list) {
        n.x = i * (SIZES.nodeWidth + SIZES.columnGap);
        n.y = y;
        n.band = bands.length;
        y += n.height + SIZES.rowGap;
      }
    });
    bands.push({ top: y0, bottom: y0 + bandHeight });
    y0 += bandHeight + SIZES.bandGap;
  }
  return { width, height, columnsPerBand: best, bands };
}

/** A run that pins data: a DVC run, or one that recorded a git commit and versioned outputs. */
function isDataRun(node: LayoutNode): boolean {
  return (
    node.runs.some((r) => r.source === 'dvc') ||
    (node.kind === 'run' &&
      node.runs.some((r) => r.dependsOn.length === 0 && r.outputs.some((p) => p.version)))
  );
}

/**
 * Marks the longest path from the subject upstream to a data run (or to the farthest source):
 * in a pipeline that is its spine, model to training to features to the data version.
 */
function markPath(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
  subject: LayoutNode | undefined,
  direction: 'trace' | 'impact',
): void {
  if (!subject || direction !== 'trace') return;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const upstream = new Map<string, LayoutEdge[]>();
  for (const e of edges) {
    const list = upstream.get(e.target);
    if (list) list.push(e);
    else upstream.set(e.target, [e]);
  }
  // Longest path to a data run, by memoised depth-first search (the graph is a DAG by columns).
  const best = new Map<string, { length: number; via?: LayoutEdge; reaches: boolean }>();
  const visit = (id: string): { length: number; via?: LayoutEdge; reaches: boolean } => {
    const known = best.get(id);
    if (known) return known;
    best.set(id, { length: 0, reaches: false }); // guards against cycles
    const node = byId.get(id)!;
    let result: { length: number; via?: LayoutEdge; reaches: boolean } = {
      length: 0,
      reaches: isDataRun(node),
    };
    for (const e of upstream.get(id) ?? []) {
      const from = byId.get(e.source);
      if (!from || from.column >= node.column) continue;
      const r = visit(e.source);
      const better =
        (r.reaches && !result.reaches) || (r.reaches === result.reaches && r.length + 1 > result.length);
      if (better && (r.reaches || !isDataRun(node)))
        result = { length: r.length + 1, via: e, reaches: r.reaches };
    }
    best.set(id, result);
    return result;
  };
  if (nodes.length > 20_000) return;
  visit(subject.id);
  let at: string | undefined = subject.id;
  while (at) {
    const node = byId.get(at)!;
    node.onPath = true;
    const step = best.get(at);
    if (!step?.via) break;
    step.via.onPath = true;
    at = step.via.source;
  }
}
