import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { launchBrowser, repoRoot } from '@mltrace/test-helpers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';
import { defaultUiDir } from '../src/ui-assets.js';
import { loadPipeline, MODEL } from './test-fixtures.js';

const TOKEN = 'ui-token-0123456789abcdef';
const XSS = '<img src=x onerror=alert(1)>';
const shots = join(repoRoot(), 'test-artifacts', 'server-ui');

describe('web UI in Chromium', () => {
  let store: LineageStore;
  let server: MltraceServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (defaultUiDir() === undefined) {
      throw new Error('the web UI is not built: run `npm run build -w @mltrace/server` first');
    }
    mkdirSync(shots, { recursive: true });
    store = await openPgliteStore({ dataDir: 'memory://' });
    await loadPipeline(store);
    await store.logRun({
      component: XSS,
      runKey: 'xss',
      startedAt: new Date('2026-03-01T11:00:00Z'),
      inputs: [MODEL],
      outputs: ['file:///data/xss.csv'],
      notes: '<script>alert(2)</script>',
    });
    server = await createServer({
      store,
      port: 0,
      token: TOKEN,
      publicReads: true,
      temporalUiUrl: 'http://temporal.test:8233',
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
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

  it('opens the trace of a three-step pipeline as a DAG and shows a clicked run’s card', async () => {
    await page.goto(`${server.url}/ui/trace?uri=${encodeURIComponent(MODEL)}`);
    const nodes = page.getByTestId('run-node');
    await nodes.first().waitFor();
    expect((await nodes.locator('.dag-title').allTextContents()).sort()).toEqual([
      'clean',
      'featurize',
      'train',
    ]);
    // Pointers are labels on the runs that made them; only the subject (what the latest producer
    // made: v1, not the unversioned record the XSS run reads) and the raw input are boxes.
    expect((await page.getByTestId('pointer-node').allTextContents()).sort()).toEqual([
      'model.pkl@v1',
      'raw.csv',
    ]);
    await nodes.filter({ hasText: 'featurize' }).click();
    const card = page.getByTestId('run-card');
    await card.getByRole('heading', { name: 'featurize' }).waitFor();
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('retrain-42');
    expect(text).toContain('file:///data/clean.csv');
    expect(text).toContain('file:///data/features.csv');
    const temporal = await card.getByRole('link', { name: 'open in Temporal' }).getAttribute('href');
    expect(temporal).toBe(
      'http://temporal.test:8233/namespaces/default/workflows/retrain-42/0190b1c2-0000-7000-8000-000000000001/history',
    );
    const featurize = await store.run('p:featurize');
    expect(new URL(page.url()).searchParams.get('run')).toBe(String(featurize.id));
    await page.screenshot({ path: join(shots, 'trace-run-card.png') });

    // The URL alone reopens the same view (paste it into a ticket).
    await page.goto(page.url());
    await page.getByTestId('run-card').getByRole('heading', { name: 'featurize' }).waitFor();
  });

  it('flags an output with the token and shows it in review with ranked suspects', async () => {
    await page.goto(`${server.url}/ui/run?id=${(await store.run('p:train')).id}`);
    const card = page.getByTestId('run-card');
    await card.getByRole('heading', { name: 'train' }).waitFor();
    expect(await card.getByRole('button', { name: 'Flag' }).last().isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Token' }).click();
    await page.getByLabel('token').fill(TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByRole('button', { name: 'Token ✓' }).waitFor();

    const output = card.locator('section', { hasText: 'Outputs' }).locator('li', { hasText: 'model.pkl' });
    await output.getByRole('button', { name: 'Flag' }).click();
    await card.locator('li.flagged', { hasText: 'model.pkl' }).last().waitFor();
    expect((await store.pointers(MODEL)).find((p) => p.version === 'v1')?.flag).toBe(true);

    await page.getByRole('link', { name: 'Review' }).click();
    const flagged = page.getByTestId('flagged-list');
    await flagged.waitFor();
    expect(await flagged.textContent()).toContain('file:///models/model.pkl');
    const suspects = await page.getByTestId('suspects').textContent();
    for (const component of ['clean', 'featurize', 'train']) expect(suspects).toContain(component);
    await page.screenshot({ path: join(shots, 'review.png') });

    // Notes are editable with the token.
    await page.goto(`${server.url}/ui/run?id=${(await store.run('p:train')).id}`);
    await page.getByLabel('notes').fill('model.pkl scores 0 on Mondays');
    await page.getByRole('button', { name: 'Save notes' }).click();
    await page.getByText('saved').waitFor();
    expect((await store.run('p:train')).notes).toBe('model.pkl scores 0 on Mondays');
  });

  it('shows a component name and notes containing HTML as text, never as markup', async () => {
    await page.goto(`${server.url}/ui/trace?uri=${encodeURIComponent('file:///data/xss.csv')}`);
    const node = page.getByTestId('run-node').filter({ hasText: XSS });
    await node.waitFor();
    await node.click();
    const card = page.getByTestId('run-card');
    await card.getByRole('heading', { name: XSS }).waitFor();
    expect(await card.getByLabel('notes').inputValue()).toBe('<script>alert(2)</script>');
    await page.goto(`${server.url}/ui/history?component=${encodeURIComponent(XSS)}`);
    await page.getByRole('heading', { name: `History of ${XSS}` }).waitFor();
    expect(await page.locator('img').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'escaped-html.png') });
    expect(problems.filter((p) => p.startsWith('dialog'))).toEqual([]);
  });

  it('opens every view from its URL, under a CSP that the page never violates', async () => {
    const views: Array<[string, string]> = [
      ['/ui/', 'Lineage'],
      ['/ui/recent?component=train', 'Recent runs'],
      ['/ui/history?component=train&from=2026-03-01&to=2026-03-02', 'History of train'],
      ['/ui/components', 'Components'],
      ['/ui/review', 'Review of flagged outputs'],
      ['/ui/promotions?model=taxi', 'Promotions of taxi'],
      [`/ui/impact?uri=${encodeURIComponent('file:///data/raw.csv')}`, 'Impact of'],
    ];
    for (const [path, heading] of views) {
      const response = await page.goto(`${server.url}${path}`);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.getByRole('heading', { name: heading }).first().waitFor();
    }
    await page.getByTestId('run-node').first().waitFor();
    await page.screenshot({ path: join(shots, 'impact.png') });
    expect(problems).toEqual([]);
  });
});
