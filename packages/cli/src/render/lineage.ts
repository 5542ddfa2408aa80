import type { IOPointer } from '@mltrace/core';
import type { LineageGraph, RunSummary } from '@mltrace/store';
import { plural, pointerLabel, pointerSpec, runLabel } from './format.js';
import { renderTree, type TreeNodeView } from './tree.js';

type Run = RunSummary & { depth: number };
type Node = { run: Run } | { leaf: string };

/** Orders pointers for display: by URI, then version. */
const byUri = (a: IOPointer, b: IOPointer) =>
  a.uri.localeCompare(b.uri) || a.version.localeCompare(b.version);

/**
 * Renders a lineage graph as mltrace's tree: each run, then its outputs, then (upstream) the
 * inputs no run of the graph produced and the runs it depends on, or (downstream) the runs that
 * depend on it. The graph is a DAG: a run reached a second time is printed once and then
 * referenced as `(see above: run N)`.
 */
export function renderLineage(
  graph: LineageGraph,
  direction: 'upstream' | 'downstream',
  options: { cwd: string; maxDepth?: number },
): string[] {
  const { cwd } = options;
  const runs = new Map(graph.runs.map((run) => [run.id, run]));
  const dependents = new Map<number, number[]>();
  for (const edge of graph.dependencies) {
    dependents.set(edge.dependsOn, [...(dependents.get(edge.dependsOn) ?? []), edge.run]);
  }
  // Upstream, the newest dependency first (the nearest producer, whose chain is usually the
  // longest); downstream, the oldest consumer first.
  const order = direction === 'upstream' ? (a: number, b: number) => b - a : (a: number, b: number) => a - b;
  const runNodes = (ids: number[]): Node[] =>
    [...new Set(ids)].sort(order).flatMap((id) => {
      const run = runs.get(id);
      return run ? [{ run }] : [];
    });
  const seen = new Set<number>();

  const expand = (node: Node): TreeNodeView<Node> => {
    if ('leaf' in node) return { label: node.leaf };
    const { run } = node;
    if (seen.has(run.id)) return { label: `${run.component} (see above: run ${run.id})` };
    seen.add(run.id);
    const notes = run.stale.map((warning) => `⚠ ${warning}`);
    if (run.error) notes.push(`✗ ${run.error.type ? `${run.error.type}: ` : ''}${run.error.message}`);
    const children: Node[] = [...run.outputs].sort(byUri).map((p) => ({ leaf: pointerLabel(p, cwd) }));
    if (direction === 'upstream') {
      const upstream = run.dependsOn.filter((id) => runs.has(id));
      const produced = new Set(upstream.flatMap((id) => runs.get(id)?.outputs.map((p) => p.uri) ?? []));
      // Inputs no dependency produced: where the data came from. Unknown when the walk stopped here.
      const complete = upstream.length === run.dependsOn.length;
      const sources = complete ? run.inputs.filter((p) => !produced.has(p.uri)).sort(byUri) : [];
      children.push(...sources.map((p) => ({ leaf: `← ${pointerLabel(p, cwd)}` })));
      children.push(...runNodes(upstream));
      const beyond = run.dependsOn.length - upstream.length;
      if (beyond > 0) {
        children.push({ leaf: `… ${plural(beyond, 'more upstream run')} (raise --depth to see them)` });
      }
    } else {
      children.push(...runNodes(dependents.get(run.id) ?? []));
    }
    return { label: runLabel(run), notes, children };
  };

  const roots = runNodes(graph.runs.filter((run) => run.depth === 0).map((run) => run.id));
  const rootNames = graph.roots.length
    ? [...new Set(graph.roots.map((p) => pointerSpec(p, cwd)))].join(', ')
    : '(nothing)';
  const header =
    direction === 'upstream'
      ? `trace of ${rootNames}: ${plural(graph.runs.length, 'run')}`
      : `impact of ${rootNames}: ${plural(roots.length, 'run')} used it, ${plural(graph.runs.length, 'run')} downstream in all`;
  const lines = [header, '', ...renderTree(roots, expand)];
  // Upstream, exactly: some run depends on a run the walk did not reach. (The store's flag also
  // counts a run at the limit whose dependencies were all reached another way.)
  const truncated =
    direction === 'upstream'
      ? graph.runs.some((run) => run.dependsOn.some((id) => !runs.has(id)))
      : graph.truncated;
  if (truncated) {
    lines.push('', `(stopped at depth ${options.maxDepth ?? '?'}: raise --depth to see further)`);
  }
  return lines;
}

/** A Temporal workflow run that a lineage graph's runs belong to. */
export interface AffectedWorkflow {
  namespace: string;
  workflowId: string;
  runId: string | undefined;
  workflowType: string | undefined;
  /** How many runs of the graph it holds. */
  runs: number;
  /** Its page in the Temporal Web UI. */
  url: string;
}

/** The Temporal UI's page of a workflow run (its history when the run id is known). */
export function temporalWorkflowUrl(
  base: string,
  namespace: string,
  workflowId: string,
  runId?: string,
): string {
  const parts = [base.replace(/\/+$/, ''), 'namespaces', encodeURIComponent(namespace), 'workflows'];
  parts.push(encodeURIComponent(workflowId));
  if (runId) parts.push(encodeURIComponent(runId), 'history');
  return parts.join('/');
}

/** The Temporal workflow runs of a graph's runs, in the order the graph first reaches them. */
export function affectedWorkflows(graph: LineageGraph, temporalUiUrl: string): AffectedWorkflow[] {
  const byKey = new Map<string, AffectedWorkflow>();
  const ordered = [...graph.runs].sort((a, b) => a.depth - b.depth || a.id - b.id);
  for (const run of ordered) {
    const wf = run.workflow;
    if (run.source !== 'temporal' || !wf.workflowId) continue;
    const namespace = wf.namespace ?? 'default';
    const key = `${namespace}/${wf.workflowId}/${wf.runId ?? ''}`;
    const existing = byKey.get(key);
    if (existing) {
      existing.runs++;
      continue;
    }
    byKey.set(key, {
      namespace,
      workflowId: wf.workflowId,
      runId: wf.runId,
      workflowType: wf.workflowType,
      runs: 1,
      url: temporalWorkflowUrl(temporalUiUrl, namespace, wf.workflowId, wf.runId),
    });
  }
  return [...byKey.values()];
}

/** The lines listing the affected workflows (none when there are none). */
export function renderWorkflows(workflows: AffectedWorkflow[]): string[] {
  if (workflows.length === 0) return [];
  const lines = ['', `Temporal workflows affected (${workflows.length}):`];
  for (const wf of workflows) {
    lines.push(
      `  ${wf.workflowId}${wf.workflowType ? ` (${wf.workflowType})` : ''}: ${plural(wf.runs, 'run')}  ${wf.url}`,
    );
  }
  return lines;
}
