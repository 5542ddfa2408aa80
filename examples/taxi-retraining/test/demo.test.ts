import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '@mltrace/server';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import {
  launchBrowser,
  mlflowTrackingUri,
  nodesOutsideView,
  readTracePage,
  repoRoot,
  temporalAddress,
} from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../src/demo.js';

let home: string;
let demo: DemoResult;
let store: LineageStore;
let lines: string[];
const model = `taxi-tip-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already in this process
  }
  home = await mkdtemp(join(tmpdir(), 'mltrace-demo-'));
  lines = [];
  // The demo as the main job runs it, on the run's Temporal and MLflow servers instead of its
  // own, with the embedded store under its home.
  demo = await runDemo({
    home,
    model,
    rows: 4000,
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), MLFLOW_TRACKING_URI: mlflowTrackingUri() },
    out: (line) => lines.push(line),
  });
  store = await openPgliteStore({ dataDir: join(home, 'lineage') });
});

afterAll(async () => {
  await store?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** The workflow's components in the champion's trace, nearest first. */
const CHAMPION_COMPONENTS = [
  'promote',
  'decide',
  'evaluate',
  'register',
  'train',
  'split',
  'featuregen',
  'cleaning',
  'pin-data',
];

function byComponent(runs: RunSummary[], component: string): RunSummary[] {
  return runs.filter((run) => run.component === component);
}

describe('the taxi retraining demo', () => {
  it('promotes a champion on January, and on shifted March data records a rejection that names the metrics and the drifted features', () => {
    const [first, second] = demo.runs;
    expect(first?.result.decision.outcome).toBe('promote');
    expect(first?.result.promoted).toBe(true);
    expect(first?.result.decision.reasons.some((r) => r.startsWith('f1 '))).toBe(true);

    expect(second?.result.decision.outcome).toBe('reject');
    expect(second?.result.promoted).toBe(false);
    expect(second?.result.drift?.drifted).toEqual(expect.arrayContaining(['trip_distance', 'trip_speed']));
    const reasons = second?.result.decision.reasons ?? [];
    expect(reasons.some((r) => /^f1 \d\.\d{4} vs champion \d\.\d{4}/.test(r))).toBe(true);
    expect(reasons.some((r) => r.startsWith('trip_distance drifted beyond the limits: psi '))).toBe(true);
    expect(demo.explanation.version).toBe(first?.result.candidate.version);
  });

  it("traces the champion from the alias back to the DVC data version and the data repository's git commit", async () => {
    const [first] = demo.runs;
    const graph = await store.trace({ uri: `models:/${model}@champion` });
    const components = graph.runs.map((run) => run.component);
    for (const component of CHAMPION_COMPONENTS) {
      expect(components).toContain(component);
    }
    const dvcRun = graph.runs.find((run) => run.source === 'dvc');
    expect(dvcRun?.component).toBe('dvc add data/trips.csv');
    expect(dvcRun?.gitCommit).toBe(demo.repo.commits['2020-01']);
    expect(dvcRun?.outputs.map((p) => `${p.uri}@${p.version}`)).toEqual([
      `${first!.result.data.uri}@${first!.result.data.version}`,
    ]);
    // Every dependency edge of the chain is there: each run but the DVC one depends on another.
    const dependent = new Set(graph.dependencies.map((d) => d.run));
    for (const run of graph.runs) if (run.source !== 'dvc') expect(dependent.has(run.id)).toBe(true);

    expect(demo.explanation.missing).toEqual([]);
    expect(demo.explanation.data).toEqual([
      expect.objectContaining({ version: first!.result.data.version, commit: demo.repo.commits['2020-01'] }),
    ]);
    expect(demo.explanation.training?.mlflowRunId).toBe(first!.result.trainingRunId);
    expect(lines).toContain(`    git commit   ${demo.repo.commits['2020-01']}`);
  });

  it('records every activity of both runs once per attempt, as the workflow histories have them', async () => {
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const client = new Client({ connection });
      for (const { workflowId } of demo.runs) {
        const handle = client.workflow.getHandle(workflowId);
        const { runId } = await handle.describe();
        const history = await handle.fetchHistory();
        const scheduled = new Map<number, { activityId: string; type: string }>();
        const expected: string[] = [];
        for (const event of history.events ?? []) {
          const s = event.activityTaskScheduledEventAttributes;
          if (s)
            scheduled.set(Number(event.eventId), { activityId: s.activityId!, type: s.activityType!.name! });
          const started = event.activityTaskStartedEventAttributes;
          if (started) {
            // The history keeps the last attempt's start; every attempt before it was one too.
            const activity = scheduled.get(Number(started.scheduledEventId))!;
            for (let attempt = 1; attempt <= (started.attempt ?? 1); attempt++) {
              expected.push(`temporal:default/${workflowId}/${runId}/${activity.activityId}/${attempt}`);
            }
          }
        }
        const runs = (await store.recent({ limit: 500 })).runs.filter(
          (r) => r.workflow.workflowId === workflowId,
        );
        expect(runs.map((r) => r.runKey).sort()).toEqual([...expected].sort());
        expect(scheduled.size).toBeGreaterThanOrEqual(9);
        expect(byComponent(runs, 'train')).toHaveLength(1);
        expect(byComponent(runs, 'decide')).toHaveLength(1);
      }
    } finally {
      await connection.close();
    }
  });

  it('prints the decision with its reasons and how to look further', () => {
    const text = lines.join('\n');
    expect(text).toContain(`Why is models:/${model}@champion what it is?`);
    expect(text).toContain('Promotion decisions of');
    expect(text).toMatch(/decision {3}reject/);
    expect(text).toContain(`npx mltrace trace models:/${model}@champion`);
    expect(text).toContain('npm run demo -- --serve');
    expect(text).not.toMatch(/(^|\s)mltrace-demo --serve/);
    expect(text).toMatch(/Python worker {2}train_taxi_model, evaluate_taxi_model \(scikit-learn\)/);
    expect(text).toContain(
      `  trained    in Python (scikit-learn), MLflow run ${demo.runs[0]!.result.trainingRunId}`,
    );
  });

  it('trains and evaluates in Python (scikit-learn, on its own task queue), and the trace crosses the language boundary both ways without a gap', async () => {
    const graph = await store.trace({ uri: `models:/${model}@champion` });
    const one = (component: string) => {
      const runs = graph.runs.filter((run) => run.component === component);
      expect(runs, component).toHaveLength(1);
      return runs[0]!;
    };
    const python = { language: 'python', taskQueue: `${demo.taskQueue}-python` };
    const train = one('train');
    expect(train.metadata).toMatchObject({
      ...python,
      activityType: 'train_taxi_model',
      extra: { model: { library: 'scikit-learn', version: '1.9.1', estimator: 'LogisticRegression' } },
    });
    expect(train.workflow.taskQueue).toBe(`${demo.taskQueue}-python`);
    expect(train.outputs.map((p) => p.uri)).toEqual([`runs:/${demo.runs[0]!.result.trainingRunId}/model`]);
    const evaluate = one('evaluate');
    expect(evaluate.metadata).toMatchObject({
      ...python,
      activityType: 'evaluate_taxi_model',
      extra: { role: 'candidate', metrics: demo.runs[0]!.result.decision.metrics.candidate },
    });
    // The TypeScript steps around them ran on the TypeScript worker.
    for (const component of ['split', 'register', 'decide']) {
      expect(one(component).metadata.language, component).not.toBe('python');
      expect(one(component).workflow.taskQueue, component).toBe(demo.taskQueue);
    }
    // TypeScript -> Python -> TypeScript -> Python -> TypeScript: each hop is an edge.
    const edge = (from: string, to: string) =>
      graph.dependencies.some((d) => d.run === one(from).id && d.dependsOn === one(to).id);
    expect(edge('train', 'split')).toBe(true);
    expect(edge('register', 'train')).toBe(true);
    expect(edge('evaluate', 'register')).toBe(true);
    expect(edge('decide', 'evaluate')).toBe(true);

    // The March run's evaluations, candidate and champion, ran in Python too.
    const [, second] = demo.runs;
    const marchEvaluations = (await store.recent({ limit: 500 })).runs.filter(
      (r) => r.workflow.workflowId === second!.workflowId && r.component === 'evaluate',
    );
    expect(marchEvaluations.map((r) => (r.metadata.extra as { role: string }).role).sort()).toEqual([
      'candidate',
      'champion',
    ]);
    for (const run of marchEvaluations) expect(run.metadata).toMatchObject(python);
  });

  it("opens the champion's trace page in Chromium fitted: every run in view and readable, the subject highlighted, the decision's reasons beside it", async () => {
    const [first] = demo.runs;
    const shots = join(repoRoot(), 'test-artifacts', 'trace-page');
    await mkdir(shots, { recursive: true });
    const server = await createServer({ store, port: 0 });
    const browser = await launchBrowser();
    try {
      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 1920, height: 1080 },
      ]) {
        const page = await browser.newPage({ viewport });
        await page.goto(`${server.url}/ui/trace?uri=${encodeURIComponent(`models:/${model}@champion`)}`);
        const card = page.getByTestId('decision-card');
        await card.getByTestId('decision-reasons').waitFor();
        const drawn = await readTracePage(page);
        const runs = drawn.nodes.filter((n) => n.kind === 'run').map((n) => n.text);
        for (const component of [...CHAMPION_COMPONENTS, 'dvc add data/trips.csv']) {
          expect(runs.some((t) => t.startsWith(component))).toBe(true);
        }
        expect(nodesOutsideView(drawn).map((n) => n.text)).toEqual([]);
        for (const node of drawn.nodes) expect(node.minFontPx, node.text).toBeGreaterThanOrEqual(11);
        expect(drawn.nodes.filter((n) => n.subject).map((n) => n.text)).toEqual(
          expect.arrayContaining([
            expect.stringContaining(`${model}@champion v${first!.result.candidate.version}`),
          ]),
        );
        // Champion to data version and git commit, highlighted.
        const dvc = drawn.nodes.find((n) => n.text.startsWith('dvc add'));
        expect(dvc?.onPath).toBe(true);
        expect(dvc?.text).toContain(`git ${demo.repo.commits['2020-01']!.slice(0, 7)}`);
        expect(await card.getByTestId('decision-reasons').locator('li').allTextContents()).toEqual(
          first!.result.decision.reasons,
        );
        // The March run's rejection, which left the alias where it is.
        expect(await card.getByTestId('later-decisions').textContent()).toContain('reject');
        await page.screenshot({
          path: join(shots, `demo-champion-${viewport.width}x${viewport.height}.png`),
        });
        await page.close();
      }
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
