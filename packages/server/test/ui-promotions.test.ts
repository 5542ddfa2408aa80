import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MlflowClient, syncMlflow } from '@mltrace/mlflow';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { launchBrowser, mlflowTrackingUri, repoRoot } from '@mltrace/test-helpers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';
import { defaultUiDir } from '../src/ui-assets.js';

const shots = join(repoRoot(), 'test-artifacts', 'server-ui');

// A registry built on the real `mlflow server` of the global setup, synced into the store as a
// user's `mltrace sync mlflow` does, then read in Chromium.
describe('the web UI on a registry synced from MLflow', { timeout: 180_000 }, () => {
  let store: LineageStore;
  let server: MltraceServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const mlflow = new MlflowClient({ trackingUri: mlflowTrackingUri() });
  const model = `ui-promo-${randomBytes(4).toString('hex')}`;
  const sync = () => syncMlflow({ store, client: mlflow, model });
  let decisionId = 0;

  beforeAll(async () => {
    if (defaultUiDir() === undefined) {
      throw new Error('the web UI is not built: run `npm run build -w @mltrace/server` first');
    }
    mkdirSync(shots, { recursive: true });
    store = await openPgliteStore({ dataDir: 'memory://' });
    await mlflow.createRegisteredModel({ name: model, tags: { team: 'risk' } });
    for (const n of [1, 2]) {
      await mlflow.createModelVersion({ name: model, source: `s3://bucket/${model}/model-${n}` });
    }
    await mlflow.setRegisteredModelAlias(model, 'champion', '1');
    await mlflow.setModelVersionTag(model, '2', 'validated', 'yes');
    await sync();
    // The retraining workflow decides v2, then moves the alias in MLflow; a person moves the stage.
    const decide = await store.logRun({
      component: 'promote',
      runKey: `decide:${model}:2`,
      startedAt: new Date(),
    });
    decisionId = (
      await store.recordPromotionDecision({
        decisionKey: `${model}:2`,
        model,
        alias: 'champion',
        candidate: '2',
        previousChampion: '1',
        decision: 'promote',
        reasons: ['auc 0.91 beats the champion by 0.03'],
        approver: 'ana',
        runKey: decide.runKey,
        decidedAt: new Date(),
      })
    ).id;
    await mlflow.setRegisteredModelAlias(model, 'champion', '2');
    await mlflow.transitionModelVersionStage({ name: model, version: '1', stage: 'Production' });
    await sync();
    server = await createServer({
      store,
      port: 0,
      token: 'ui-promotions-token-0123456789',
      publicReads: true,
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  it('lists every promotion of a model in one list: the decision with its reasons, and the MLflow moves with from -> to, who and no recorded reason', async () => {
    await page.goto(`${server.url}/ui/promotions?model=${encodeURIComponent(model)}`);
    const items = page.getByTestId('promotion');
    await items.first().waitFor();
    const texts = await items.allTextContents();
    // Newest first. MLflow dates a stage transition; an alias move carries no time, so it is
    // dated when the sync saw it (after the transition it was synced with).
    expect(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')))).toEqual([
      'alias',
      'stage',
      'decision',
      'alias',
    ]);
    // The move the retraining workflow made points at its decision.
    expect(texts[0]).toContain('→ @champion');
    expect(texts[0]).toContain('v1 → v2');
    expect(texts[0]).toContain(`Reason: see retraining decision ${decisionId}.`);
    expect(texts[1]).toContain('→ /Production');
    expect(texts[1]).toContain('none → v1');
    expect(texts[1]).toContain('someone MLflow does not record');
    expect(texts[1]).toContain('No recorded reason.');
    expect(texts[2]).toContain('retraining decision');
    expect(texts[2]).toContain('by ana');
    expect(texts[2]).toContain('auc 0.91 beats the champion by 0.03');
    expect(texts[3]).toContain('none → v1');
    expect(texts[3]).toContain('No recorded reason.');
    await page.screenshot({ path: join(shots, 'promotions-mlflow.png') });

    // The same list the API answers, entry for entry.
    const api = (await (
      await fetch(`${server.url}/api/v1/promotions?model=${encodeURIComponent(model)}`)
    ).json()) as { promotions: Array<{ kind: string; from: string[]; to: string | null }> };
    expect(api.promotions.map((p) => `${p.kind} ${p.from.join(',')}->${p.to}`)).toEqual([
      'alias 1->2',
      'stage ->1',
      'decision 1->2',
      'alias ->1',
    ]);

    // Filter by alias or stage from the form; the URL keeps the filter.
    await page.getByLabel('Alias or stage').fill('Production');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/alias=Production/);
    await expect.poll(() => items.count()).toBe(1);
    // A time window with nothing in it.
    await page.goto(`${server.url}/ui/promotions?model=${encodeURIComponent(model)}&until=2001-01-01`);
    await page.getByText('No promotions recorded.').waitFor();
    expect(problems).toEqual([]);
  });

  it('shows the version’s and the registered model’s tags on the register run’s card, updated by a re-sync', async () => {
    const register = async () =>
      (await store.recent({ component: 'register', source: 'mlflow', limit: 50 })).runs.find(
        (r) => (r.metadata as { version?: string }).version === '2',
      )!;
    const before = await register();
    await page.goto(`${server.url}/ui/run?id=${before.id}`);
    const card = page.getByTestId('run-card');
    await card.getByTestId('mlflow-version').waitFor();
    expect(await card.getByTestId('version-tags').textContent()).toContain('validated=yes');
    expect(await card.getByTestId('model-tags').textContent()).toContain('team=risk');

    await mlflow.setRegisteredModelTag(model, 'owner', 'ana');
    await mlflow.deleteRegisteredModelTag(model, 'team');
    await mlflow.deleteModelVersionTag(model, '2', 'validated');
    expect(await sync()).toMatchObject({ versions: 0, promotions: 0, updated: 2 });
    expect((await register()).id).toBe(before.id);
    await page.reload();
    await card.getByTestId('mlflow-version').waitFor();
    expect((await card.getByTestId('model-tags').textContent())?.trim()).toBe('owner=ana');
    expect((await card.getByTestId('version-tags').textContent())?.trim()).toBe('none');
    await page.screenshot({ path: join(shots, 'register-card-tags.png') });
    expect(await sync()).toMatchObject({ versions: 0, promotions: 0, updated: 0 });
    expect(problems).toEqual([]);
  });
});
