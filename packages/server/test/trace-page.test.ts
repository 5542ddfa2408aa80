import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import {
  chainLineage,
  fanInLineage,
  launchBrowser,
  nodesOutsideView,
  readTracePage,
  repoRoot,
} from '@mltrace/test-helpers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';
import { defaultUiDir } from '../src/ui-assets.js';

// The trace page in real Chromium, on a store holding a retraining lineage shaped like the demo's
// (the demo's own champion trace is checked in examples/taxi-retraining), a fan-in of 1,001 runs
// and a chain of 1,000.
const shots = join(repoRoot(), 'test-artifacts', 'trace-page');
const CHAMPION = 'models:/taxi@champion';
const DATA = 'file:///repo/data/trips.csv';
const COMMIT = '9c88356fe7b7cd1e06cbcea7efe4c059395727ac';
const WORKFLOW = {
  namespace: 'default',
  workflowId: 'retrain-taxi-2020-01',
  runId: '0190b1c2-0000-7000-8000-00000000abcd',
  workflowType: 'retraining',
};
const REASONS = ['f1 0.5213 reaches the floor 0.4000', 'no champion holds models:/taxi@champion'];

function retrainingRuns(): ComponentRunInput[] {
  const at = (minute: number) => new Date(`2026-03-01T10:${String(minute).padStart(2, '0')}:00Z`);
  const w = 'file:///work';
  const step = (
    component: string,
    minute: number,
    inputs: ComponentRunInput['inputs'],
    outputs: ComponentRunInput['outputs'],
    extra: Partial<ComponentRunInput> = {},
  ): ComponentRunInput => ({
    component,
    runKey: `t:${component}`,
    source: 'temporal',
    startedAt: at(minute),
    endedAt: at(minute + 1),
    attempt: 1,
    gitCommit: 'a1b2c3d4e5f6',
    workflow: WORKFLOW,
    inputs,
    outputs,
    ...extra,
  });
  return [
    {
      component: 'dvc add data/trips.csv',
      runKey: 't:dvc',
      source: 'dvc',
      startedAt: at(0),
      endedAt: at(0),
      gitCommit: COMMIT,
      outputs: [{ uri: DATA, version: 'c2dcc9296b19f9e33d081b3b4cb4001b' }],
    },
    step('pin-data', 2, [{ uri: DATA, version: 'c2dcc9296b19f9e33d081b3b4cb4001b' }], [`${w}/trips.csv`]),
    step('cleaning', 4, [`${w}/trips.csv`], [`${w}/clean.csv`], {
      metadata: { checks: [{ name: 'keepsMostTrips', phase: 'after', passed: true }] },
    }),
    step('featuregen', 6, [`${w}/clean.csv`], [`${w}/features.csv`]),
    step('split', 8, [`${w}/features.csv`], [`${w}/train.csv`, `${w}/test.csv`]),
    step('train', 10, [`${w}/train.csv`, `${w}/test.csv`, `${w}/trips.csv`], ['runs:/590f2d26739943/model'], {
      attempt: 2,
    }),
    step('register', 12, ['runs:/590f2d26739943/model', `${w}/train.csv`], ['models:/taxi/1']),
    step(
      'evaluate',
      14,
      ['models:/taxi/1', `${w}/test.csv`],
      [{ uri: 'evaluation:taxi/1', version: 'c2dcc929' }],
    ),
    step(
      'decide',
      16,
      [{ uri: 'evaluation:taxi/1', version: 'c2dcc929' }, 'models:/taxi/1'],
      [{ uri: 'decision:taxi/1', version: 'promote' }],
    ),
    step(
      'promote',
      18,
      [{ uri: 'decision:taxi/1', version: 'promote' }, 'models:/taxi/1'],
      [{ uri: CHAMPION, version: '1', type: 'model' }],
    ),
  ];
}

describe('the trace page in Chromium', () => {
  let store: LineageStore;
  let server: MltraceServer;
  let browser: Browser;
  const problems: string[] = [];

  const open = async (path: string, size: { width: number; height: number }, colorScheme?: 'dark') => {
    const context = await browser.newContext({ viewport: size, ...(colorScheme ? { colorScheme } : {}) });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${server.url}${path}`);
    await page.locator('[data-node-id]').first().waitFor();
    return page;
  };
  const trace = (uri: string, extra = '') => `/ui/trace?uri=${encodeURIComponent(uri)}${extra}`;

  beforeAll(async () => {
    if (defaultUiDir() === undefined) {
      throw new Error('the web UI is not built: run `npm run build -w @mltrace/server` first');
    }
    mkdirSync(shots, { recursive: true });
    store = await openPgliteStore({ dataDir: 'memory://' });
    await store.logRuns(retrainingRuns());
    await store.recordPromotionDecision({
      decisionKey: 'taxi/1',
      model: 'taxi',
      candidate: '1',
      previousChampion: null,
      alias: 'champion',
      decision: 'promote',
      reasons: REASONS,
      policy: { primaryMetric: { name: 'f1', direction: 'maximize', minValue: 0.4 }, requireApproval: true },
      approver: 'ana@example.com',
      approvalComment: 'looks good',
      runKey: 't:decide',
      decidedAt: new Date('2026-03-01T10:17:00Z'),
    });
    await store.recordPromotionDecision({
      decisionKey: 'taxi/2',
      model: 'taxi',
      candidate: '2',
      previousChampion: '1',
      alias: 'champion',
      decision: 'reject',
      reasons: ['f1 0.1684 misses the floor 0.4000'],
      decidedAt: new Date('2026-04-01T10:17:00Z'),
    });
    await store.logRuns(fanInLineage({ pipelines: 50, steps: 20, model: 'file:///fan/model.pkl' }));
    await store.logRuns(
      chainLineage({ length: 1000, components: 20, output: 'file:///chain/final.parquet' }),
    );
    server = await createServer({ store, port: 0, temporalUiUrl: 'http://temporal.test:8233' });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  for (const size of [
    { width: 1280, height: 800 },
    { width: 1920, height: 1080 },
  ]) {
    it(`opens a retraining trace at ${size.width}x${size.height} with every run in view, readable, the subject highlighted and the decision's reasons beside it`, async () => {
      const page = await open(trace(CHAMPION), size);
      await page.getByTestId('decision-card').waitFor();
      const drawn = await readTracePage(page);
      expect(drawn.nodes.filter((n) => n.kind === 'run')).toHaveLength(10);
      expect(nodesOutsideView(drawn).map((n) => n.text)).toEqual([]);
      for (const node of drawn.nodes) expect(node.minFontPx, node.text).toBeGreaterThanOrEqual(11);
      // The subject: the alias and the run that set it.
      const subject = drawn.nodes.filter((n) => n.subject).map((n) => n.text);
      expect(subject).toEqual(
        expect.arrayContaining([
          expect.stringContaining('taxi@champion v1'),
          expect.stringContaining('promote'),
        ]),
      );
      // The path from the model down to the data version and its git commit.
      const path = drawn.nodes.filter((n) => n.onPath).map((n) => n.text);
      expect(path.find((t) => t.startsWith('dvc add'))).toContain(`git ${COMMIT.slice(0, 7)}`);
      expect(path.some((t) => t.startsWith('train'))).toBe(true);
      // The decision, with its reasons, policy and approver.
      const card = page.getByTestId('decision-card');
      const text = (await card.textContent()) ?? '';
      for (const reason of REASONS) expect(text).toContain(reason);
      expect(text).toContain('ana@example.com');
      expect(text).toContain('primary metric: f1');
      expect(await card.getByTestId('later-decisions').textContent()).toContain('reject');
      await page.screenshot({ path: join(shots, `retraining-${size.width}x${size.height}.png`) });
      await page.context().close();
    });
  }

  it('opens a run’s card on click: status, attempt, times, inputs, outputs, checks and its workflow in Temporal', async () => {
    const page = await open(trace(CHAMPION), { width: 1280, height: 800 });
    await page.locator('[data-testid="run-node"]', { hasText: 'cleaning' }).click();
    const card = page.getByTestId('run-card');
    await card.getByRole('heading', { name: 'cleaning' }).waitFor();
    const text = (await card.textContent()) ?? '';
    for (const expected of [
      'succeeded',
      'Started',
      'Ended',
      'Attempt',
      'file:///work/trips.csv',
      'file:///work/clean.csv',
    ]) {
      expect(text).toContain(expected);
    }
    expect(await card.getByTestId('run-checks').textContent()).toContain('✓ keepsMostTrips');
    expect(await card.getByRole('link', { name: 'open in Temporal' }).getAttribute('href')).toBe(
      `http://temporal.test:8233/namespaces/default/workflows/${WORKFLOW.workflowId}/${WORKFLOW.runId}/history`,
    );
    const cleaning = await store.run('t:cleaning');
    expect(new URL(page.url()).searchParams.get('run')).toBe(String(cleaning.id));
    await page.screenshot({ path: join(shots, 'run-card.png') });
    await page.context().close();
  });

  it('moves along the pipeline with the keyboard: Tab into the graph, arrows upstream, Enter opens the card, Escape closes it', async () => {
    const page = await open(trace(CHAMPION), { width: 1280, height: 800 });
    // The subject holds the graph's one tab stop: Tab from the page's start lands on it.
    expect(await page.locator('[data-node-id][tabindex="0"]').count()).toBe(1);
    const active = () =>
      page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.nodeId ?? '');
    for (let i = 0; i < 40 && (await active()) === ''; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('taxi@champion');
    const focused = () => page.evaluate(() => document.activeElement?.textContent ?? '');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focused).toContain('promote');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focused).toContain('decide');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focused).toContain('evaluate');
    await page.keyboard.press('ArrowRight');
    await expect.poll(focused).toContain('decide');
    await page.keyboard.press('Enter');
    await page.getByTestId('run-card').getByRole('heading', { name: 'decide' }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('run-card').count()).toBe(0);
    await page.context().close();
  });

  it('follows the system’s dark theme, and the toggle switches and remembers it', async () => {
    const background = (page: Page) =>
      page.evaluate(() => getComputedStyle(document.querySelector('[data-testid="graph"]')!).backgroundColor);
    const dark = await open(trace(CHAMPION), { width: 1280, height: 800 }, 'dark');
    await dark.getByTestId('decision-card').waitFor();
    expect(await background(dark)).toBe('rgb(24, 32, 42)');
    await dark.screenshot({ path: join(shots, 'retraining-dark.png') });
    // system (dark) -> dark -> light
    await dark.getByRole('button', { name: /^Theme: system/ }).click();
    await dark.getByRole('button', { name: /^Theme: dark/ }).click();
    await expect.poll(() => background(dark)).toBe('rgb(255, 255, 255)');
    await dark.reload();
    await dark.locator('[data-node-id]').first().waitFor();
    expect(await background(dark)).toBe('rgb(255, 255, 255)');
    expect(await dark.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await dark.context().close();
  });

  it('folds 50 runs of one step into a group with a count, and expands it on click', async () => {
    const page = await open(trace('file:///fan/model.pkl'), { width: 1280, height: 800 });
    const drawn = await readTracePage(page);
    const groups = drawn.nodes.filter((n) => n.kind === 'group');
    expect(groups).toHaveLength(20);
    expect(groups.find((g) => g.text.startsWith('step-19'))?.text).toContain('×50');
    expect(nodesOutsideView(drawn)).toEqual([]);
    for (const node of drawn.nodes) expect(node.minFontPx, node.text).toBeGreaterThanOrEqual(11);
    await page.screenshot({ path: join(shots, 'fan-in-grouped.png') });
    await page.locator('[data-testid="group-node"]', { hasText: 'step-19' }).click();
    await expect
      .poll(() => page.locator('[data-testid="run-node"]', { hasText: 'step-19' }).count())
      .toBe(50);
    expect(new URL(page.url()).searchParams.get('expand')).toBe('step-19');
    await page.getByRole('button', { name: 'Group again' }).click();
    await expect.poll(() => page.locator('[data-testid="run-node"]', { hasText: 'step-19' }).count()).toBe(0);
    await page.context().close();
  });

  it('draws a 1,000-run chain around the subject at a readable zoom, says what it left out, and shows all on request', async () => {
    const page = await open(trace('file:///chain/final.parquet', '&depth=2000'), {
      width: 1280,
      height: 800,
    });
    const note = page.getByTestId('left-out');
    await note.waitFor();
    const text = (await note.textContent()) ?? '';
    const [, shown, left] =
      /Showing the (\d+) runs nearest the subject .*; (\d+) runs further upstream are left out/.exec(text) ??
      [];
    expect(Number(shown) + Number(left)).toBe(1000);
    expect(Number(shown)).toBeGreaterThan(300);
    // Where the picture stops, a link traces on from there.
    const boundary = `s${1000 - Number(shown) - 1}.parquet`;
    expect(await note.getByRole('link', { name: boundary }).getAttribute('href')).toBe(
      `/ui/trace?uri=${encodeURIComponent(`file:///chain/${boundary}`)}`,
    );
    expect(await page.getByTestId('zoomed-note').textContent()).toContain('press F');
    const drawn = await readTracePage(page);
    const subject = drawn.nodes.find((n) => n.subject && n.kind === 'pointer');
    expect(subject?.text).toContain('final.parquet');
    expect(nodesOutsideView(drawn).map((n) => n.id)).not.toContain(subject?.id);
    for (const node of drawn.nodes) expect(node.minFontPx, node.text).toBeGreaterThanOrEqual(11);
    await page.screenshot({ path: join(shots, 'chain-1000-around-subject.png') });

    // Interactive: a click on a run opens its card.
    const run = page.locator('[data-testid="run-node"]').first();
    const component = (await run.locator('.dag-title').textContent())?.trim() ?? '';
    await run.click();
    await page.getByTestId('run-card').getByRole('heading', { name: component }).waitFor();

    await note.getByRole('link', { name: 'Show all 1000 runs' }).click();
    await expect.poll(() => page.getByTestId('left-out').count()).toBe(0);
    expect(await page.getByTestId('graph-summary').textContent()).toContain('1000 runs');
    await page.keyboard.press('Escape');
    await page.locator('[data-node-id]').first().focus();
    await page.keyboard.press('f');
    await expect.poll(async () => (await readTracePage(page)).zoom).toBeLessThan(0.2);
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
