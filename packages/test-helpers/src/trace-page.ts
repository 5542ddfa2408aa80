import type { Page } from 'playwright-core';

/** One node of the trace page as the browser drew it. */
export interface DrawnNode {
  id: string;
  kind: 'run' | 'group' | 'pointer';
  text: string;
  /** Its box in CSS pixels of the window. */
  box: { x: number; y: number; width: number; height: number };
  /** The smallest text in it, in CSS pixels on the screen (font size times the graph's zoom). */
  minFontPx: number;
  subject: boolean;
  onPath: boolean;
}

/** What {@link readTracePage} measured. */
export interface DrawnTracePage {
  window: { width: number; height: number };
  /** The graph's box in the window. */
  graph: { x: number; y: number; width: number; height: number };
  zoom: number;
  nodes: DrawnNode[];
}

/**
 * Reads the trace page's graph as drawn: every node's box, its smallest text on screen and
 * whether it is marked as the subject or on the highlighted path. Wait for the graph first.
 */
export async function readTracePage(page: Page): Promise<DrawnTracePage> {
  return (await page.evaluate(READ_TRACE_PAGE)) as DrawnTracePage;
}

// Runs in the page (as source text: this package is compiled without the DOM's types).
const READ_TRACE_PAGE = `(() => {
  const viewport = document.querySelector('.react-flow__viewport');
  const graph = document.querySelector('[data-testid="graph"]');
  if (!viewport || !graph) throw new Error('no graph on the page');
  const zoom = new DOMMatrixReadOnly(getComputedStyle(viewport).transform).a;
  const rect = (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  };
  const nodes = [...document.querySelectorAll('[data-node-id]')].map((el) => {
    let min = Infinity;
    for (const e of [el, ...el.querySelectorAll('*')]) {
      const hasText = [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      if (hasText) min = Math.min(min, parseFloat(getComputedStyle(e).fontSize));
    }
    const testId = el.dataset.testid || '';
    return {
      id: el.dataset.nodeId || '',
      kind: testId === 'group-node' ? 'group' : testId === 'pointer-node' ? 'pointer' : 'run',
      text: el.textContent || '',
      box: rect(el),
      minFontPx: min * zoom,
      subject: el.classList.contains('subject'),
      onPath: el.classList.contains('on-path'),
    };
  });
  return { window: { width: innerWidth, height: innerHeight }, graph: rect(graph), zoom, nodes };
})()`;

/** The nodes of a drawn page that are not wholly inside both the window and the graph's box. */
export function nodesOutsideView(drawn: DrawnTracePage): DrawnNode[] {
  const g = drawn.graph;
  return drawn.nodes.filter(({ box }) => {
    const inWindow =
      box.x >= 0 &&
      box.y >= 0 &&
      box.x + box.width <= drawn.window.width &&
      box.y + box.height <= drawn.window.height;
    const inGraph =
      box.x >= g.x &&
      box.y >= g.y &&
      box.x + box.width <= g.x + g.width &&
      box.y + box.height <= g.y + g.height;
    return !(inWindow && inGraph);
  });
}

/** A run of a generated lineage, in the shape `store.logRuns` takes. */
export interface GeneratedRun {
  component: string;
  runKey: string;
  startedAt: Date;
  endedAt: Date;
  inputs: string[];
  outputs: string[];
}

/**
 * `pipelines` parallel pipelines of `steps` steps each (components `step-0`...), whose last
 * outputs all feed one `train` run that writes `model`: `pipelines * steps + 1` runs in the
 * model's trace, many of one component in each column.
 */
export function fanInLineage(options: { pipelines: number; steps: number; model: string; prefix?: string }) {
  const prefix = options.prefix ?? 'fan';
  const base = Date.parse('2026-01-01T00:00:00Z');
  const runs: GeneratedRun[] = [];
  const out = (p: number, s: number) => `file:///${prefix}/p${p}/s${s}.parquet`;
  for (let p = 0; p < options.pipelines; p++) {
    for (let s = 0; s < options.steps; s++) {
      const at = base + (p * options.steps + s) * 1_000;
      runs.push({
        component: `step-${s}`,
        runKey: `${prefix}:${p}:${s}`,
        startedAt: new Date(at),
        endedAt: new Date(at + 500),
        inputs: [s === 0 ? `file:///${prefix}/raw/p${p}.csv` : out(p, s - 1)],
        outputs: [out(p, s)],
      });
    }
  }
  const end = base + options.pipelines * options.steps * 1_000;
  runs.push({
    component: 'train',
    runKey: `${prefix}:train`,
    startedAt: new Date(end),
    endedAt: new Date(end + 500),
    inputs: Array.from({ length: options.pipelines }, (_, p) => out(p, options.steps - 1)),
    outputs: [options.model],
  });
  return runs;
}

/** One chain of `length` runs (components `stage-0`... cycling through `components` names). */
export function chainLineage(options: {
  length: number;
  components?: number;
  output: string;
  prefix?: string;
}) {
  const prefix = options.prefix ?? 'chain';
  const base = Date.parse('2026-02-01T00:00:00Z');
  const names = options.components ?? options.length;
  const runs: GeneratedRun[] = [];
  for (let i = 0; i < options.length; i++) {
    runs.push({
      component: `stage-${i % names}`,
      runKey: `${prefix}:${i}`,
      startedAt: new Date(base + i * 1_000),
      endedAt: new Date(base + i * 1_000 + 500),
      inputs: [i === 0 ? `file:///${prefix}/raw.csv` : `file:///${prefix}/s${i - 1}.parquet`],
      outputs: [i === options.length - 1 ? options.output : `file:///${prefix}/s${i}.parquet`],
    });
  }
  return runs;
}
