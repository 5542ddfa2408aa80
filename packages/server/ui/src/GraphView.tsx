import { Graph, layout } from '@dagrejs/dagre';
import {
  Background,
  Controls,
  type Edge,
  Handle,
  MarkerType,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
} from '@xyflow/react';
import { useMemo, useState } from 'react';
import { api, getToken, type IOPointer, type LineageGraph, query, type RunSummary } from './api';
import { ErrorBox, Loading, pointerHref, StatusBadge, useData } from './common';
import { useConfig } from './config';
import { RunCard } from './RunCard';
import { Link, type Location, navigate } from './router';

type RunNodeData = { run: RunSummary; selected: boolean; producesFlagged: boolean };
type PointerNodeData = { pointer: IOPointer; root: boolean; selected: boolean };
type RunNode = Node<RunNodeData, 'run'>;
type PointerNode = Node<PointerNodeData, 'pointer'>;

const RUN_SIZE = { width: 190, height: 62 };
const POINTER_SIZE = { width: 230, height: 40 };

function RunNodeView({ data }: NodeProps<RunNode>) {
  const { run } = data;
  const classes = ['dag-run', `status-${run.status}`];
  if (data.selected) classes.push('selected');
  if (run.stale.length > 0) classes.push('stale');
  if (data.producesFlagged) classes.push('produces-flagged');
  return (
    <div className={classes.join(' ')} data-testid="run-node" title={run.stale.join('\n') || undefined}>
      <Handle type="target" position={Position.Left} />
      <div className="dag-title">
        {run.stale.length > 0 ? <span className="stale-icon">⚠ </span> : null}
        {run.component}
      </div>
      <div className="dag-sub">
        <StatusBadge status={run.status} /> #{run.id}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function baseName(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  const last = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return last || uri;
}

function PointerNodeView({ data }: NodeProps<PointerNode>) {
  const { pointer } = data;
  const classes = ['dag-pointer', `type-${pointer.type}`];
  if (pointer.flag) classes.push('flagged');
  if (data.root) classes.push('root');
  if (data.selected) classes.push('selected');
  return (
    <div
      className={classes.join(' ')}
      data-testid="pointer-node"
      title={`${pointer.uri}${pointer.version ? `@${pointer.version}` : ''}`}
    >
      <Handle type="target" position={Position.Left} />
      {pointer.flag ? '⚑ ' : ''}
      {baseName(pointer.uri)}
      {pointer.version ? <span className="version">@{pointer.version.slice(0, 10)}</span> : null}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const nodeTypes = { run: RunNodeView, pointer: PointerNodeView };

/** Runs and pointers as a left-to-right DAG (pointer -> run -> pointer), laid out by dagre. */
export function layoutGraph(graph: LineageGraph, selected: { run?: number; pointer?: number }) {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  const rootIds = new Set(graph.roots.map((p) => p.id));
  const flagged = new Set(graph.pointers.filter((p) => p.flag).map((p) => p.id));
  const nodes: Array<RunNode | PointerNode> = [];
  const edges: Edge[] = [];
  for (const p of graph.pointers) {
    g.setNode(`p${p.id}`, { ...POINTER_SIZE }); // dagre writes x, y into the label: one object each
    nodes.push({
      id: `p${p.id}`,
      type: 'pointer',
      position: { x: 0, y: 0 },
      data: { pointer: p, root: rootIds.has(p.id), selected: selected.pointer === p.id },
    });
  }
  const linked = new Set<string>();
  for (const run of graph.runs) {
    g.setNode(`r${run.id}`, { ...RUN_SIZE });
    nodes.push({
      id: `r${run.id}`,
      type: 'run',
      position: { x: 0, y: 0 },
      data: {
        run,
        selected: selected.run === run.id,
        producesFlagged: run.outputs.some((p) => flagged.has(p.id)),
      },
    });
    for (const p of run.inputs) {
      g.setEdge(`p${p.id}`, `r${run.id}`);
      edges.push({ id: `p${p.id}-r${run.id}`, source: `p${p.id}`, target: `r${run.id}` });
      linked.add(`${p.id}>${run.id}`);
    }
    for (const p of run.outputs) {
      g.setEdge(`r${run.id}`, `p${p.id}`);
      edges.push({
        id: `r${run.id}-p${p.id}`,
        source: `r${run.id}`,
        target: `p${p.id}`,
        className: 'output',
      });
    }
  }
  // Dependencies no shared pointer explains (declared with dependsOn) are drawn run to run, dashed.
  const outputsOf = new Map(graph.runs.map((r) => [r.id, new Set(r.outputs.map((p) => p.id))]));
  for (const d of graph.dependencies) {
    const consumer = graph.runs.find((r) => r.id === d.run);
    const viaPointer = consumer?.inputs.some((p) => outputsOf.get(d.dependsOn)?.has(p.id));
    if (viaPointer) continue;
    g.setEdge(`r${d.dependsOn}`, `r${d.run}`);
    edges.push({
      id: `dep${d.dependsOn}-${d.run}`,
      source: `r${d.dependsOn}`,
      target: `r${d.run}`,
      className: 'declared',
    });
  }
  layout(g);
  for (const node of nodes) {
    const at = g.node(node.id);
    const size = node.type === 'run' ? RUN_SIZE : POINTER_SIZE;
    node.position = { x: (at?.x ?? 0) - size.width / 2, y: (at?.y ?? 0) - size.height / 2 };
  }
  for (const edge of edges) edge.markerEnd = { type: MarkerType.ArrowClosed };
  return { nodes, edges };
}

function PointerPanel({ pointer, onChange }: { pointer: IOPointer; onChange: () => void }) {
  const config = useConfig();
  const canWrite = config !== undefined && (!config.auth.write || getToken() !== '');
  const [error, setError] = useState<unknown>();
  const toggle = async () => {
    setError(undefined);
    try {
      await api(pointer.flag ? '/unflag' : '/flag', { body: { uri: pointer.uri, version: pointer.version } });
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <article className="card" data-testid="pointer-card">
      <h2>{baseName(pointer.uri)}</h2>
      <dl className="facts">
        <dt>URI</dt>
        <dd>
          <code>{pointer.uri}</code>
        </dd>
        <dt>Version</dt>
        <dd>{pointer.version ? <code>{pointer.version}</code> : '—'}</dd>
        <dt>Type</dt>
        <dd>{pointer.type}</dd>
        <dt>Flag</dt>
        <dd>{pointer.flag ? '⚑ flagged' : 'not flagged'}</dd>
      </dl>
      <p>
        <Link to={pointerHref(pointer, 'trace')}>Trace</Link> ·{' '}
        <Link to={pointerHref(pointer, 'impact')}>Impact</Link>{' '}
        <button type="button" disabled={!canWrite} onClick={() => void toggle()}>
          {pointer.flag ? 'Unflag' : 'Flag'}
        </button>
      </p>
      <ErrorBox error={error} />
    </article>
  );
}

/** `/trace` and `/impact`: the lineage DAG of a pointer, with the selected run's card beside it. */
export function GraphView({ location, direction }: { location: Location; direction: 'trace' | 'impact' }) {
  const config = useConfig();
  const uri = location.params.get('uri') ?? '';
  const version = location.params.get('version') ?? '';
  const depth = location.params.get('depth') ?? '';
  const selectedRun = Number(location.params.get('run')) || undefined;
  const selectedPointer = Number(location.params.get('pointer')) || undefined;
  const { data, error, loading, reload } = useData(
    () =>
      uri
        ? api<LineageGraph>(`/${direction}${query({ uri, version, maxDepth: depth })}`)
        : Promise.resolve(undefined),
    [uri, version, depth, direction],
  );
  const flow = useMemo(
    () => (data ? layoutGraph(data, { run: selectedRun, pointer: selectedPointer }) : undefined),
    [data, selectedRun, selectedPointer],
  );
  const select = (kind: 'run' | 'pointer', id: number) => {
    const params = new URLSearchParams(location.params);
    params.delete('run');
    params.delete('pointer');
    params.set(kind, String(id));
    navigate(`/${direction}?${params.toString()}`, { replace: true });
  };
  if (!uri) return <p className="muted">Enter a pointer URI above to see its lineage.</p>;
  const pointer = data?.pointers.find((p) => p.id === selectedPointer);
  const deeper = Math.min(
    (Number(depth) || config?.limits.defaultTraceDepth || 100) * 10,
    config?.limits.maxTraceDepth ?? 10_000,
  );
  return (
    <div>
      <h1>
        {direction === 'trace' ? 'Trace' : 'Impact'} of <code>{uri}</code>
        {version ? <code>@{version}</code> : null}
      </h1>
      <p className="muted">
        {direction === 'trace'
          ? 'Where it came from: the run that produced it and everything upstream.'
          : 'What it affected: every run that used it, and everything downstream.'}{' '}
        <Link to={pointerHref({ uri, version }, direction === 'trace' ? 'impact' : 'trace')}>
          {direction === 'trace' ? 'Show impact' : 'Show trace'}
        </Link>
      </p>
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data?.truncated ? (
        <div className="callout warning">
          The walk stopped at the depth limit.{' '}
          <Link to={`/${direction}${query({ uri, version, depth: deeper })}`}>Go deeper</Link>
        </div>
      ) : null}
      {data && flow ? (
        <div className="split">
          <div className="graph" data-testid="graph">
            <ReactFlow
              nodes={flow.nodes}
              edges={flow.edges}
              nodeTypes={nodeTypes}
              fitView
              fitViewOptions={{ maxZoom: 1.2, minZoom: 0.5 }}
              minZoom={0.1}
              nodesDraggable={false}
              nodesConnectable={false}
              proOptions={{ hideAttribution: true }}
              onNodeClick={(_event, node) =>
                node.type === 'run'
                  ? select('run', (node.data as RunNodeData).run.id)
                  : select('pointer', (node.data as PointerNodeData).pointer.id)
              }
            >
              <Background />
              <Controls showInteractive={false} />
            </ReactFlow>
          </div>
          <aside className="side">
            <p className="muted">
              {data.runs.length} runs, {data.pointers.length} pointers. Click a node for details.
            </p>
            {selectedRun ? <RunCard key={selectedRun} id={selectedRun} /> : null}
            {pointer ? <PointerPanel pointer={pointer} onChange={reload} /> : null}
          </aside>
        </div>
      ) : null}
    </div>
  );
}
