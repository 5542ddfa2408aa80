/**
 * The UI benchmark: the trace page in real Chromium, ours beside the page built from a baseline
 * ref (default `main`: `git archive` of its packages/server/ui, built with vite into bench/dist),
 * both served by the same server code on one store, interleaved over rounds, medians. Per
 * lineage it measures, from navigation start:
 *
 * - first contentful paint (the browser's own entry);
 * - graph painted: the first frame in which the graph's nodes are visible;
 * - interactive: the end of the last long task (> 50 ms) once the graph is painted, after a
 *   quiet second (the main thread free to answer input);
 * - and, once interactive, the frame latency of a click on a run and of a wheel zoom.
 *
 * Writes bench/results/ui.md and .json (`ratio_ours_vs_<baseline>_...` = ours / baseline: below
 * 1 is faster).
 *
 *   npm run bench -- ui [--rounds 3] [--baseline main] [--only <lineage>] [--no-write]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createServer, type MltraceServer } from '@mltrace/server';
import { openPgliteStore } from '@mltrace/store/pglite';
import { chainLineage, fanInLineage, launchBrowser } from '@mltrace/test-helpers';
import type { Browser } from 'playwright-core';
import { median, type Row, writeReport } from '../lib/report.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string', default: 'main' },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const rounds = Number.parseInt(flags.rounds ?? '3', 10);
const baselineRef = flags.baseline ?? 'main';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const oursUi = join(root, 'packages', 'server', 'dist', 'ui');
const WIDTH = 1280;
const HEIGHT = 800;

/** Builds the baseline ref's UI with vite; returns its dist directory. */
function buildBaseline(ref: string): string {
  const dir = join(root, 'bench', 'dist', 'ui-baseline');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', ref, 'packages/server/ui', 'tsconfig.base.json'], {
    cwd: root,
    maxBuffer: 64 << 20,
  });
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
  const config = join(dir, 'packages', 'server', 'ui', 'vite.config.ts');
  const build = spawnSync('npx', ['vite', 'build', '--config', config], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`vite build of ${ref}'s UI failed`);
  return join(dir, 'packages', 'server', 'dist', 'ui');
}

function bundleBytes(dir: string): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  for (const name of readdirSync(join(dir, 'assets'))) {
    const body = readFileSync(join(dir, 'assets', name));
    raw += body.length;
    gzip += gzipSync(body).length;
  }
  return { raw, gzip };
}

// Installed before any page script: records long tasks and the first frame with visible nodes.
const PROBE = `(() => {
  const bench = (window.__bench = { longtasks: [], graphAt: null, nodes: 0 });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) bench.longtasks.push(e.startTime + e.duration);
  }).observe({ type: 'longtask', buffered: true });
  const poll = () => {
    const shown = (node) => getComputedStyle(node).visibility !== 'hidden' && node.getBoundingClientRect().width > 0;
    if ([...document.querySelectorAll('.react-flow__node')].some(shown)) {
      requestAnimationFrame(() => {
        bench.graphAt = performance.now();
        bench.nodes = document.querySelectorAll('.react-flow__node').length;
      });
      return;
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})()`;

// Once interactive: the time from an input to the frame after it (two animation frames).
const INTERACT = `(async () => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const run = document.querySelector('[data-testid="run-node"]');
  let click = -1;
  if (run) {
    const t0 = performance.now();
    run.click();
    await frame();
    click = performance.now() - t0;
  }
  const pane = document.querySelector('.react-flow__pane');
  if (!pane) return { click, wheel: -1 };
  const r = pane.getBoundingClientRect();
  const wheels = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    pane.dispatchEvent(new WheelEvent('wheel', { deltaY: i % 2 ? 120 : -120, clientX: r.x + r.width / 2, clientY: r.y + r.height / 2, bubbles: true, cancelable: true }));
    await frame();
    wheels.push(performance.now() - t0);
  }
  wheels.sort((a, b) => a - b);
  return { click, wheel: wheels[2] };
})()`;

interface Sample {
  fcp: number;
  graph: number;
  interactive: number;
  click: number;
  wheel: number;
  nodes: number;
  /** Uncaught errors of the page (a crashed page still counts, and the report says so). */
  errors: string[];
}

async function measure(browser: Browser, url: string): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.addInitScript(PROBE);
  await page.goto(url);
  // Polled (not waitForFunction: the page's CSP forbids the eval it uses).
  // A page whose script died before painting the graph counts as crashed (every figure -1).
  let crashedAt: number | undefined;
  for (const until = Date.now() + 120_000; ; await page.waitForTimeout(50)) {
    if (await page.evaluate('window.__bench.graphAt !== null')) break;
    if (errors.length > 0) crashedAt ??= Date.now();
    if (crashedAt !== undefined && Date.now() - crashedAt > 5_000) {
      await context.close();
      return { fcp: -1, graph: -1, interactive: -1, click: -1, wheel: -1, nodes: -1, errors };
    }
    if (Date.now() > until) throw new Error(`${url}: no graph after 120 s`);
  }
  // Quiet: no long task ended in the last second (or 60 s passed).
  const started = Date.now();
  for (;;) {
    const quiet = (await page.evaluate(
      'performance.now() - Math.max(window.__bench.graphAt, ...window.__bench.longtasks) > 1000',
    )) as boolean;
    if (quiet || Date.now() - started > 60_000) break;
    await page.waitForTimeout(200);
  }
  const timing = (await page.evaluate(`(() => {
    const b = window.__bench;
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { fcp: fcp ? fcp.startTime : -1, graph: b.graphAt, interactive: Math.max(b.graphAt, ...b.longtasks), nodes: b.nodes };
  })()`)) as Omit<Sample, 'click' | 'wheel'>;
  const input = (await page.evaluate(INTERACT)) as { click: number; wheel: number };
  await context.close();
  return { ...timing, ...input, errors };
}

const baselineUi = buildBaseline(baselineRef);
const store = await openPgliteStore({ dataDir: 'memory://' });
const workloads = [
  { name: 'pipeline-10', runs: 10, uri: 'file:///p10/final.parquet', depth: '' },
  { name: 'fan-in-1001', runs: 1001, uri: 'file:///fan/model.pkl', depth: '' },
  { name: 'chain-1000', runs: 1000, uri: 'file:///chain/final.parquet', depth: '2000' },
  // Ours told to draw every run (?all=1; the baseline ignores the parameter and always does).
  { name: 'chain-1000-all', runs: 1000, uri: 'file:///chain/final.parquet', depth: '2000', all: true },
];
console.log('loading the lineages...');
await store.logRuns(chainLineage({ length: 10, output: 'file:///p10/final.parquet', prefix: 'p10' }));
await store.logRuns(fanInLineage({ pipelines: 50, steps: 20, model: 'file:///fan/model.pkl' }));
await store.logRuns(chainLineage({ length: 1000, components: 20, output: 'file:///chain/final.parquet' }));

const servers: Record<'ours' | 'baseline', MltraceServer> = {
  ours: await createServer({ store, port: 0, uiDir: oursUi }),
  baseline: await createServer({ store, port: 0, uiDir: baselineUi }),
};
const browser = await launchBrowser();
const samples = new Map<string, Sample[]>();
try {
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round}/${rounds}`);
    for (const w of workloads.filter((x) => !flags.only || x.name === flags.only)) {
      // Interleaved, and the order flips each round.
      const order: Array<'ours' | 'baseline'> = round % 2 ? ['baseline', 'ours'] : ['ours', 'baseline'];
      for (const variant of order) {
        const query = new URLSearchParams({
          uri: w.uri,
          ...(w.depth ? { depth: w.depth } : {}),
          ...('all' in w ? { all: '1' } : {}),
        });
        const sample = await measure(browser, `${servers[variant].url}/ui/trace?${query}`);
        const key = `${w.name}/${variant}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.log(
          `  ${key}: graph ${sample.graph.toFixed(0)} ms, interactive ${sample.interactive.toFixed(0)} ms`,
        );
      }
    }
  }
} finally {
  await browser.close();
  await servers.ours.close();
  await servers.baseline.close();
  await store.close();
}

const rows: Row[] = [];
const figures: Record<string, number> = { rounds, viewport_width: WIDTH, viewport_height: HEIGHT };
// -1 marks what could not be measured (the page had crashed): left out of the medians.
const med = (list: Sample[], k: Exclude<keyof Sample, 'errors'>) => {
  const values = list.map((s) => s[k]).filter((v) => v >= 0);
  return values.length ? median(values) : Number.NaN;
};
const crashes: string[] = [];
const cell = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : '');
const bytes = { ours: bundleBytes(oursUi), baseline: bundleBytes(baselineUi) };
for (const w of workloads.filter((x) => samples.has(`${x.name}/ours`))) {
  const ours = samples.get(`${w.name}/ours`)!;
  const base = samples.get(`${w.name}/baseline`)!;
  for (const metric of ['fcp', 'graph', 'interactive', 'click', 'wheel'] as const) {
    const o = med(ours, metric);
    const b = med(base, metric);
    const put = (name: string, value: number) => {
      if (Number.isFinite(value)) figures[name] = value;
    };
    put(`${w.name}_${metric}_ms_ours`, o);
    put(`${w.name}_${metric}_ms_${baselineRef}`, b);
    put(`ratio_ours_vs_${baselineRef}_${w.name}_${metric}`, o / b);
  }
  figures[`${w.name}_nodes_ours`] = med(ours, 'nodes');
  figures[`${w.name}_nodes_${baselineRef}`] = med(base, 'nodes');
  for (const [variant, list] of [
    ['ours', ours],
    [baselineRef, base],
  ] as const) {
    const errors = [...new Set(list.flatMap((s) => s.errors))];
    if (errors.length) {
      crashes.push(
        `${w.name}, ${variant}'s page: ${errors.join('; ')} (in ${list.filter((s) => s.errors.length).length} of ${list.length} loads)`,
      );
    }
    figures[`${w.name}_page_errors_${variant}`] = list.filter((s) => s.errors.length).length;
    figures[`${w.name}_crashed_before_paint_${variant}`] = list.filter((s) => s.graph < 0).length;
    rows.push({
      lineage: `${w.name} (${w.runs} runs)`,
      page: errors.length ? `${variant} (page error)` : variant,
      'nodes in the DOM': med(list, 'nodes'),
      'first paint ms': cell(med(list, 'fcp'), 0),
      'graph painted ms': cell(med(list, 'graph'), 0),
      'interactive ms': cell(med(list, 'interactive'), 0),
      'click frame ms': cell(med(list, 'click'), 1),
      'zoom frame ms': cell(med(list, 'wheel'), 1),
    });
  }
  rows.push({
    lineage: `${w.name}: ours / ${baselineRef}`,
    page: 'ratio',
    'first paint ms': cell(med(ours, 'fcp') / med(base, 'fcp'), 2),
    'graph painted ms': cell(med(ours, 'graph') / med(base, 'graph'), 2),
    'interactive ms': cell(med(ours, 'interactive') / med(base, 'interactive'), 2),
    'click frame ms': cell(med(ours, 'click') / med(base, 'click'), 2),
    'zoom frame ms': cell(med(ours, 'wheel') / med(base, 'wheel'), 2),
  });
}
figures.bundle_bytes_ours = bytes.ours.raw;
figures[`bundle_bytes_${baselineRef}`] = bytes.baseline.raw;
figures.bundle_gzip_bytes_ours = bytes.ours.gzip;
figures[`bundle_gzip_bytes_${baselineRef}`] = bytes.baseline.gzip;
figures[`ratio_ours_vs_${baselineRef}_bundle_gzip`] = bytes.ours.gzip / bytes.baseline.gzip;

const report = {
  title: `UI benchmark: the trace page, ours vs ${baselineRef}'s, in Chromium at ${WIDTH}x${HEIGHT}`,
  notes: [
    `${rounds} rounds, interleaved (order flipped each round), medians; one PGlite store and the same server code for both pages; headless Chromium (software rendering, --disable-gpu).`,
    'Times are from navigation start. "graph painted": the first frame with the graph\'s nodes visible. "interactive": the end of the last long task (> 50 ms) at or after that frame, once the main thread was quiet for a second. "click frame" / "zoom frame": from a click on a run / a wheel event to the second animation frame after it.',
    '"nodes in the DOM": at the first paint; ours renders only the boxes in view (React Flow onlyRenderVisibleElements) past 150 boxes.',
    `Ratios are ours / ${baselineRef}: below 1 is faster. ${baselineRef}'s page draws every run and pointer (dagre layout, React Flow fitView); ours draws runs only, groups runs of one step, and over 400 boxes keeps the runs nearest the subject (chain-1000: about 400 of 1000, with a note and a "Show all" link).`,
    ...(crashes.length
      ? [
          `Uncaught page errors: ${crashes.join(' | ')}. A load that crashed before painting the graph is left out of that page's medians (counted in the JSON as crashed_before_paint); one that crashed after has no click or zoom figure (blank cell).`,
        ]
      : []),
    `Bundle: ours ${bytes.ours.raw} B (${bytes.ours.gzip} B gzip), ${baselineRef} ${bytes.baseline.raw} B (${bytes.baseline.gzip} B gzip); ours drops dagre for a hand-written layered layout.`,
  ],
  rows,
  figures,
};
if (flags['no-write']) console.log(JSON.stringify(report, null, 2));
else writeReport('ui', report);
