import {
  Background,
  BaseEdge,
  type Edge,
  type EdgeProps,
  Handle,
  MarkerType,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
} from '@xyflow/react';
import { type KeyboardEvent, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import {
  api,
  getToken,
  type IOPointer,
  type LineageGraph,
  type PromotionEntry,
  query,
  type RunSummary,
} from './api';
import { ErrorBox, Loading, pointerHref, StatusBadge, useData } from './common';
import { useConfig } from './config';
import { DecisionCard, decisionsOf, modelsOf } from './Decision';
import { fitZoom, type Layout, type LayoutNode, layoutLineage, MIN_READABLE_ZOOM, SIZES } from './layout';
import { RunCard } from './RunCard';
import { Link, type Location, navigate } from './router';
import { useTheme } from './theme';

/** Most boxes drawn before the page leaves the farthest runs out (the URL's `all=1` draws them all). */
export const MAX_NODES = 400;

type NodeData = {
  node: LayoutNode;
  selected: boolean;
  focused: boolean;
  decision: PromotionEntry | undefined;
  flagged: ReadonlySet<number>;
};
type FlowNode = Node<NodeData>;

export function baseName(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  const last = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return last || uri;
}

function shortVersion(version: string): string {
  return version.length > 10 ? version.slice(0, 8) : version;
}

/** A pointer in a few characters: a file's name, an opaque URI without its scheme, a model's name. */
export function pointerLabel(p: IOPointer): string {
  if (p.uri.startsWith('models:/')) {
    const name = p.uri.slice('models:/'.length);
    return p.version && name.includes('@') ? `${name} v${p.version}` : name;
  }
  const opaque = !/^[a-z][\w+.-]*:\/\//i.test(p.uri);
  const name = opaque ? p.uri.replace(/^[a-z][\w+.-]*:\/*/i, '') : baseName(p.uri);
  // Long ids (an MLflow run id in runs:/<id>/model) shortened, the rest kept.
  const short = name
    .split('/')
    .map((part) => (part.length > 16 ? `${part.slice(0, 8)}…` : part))
    .join('/');
  return p.version ? `${short}@${shortVersion(p.version)}` : short;
}

function outputsLine(run: RunSummary): string {
  const [first, ...rest] = run.outputs;
  if (!first) return 'no outputs';
  return `→ ${pointerLabel(first)}${rest.length ? ` +${rest.length}` : ''}`;
}

function nodeClasses(data: NodeData, base: string): string {
  const classes = [base];
  if (data.node.subject) classes.push('subject');
  if (data.node.onPath) classes.push('on-path');
  if (data.selected) classes.push('selected');
  return classes.join(' ');
}

function RunNodeView({ data }: NodeProps<FlowNode>) {
  const run = data.node.runs[0]!;
  const classes = [nodeClasses(data, 'dag-run'), `status-${run.status}`];
  if (run.stale.length > 0) classes.push('stale');
  if (run.outputs.some((p) => data.flagged.has(p.id))) classes.push('produces-flagged');
  if (data.decision) classes.push('decision', `decision-${data.decision.action}`);
  const dataRun = run.source === 'dvc';
  const label = `${run.component}, ${run.status}, run ${run.id}${data.decision ? `, decision ${data.decision.action}` : ''}`;
  return (
    // biome-ignore lint/a11y/useSemanticElements: a node box holds block lines, which a <button> may not
    <div
      className={classes.join(' ')}
      data-testid="run-node"
      data-node-id={data.node.id}
      tabIndex={data.focused ? 0 : -1}
      role="button"
      aria-label={label}
      aria-pressed={data.selected}
      title={
        run.stale.join('\n') || `${run.component} #${run.id}: ${run.outputs.map((p) => p.uri).join(', ')}`
      }
    >
      <Handle type="target" position={Position.Left} />
      <div className="dag-title">
        {run.stale.length > 0 ? <span className="stale-icon">⚠ </span> : null}
        {run.component}
      </div>
      <div className="dag-sub">
        {data.decision ? (
          <span className={`badge outcome outcome-${data.decision.action}`}>{data.decision.action}</span>
        ) : run.status === 'succeeded' ? (
          <span className="ok-mark" role="img" aria-label="succeeded">
            ✓
          </span>
        ) : (
          <StatusBadge status={run.status} />
        )}{' '}
        #{run.id}
        {run.attempt && run.attempt > 1 ? ` · attempt ${run.attempt}` : ''}
        {dataRun && run.gitCommit ? ` · git ${run.gitCommit.slice(0, 7)}` : ''}
        {!dataRun && run.source !== 'temporal' ? ` · ${run.source}` : ''}
      </div>
      <div className="dag-out">{outputsLine(run)}</div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function GroupNodeView({ data }: NodeProps<FlowNode>) {
  const { runs } = data.node;
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  return (
    // biome-ignore lint/a11y/useSemanticElements: a node box holds block lines, which a <button> may not
    <div
      className={nodeClasses(data, 'dag-run dag-group')}
      data-testid="group-node"
      data-node-id={data.node.id}
      tabIndex={data.focused ? 0 : -1}
      role="button"
      aria-label={`${runs.length} runs of ${data.node.groupKey}, press Enter to expand`}
      title="Click to show these runs one by one"
    >
      <Handle type="target" position={Position.Left} />
      <div className="dag-title">
        {data.node.groupKey} <span className="count">×{runs.length}</span>
      </div>
      <div className="dag-sub">{summary}</div>
      <div className="dag-out">expand ▸</div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function PointerNodeView({ data }: NodeProps<FlowNode>) {
  const pointer = data.node.pointer!;
  const classes = [nodeClasses(data, 'dag-pointer'), `type-${pointer.type}`];
  if (pointer.flag) classes.push('flagged');
  return (
    // biome-ignore lint/a11y/useSemanticElements: the same focusable box as the run nodes
    <div
      className={classes.join(' ')}
      data-testid="pointer-node"
      data-node-id={data.node.id}
      tabIndex={data.focused ? 0 : -1}
      role="button"
      aria-label={`${data.node.subject ? 'subject ' : ''}${pointer.type} ${pointer.uri}${pointer.version ? ` version ${pointer.version}` : ''}`}
      title={`${pointer.uri}${pointer.version ? `@${pointer.version}` : ''}`}
    >
      <Handle type="target" position={Position.Left} />
      {pointer.flag ? '⚑ ' : ''}
      {pointerLabel(pointer)}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

// Not `group`: React Flow styles its own node type of that name.
const nodeTypes = { run: RunNodeView, runGroup: GroupNodeView, pointer: PointerNodeView };

/**
 * An edge from the end of one band to a later band, drawn like a line break: out to the right,
 * down into the gap under the source's band, back to the left of the target, into it.
 */
function WrapEdge(props: EdgeProps<Edge<{ wrapY: number }>>) {
  const { sourceX, sourceY, targetX, targetY, data } = props;
  const gap = SIZES.columnGap / 2;
  const right = sourceX + gap - 6;
  const left = targetX - gap + 6;
  const y = data?.wrapY ?? (sourceY + targetY) / 2;
  const r = 10;
  const down = targetY > y ? 1 : -1;
  const path = [
    `M ${sourceX} ${sourceY}`,
    `H ${right - r}`,
    `Q ${right} ${sourceY} ${right} ${sourceY + r}`,
    `V ${y - r}`,
    `Q ${right} ${y} ${right - r} ${y}`,
    `H ${left + r}`,
    `Q ${left} ${y} ${left} ${y + r * down}`,
    `V ${targetY - r * down}`,
    `Q ${left} ${targetY} ${left + r} ${targetY}`,
    `H ${targetX}`,
  ].join(' ');
  return <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} />;
}

const edgeTypes = { wrap: WrapEdge };

/** The initial view: the whole picture when it is readable, else the subject at a readable zoom. */
export function initialViewport(layout: Layout, viewWidth: number, viewHeight: number) {
  const fit = fitZoom(layout.width, layout.height, viewWidth, viewHeight);
  if (fit >= MIN_READABLE_ZOOM || !layout.subjectId) {
    const zoom = Math.max(fit, 0.05);
    return {
      zoom,
      x: (viewWidth - layout.width * zoom) / 2,
      y: (viewHeight - layout.height * zoom) / 2,
      fitted: fit >= MIN_READABLE_ZOOM,
    };
  }
  const zoom = 1;
  const subject = layout.nodes.find((n) => n.id === layout.subjectId)!;
  const cx = subject.x + subject.width / 2;
  const cy = subject.y + subject.height / 2;
  // Centre on the subject, then keep the view inside the picture (the subject's upstream shows).
  const clamp = (value: number, size: number, view: number, margin: number) =>
    size * zoom <= view
      ? (view - size * zoom) / 2
      : Math.min(margin, Math.max(view - size * zoom - margin, value));
  return {
    zoom,
    x: clamp(viewWidth / 2 - cx * zoom, layout.width, viewWidth, SIZES.marginX),
    y: clamp(viewHeight / 2 - cy * zoom, layout.height, viewHeight, SIZES.margin),
    fitted: false,
  };
}

function neighbour(layout: Layout, from: LayoutNode, key: string): LayoutNode | undefined {
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  const closest = (list: LayoutNode[]) =>
    list.sort(
      (a, b) =>
        Math.abs(a.y - from.y) + Math.abs(a.x - from.x) - (Math.abs(b.y - from.y) + Math.abs(b.x - from.x)),
    )[0];
  if (key === 'ArrowLeft' || key === 'ArrowRight') {
    const up = key === 'ArrowLeft';
    const ends = layout.edges
      .filter((e) => (up ? e.target === from.id : e.source === from.id))
      .sort(
        (a, b) =>
          Number(b.onPath) - Number(a.onPath) || Number(a.kind === 'skip') - Number(b.kind === 'skip'),
      )
      .map((e) => byId.get(up ? e.source : e.target)!);
    const preferred = ends.filter((n) => n.onPath);
    return preferred[0] ?? closest(ends);
  }
  const column = layout.nodes.filter((n) => n.column === from.column && n.id !== from.id);
  const side = column.filter((n) => (key === 'ArrowUp' ? n.y < from.y : n.y > from.y));
  return closest(side);
}

function Canvas(props: {
  layout: Layout;
  view: { width: number; height: number };
  selectedId: string | undefined;
  decisions: Map<number, PromotionEntry>;
  flagged: ReadonlySet<number>;
  onActivate: (node: LayoutNode) => void;
  onClear: () => void;
  /** Where the zoom and fit buttons go (above the graph, so that they never cover a node). */
  toolbar: HTMLElement | null;
}) {
  const { layout, view } = props;
  const flow = useReactFlow();
  const theme = useTheme();
  const [focusId, setFocusId] = useState(layout.subjectId);
  const wrapper = useRef<HTMLDivElement>(null);
  const focusedByKey = useRef(false);
  useEffect(() => setFocusId(layout.subjectId), [layout]);

  const nodes = useMemo<FlowNode[]>(
    () =>
      layout.nodes.map((n) => ({
        id: n.id,
        type: n.kind === 'group' ? 'runGroup' : n.kind,
        position: { x: n.x, y: n.y },
        width: n.width,
        height: n.height,
        selectable: false,
        data: {
          node: n,
          selected: n.id === props.selectedId,
          focused: n.id === focusId,
          decision: n.kind === 'run' ? props.decisions.get(n.runs[0]!.id) : undefined,
          flagged: props.flagged,
        },
      })),
    [layout, props.selectedId, focusId, props.decisions, props.flagged],
  );
  const edges = useMemo<Edge[]>(
    () =>
      layout.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        ...(e.wrapY === undefined ? {} : { type: 'wrap', data: { wrapY: e.wrapY } }),
        className: `edge-${e.kind}${e.onPath ? ' on-path' : ''}`,
        zIndex: e.onPath ? 2 : e.kind === 'skip' ? 0 : 1,
        focusable: false,
        ...(e.kind === 'skip' ? {} : { markerEnd: { type: MarkerType.ArrowClosed } }),
        ariaLabel: e.pointers.map((p) => p.uri).join(', ') || 'depends on',
      })),
    [layout],
  );

  const fitAll = () => {
    const zoom = Math.max(0.05, fitZoom(layout.width, layout.height, view.width, view.height));
    void flow.setViewport({
      zoom,
      x: (view.width - layout.width * zoom) / 2,
      y: (view.height - layout.height * zoom) / 2,
    });
  };
  const toSubject = () => void flow.setViewport(initialViewport(layout, view.width, view.height));
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new picture resets the view
  useLayoutEffect(() => {
    void flow.setViewport(initialViewport(layout, view.width, view.height));
  }, [layout]);

  // Keyboard focus follows the roving tabindex; keep the focused node in view.
  useEffect(() => {
    if (!focusedByKey.current || !focusId) return;
    const node = layout.nodes.find((n) => n.id === focusId);
    if (!node) return;
    const { x, y, zoom } = flow.getViewport();
    const left = node.x * zoom + x;
    const top = node.y * zoom + y;
    if (
      left < 0 ||
      top < 0 ||
      left + node.width * zoom > view.width ||
      top + node.height * zoom > view.height
    ) {
      void flow.setCenter(node.x + node.width / 2, node.y + node.height / 2, { zoom });
    }
    requestAnimationFrame(() => {
      wrapper.current?.querySelector<HTMLElement>(`[data-node-id="${CSS.escape(focusId)}"]`)?.focus();
    });
  }, [focusId, layout, flow, view]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const from = layout.nodes.find((n) => n.id === focusId);
    const key = event.key;
    if (key.startsWith('Arrow') && from) {
      const next = neighbour(layout, from, key);
      event.preventDefault();
      if (next) {
        focusedByKey.current = true;
        setFocusId(next.id);
      }
    } else if ((key === 'Enter' || key === ' ') && from) {
      event.preventDefault();
      props.onActivate(from);
    } else if (key === 'Escape') {
      props.onClear();
    } else if (key === '+' || key === '=') {
      void flow.zoomIn();
    } else if (key === '-') {
      void flow.zoomOut();
    } else if (key === 'f' || key === '0') {
      fitAll();
    } else if (key === 's') {
      toSubject();
      focusedByKey.current = true;
      setFocusId(layout.subjectId);
    }
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: the keys act on the focused node inside
    <div
      className="graph"
      data-testid="graph"
      ref={wrapper}
      onKeyDown={onKeyDown}
      onFocus={(event) => {
        const id = (event.target as HTMLElement).dataset.nodeId;
        if (id && id !== focusId) setFocusId(id);
      }}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        colorMode={theme.resolved}
        minZoom={0.05}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        elementsSelectable={false}
        disableKeyboardA11y
        onlyRenderVisibleElements={layout.nodes.length > 150}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_event, node) => {
          setFocusId(node.id);
          props.onActivate((node.data as NodeData).node);
        }}
        onPaneClick={props.onClear}
      >
        <Background />
      </ReactFlow>
      {props.toolbar
        ? createPortal(
            <>
              <button
                type="button"
                className="small"
                aria-label="zoom out"
                title="zoom out (-)"
                onClick={() => void flow.zoomOut()}
              >
                −
              </button>
              <button
                type="button"
                className="small"
                aria-label="zoom in"
                title="zoom in (+)"
                onClick={() => void flow.zoomIn()}
              >
                +
              </button>
              <button
                type="button"
                className="small"
                aria-label="fit the whole graph"
                title="fit the whole graph (F)"
                onClick={fitAll}
              >
                ⤢ Fit all
              </button>
              <button
                type="button"
                className="small"
                aria-label="back to the subject"
                title="back to the subject (S)"
                onClick={toSubject}
              >
                ◎ Subject
              </button>
            </>,
            props.toolbar,
          )
        : null}
    </div>
  );
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

/** The graph area's size, measured (the layout wraps to it). */
function useSize(ref: React.RefObject<HTMLElement | null>) {
  const [size, setSize] = useState<{ width: number; height: number }>();
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => {
      const rect = element.getBoundingClientRect();
      // Rounded, so that a scrollbar or a pixel of rounding does not lay the graph out again.
      const width = Math.round(rect.width / 40) * 40;
      const height = Math.round(rect.height / 40) * 40;
      setSize((s) => (s && s.width === width && s.height === height ? s : { width, height }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  });
  return size;
}

function setParam(location: Location, direction: string, changes: Record<string, string | undefined>) {
  const params = new URLSearchParams(location.params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') params.delete(key);
    else params.set(key, value);
  }
  navigate(`/${direction}?${params.toString()}`, { replace: true });
}

/** `/trace` and `/impact`: the lineage DAG of a pointer, with the decision and the selected run's card. */
export function GraphView({ location, direction }: { location: Location; direction: 'trace' | 'impact' }) {
  const config = useConfig();
  const uri = location.params.get('uri') ?? '';
  const version = location.params.get('version') ?? '';
  const depth = location.params.get('depth') ?? '';
  const all = location.params.get('all') === '1';
  const expandParam = location.params.get('expand') ?? '';
  const selectedRun = Number(location.params.get('run')) || undefined;
  const selectedPointer = Number(location.params.get('pointer')) || undefined;
  const { data, error, loading, reload } = useData(
    () =>
      uri
        ? api<LineageGraph>(`/${direction}${query({ uri, version, maxDepth: depth })}`)
        : Promise.resolve(undefined),
    [uri, version, depth, direction],
  );
  const models = useMemo(() => (data ? modelsOf(data) : []), [data]);
  const { data: promotions } = useData(
    () =>
      Promise.all(
        models.map((model) =>
          api<{ promotions: PromotionEntry[] }>(`/promotions${query({ model, limit: 100 })}`).then(
            (answer) => answer.promotions,
            () => [] as PromotionEntry[],
          ),
        ),
      ).then((lists) => lists.flat()),
    [models.join('\n')],
  );
  const decisions = useMemo(
    () => (data ? decisionsOf(data, promotions ?? []) : undefined),
    [data, promotions],
  );
  const area = useRef<HTMLDivElement>(null);
  const [toolbar, setToolbar] = useState<HTMLDivElement | null>(null);
  const size = useSize(area);
  const expanded = useMemo(() => new Set(expandParam.split(',').filter(Boolean)), [expandParam]);
  const layout = useMemo(
    () =>
      data && size
        ? layoutLineage(data, {
            direction,
            viewWidth: size.width,
            viewHeight: size.height,
            expanded,
            maxNodes: all ? Number.MAX_SAFE_INTEGER : MAX_NODES,
          })
        : undefined,
    [data, size, direction, expanded, all],
  );
  const flagged = useMemo(() => new Set(data?.pointers.filter((p) => p.flag).map((p) => p.id)), [data]);
  const byRun = useMemo(() => {
    const map = new Map<number, PromotionEntry>();
    for (const d of decisions?.inGraph ?? []) if (d.runId !== null) map.set(d.runId, d);
    return map;
  }, [decisions]);

  if (!uri) return <p className="muted">Enter a pointer URI above to see its lineage.</p>;
  const pointer = data?.pointers.find((p) => p.id === selectedPointer);
  const deeper = Math.min(
    (Number(depth) || config?.limits.defaultTraceDepth || 100) * 10,
    config?.limits.maxTraceDepth ?? 10_000,
  );
  const activate = (node: LayoutNode) => {
    if (node.kind === 'group' && node.groupKey) {
      setParam(location, direction, { expand: [...expanded, node.groupKey].join(',') });
    } else if (node.kind === 'run') {
      setParam(location, direction, { run: String(node.runs[0]!.id), pointer: undefined });
    } else if (node.pointer) {
      setParam(location, direction, { pointer: String(node.pointer.id), run: undefined });
    }
  };
  const clear = () => setParam(location, direction, { run: undefined, pointer: undefined });
  const view = layout && size ? initialViewport(layout, size.width, size.height) : undefined;
  const selectedId = selectedRun
    ? layout?.nodes.find((n) => n.kind === 'run' && n.runs[0]!.id === selectedRun)?.id
    : selectedPointer
      ? `p${selectedPointer}`
      : undefined;
  const runCount = data?.runs.length ?? 0;
  return (
    <div className="graph-page">
      <h1>
        {direction === 'trace' ? 'Trace' : 'Impact'} of <code>{uri}</code>
        {version ? <code>@{version}</code> : null}
      </h1>
      <div className="lead-row">
        <p className="muted lead">
          {direction === 'trace'
            ? 'Where it came from: the run that produced it and everything upstream.'
            : 'What it affected: every run that used it, and everything downstream.'}{' '}
          <Link to={pointerHref({ uri, version }, direction === 'trace' ? 'impact' : 'trace')}>
            {direction === 'trace' ? 'Show impact' : 'Show trace'}
          </Link>
        </p>
        <div className="graph-tools" ref={setToolbar} />
      </div>
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data?.truncated ? (
        <div className="callout warning">
          The walk stopped at the depth limit.{' '}
          <Link to={`/${direction}${query({ uri, version, depth: deeper })}`}>Go deeper</Link>
        </div>
      ) : null}
      {layout?.leftOut ? (
        <div className="callout warning" data-testid="left-out">
          Showing the {runCount - layout.leftOut.runs} runs nearest the subject (depth {layout.leftOut.depth}{' '}
          and nearer); {layout.leftOut.runs} runs further {direction === 'trace' ? 'upstream' : 'downstream'}{' '}
          are left out.{' '}
          <Link
            to={`/${direction}?${new URLSearchParams({ ...Object.fromEntries(location.params), all: '1' }).toString()}`}
          >
            Show all {runCount} runs
          </Link>
          {layout.leftOut.frontier.length ? (
            <>
              {' '}
              or trace on from where it stops:{' '}
              {layout.leftOut.frontier.slice(0, 3).map((p, i) => (
                <span key={p.id}>
                  {i ? ', ' : ''}
                  <Link to={pointerHref(p, direction)}>{pointerLabel(p)}</Link>
                </span>
              ))}
              {layout.leftOut.frontier.length > 3 ? ` and ${layout.leftOut.frontier.length - 3} more` : ''}
            </>
          ) : null}
          .
        </div>
      ) : null}
      {view && !view.fitted ? (
        <div className="callout info" data-testid="zoomed-note">
          Too large to read at once: the view opens on the subject at a readable size. Drag to pan, scroll to
          zoom, press F (or ⤢ Fit all) to see all of it.
        </div>
      ) : null}
      <div className="split">
        <div className="graph-area" ref={area}>
          {layout && size ? (
            <ReactFlowProvider>
              <Canvas
                layout={layout}
                view={size}
                selectedId={selectedId}
                decisions={byRun}
                flagged={flagged}
                onActivate={activate}
                onClear={clear}
                toolbar={toolbar}
              />
            </ReactFlowProvider>
          ) : null}
        </div>
        {data ? (
          <aside className="side">
            {selectedRun ? <RunCard key={selectedRun} id={selectedRun} /> : null}
            {pointer ? <PointerPanel pointer={pointer} onChange={reload} /> : null}
            {decisions?.primary ? (
              <DecisionCard
                decision={decisions.primary}
                later={decisions.later}
                subject={uri}
                direction={direction}
              />
            ) : null}
            <p className="muted legend" data-testid="graph-summary">
              {data.runs.length} runs, {data.pointers.length} pointers
              {layout?.nodes.some((n) => n.kind === 'group') ? ', runs of one step grouped' : ''}. Click a run
              (or Tab to the graph, arrows, Enter) for its card.
              {layout?.nodes.some((n) => n.onPath)
                ? ' Highlighted: the path from the subject to its data version and git commit.'
                : ''}
            </p>
            {expanded.size ? (
              <p className="muted">
                Expanded: {[...expanded].join(', ')}{' '}
                <button
                  type="button"
                  className="small"
                  onClick={() => setParam(location, direction, { expand: undefined })}
                >
                  Group again
                </button>
              </p>
            ) : null}
          </aside>
        ) : null}
      </div>
    </div>
  );
}
