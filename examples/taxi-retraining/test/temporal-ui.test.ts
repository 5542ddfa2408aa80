/**
 * The lineage where Temporal users look: the demo's retraining workflow page in the real Temporal
 * Web UI (the run's dev server serves it on a free port), in real Chromium; the real Temporal CLI's
 * visibility query and `workflow metadata`; `mltrace impact` listing the workflows.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  launchBrowser,
  mlflowTrackingUri,
  repoRoot,
  temporalAddress,
  temporalUiUrl,
  toolPath,
} from '@mltrace/test-helpers';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The page's text, read in the browser (this file is typed without the DOM library). */
const pageText = () =>
  (globalThis as unknown as { document: { body: { textContent: string | null } | null } }).document.body
    ?.textContent ?? '';

import { type DemoResult, type DemoServing, runDemo } from '../src/demo.js';

const run = promisify(execFile);
const shots = join(repoRoot(), 'test-artifacts', 'temporal-ui');
const model = `taxi-tip-${randomBytes(3).toString('hex')}`;

let home: string;
let serving: DemoServing;
let demo: Promise<DemoResult>;
let lines: string[];
let browser: Browser | undefined;
const controller = new AbortController();

/** The Temporal CLI, exactly as a user runs it, against the run's server. */
async function temporal(...args: string[]): Promise<string> {
  const { stdout } = await run(toolPath('temporal'), [...args, '--address', temporalAddress()], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The champion's run (the January one: it promoted the first version). */
function championRun() {
  const champion = serving.runs.find((r) => r.result.promoted);
  if (!champion) throw new Error('the demo promoted nothing');
  return champion;
}

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already in this process
  }
  home = await mkdtemp(join(tmpdir(), 'mltrace-temporal-ui-'));
  lines = [];
  // `npm run demo -- --serve`, on the run's Temporal (with its UI) and MLflow servers.
  const ready = new Promise<DemoServing>((resolve) => {
    demo = runDemo({
      home,
      model,
      rows: 4000,
      serve: true,
      uiPort: 0,
      signal: controller.signal,
      onServing: resolve,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        MLTRACE_TEMPORAL_UI_URL: temporalUiUrl(),
        MLFLOW_TRACKING_URI: mlflowTrackingUri(),
      },
      out: (line) => lines.push(line),
    });
    demo.catch(() => resolve(undefined as never));
  });
  serving = await ready;
  if (!serving) await demo; // the demo failed: its error fails the suite
  await mkdir(shots, { recursive: true });
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  controller.abort(new Error('test done'));
  await demo?.catch(() => {});
  if (home) await rm(home, { recursive: true, force: true });
});

describe("the retraining workflow's page in the Temporal Web UI", { timeout: 180_000 }, () => {
  it('shows the lineage in the current details, the activity summaries and a working link to the mltrace run card', async () => {
    const { workflowId } = championRun();
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1800 } });
    try {
      await page.goto(`${temporalUiUrl()}/namespaces/default/workflows/${workflowId}`);
      // Activity summaries label the timeline's bars (SVG text): the activity type, then what it read.
      const timeline = () => page.evaluate(pageText);
      await expect.poll(timeline, { timeout: 60_000 }).toMatch(/retrainingRegister • ← \S+/);
      expect(await timeline()).toMatch(/cleaning • ← …\/data\/trips\.csv@[0-9a-f]{8}/);
      await page.screenshot({ path: join(shots, 'retraining-workflow-timeline.png'), fullPage: true });

      // The static summary and the current details (through the metadata query, which the demo's
      // worker answers) are on the User Metadata tab; the UI renders the markdown in a frame.
      await page.getByText('User Metadata', { exact: true }).first().click();
      const frameWith = async (needle: string) => {
        for (const frame of page.frames()) {
          const text = await frame.evaluate(pageText).catch(() => '');
          if (text.includes(needle)) return { frame, text };
        }
        return undefined;
      };
      const detailsFrame = () => frameWith('Lineage (mltrace)');
      await expect
        .poll(async () => (await detailsFrame())?.text ?? '', { timeout: 60_000 })
        .toMatch(/component runs/);
      const { frame, text } = (await detailsFrame())!;
      expect(text).toMatch(/\d+ component runs: \d+ succeeded/);
      expect(text).toContain(`registered models:/${model}/1`);
      expect(text).toContain('retrainingPinData');
      // The retraining template gives its own static summary (the plugin's client keeps it).
      expect(await frameWith(`Retrain ${model} on data/trips.csv@2020-01`)).toBeDefined();
      await page.screenshot({ path: join(shots, 'retraining-workflow-page.png'), fullPage: true });

      const link = frame.locator(`a[href^="${serving.mltraceUrl}/go/run?key="]`).first();
      const href = await link.getAttribute('href');
      expect(href).toContain(encodeURIComponent(`temporal:default/${workflowId}/`));
      // As a user does: the one-time login link the demo printed first, then the link in Temporal.
      const login = lines
        .map((line) => /\s(http:\/\/\S+\/ui\/login\?code=\S+)/.exec(line)?.[1])
        .find(Boolean);
      expect(login, lines.join('\n')).toBeDefined();
      const session = await browser!.newContext();
      const card = await session.newPage();
      try {
        await card.goto(login!);
        await card.goto(href!);
        await card.getByTestId('run-card').waitFor({ timeout: 30_000 });
        expect(new URL(card.url()).pathname).toBe('/ui/run');
        expect(await card.getByTestId('run-card').textContent()).toContain(workflowId);
        await card.screenshot({ path: join(shots, 'mltrace-run-card-from-temporal.png') });
      } finally {
        await session.close();
      }
    } finally {
      await page.close();
    }
  });

  it('`temporal workflow metadata` shows the same details', async () => {
    const { workflowId } = championRun();
    const out = await temporal('workflow', 'metadata', '--workflow-id', workflowId);
    expect(out).toContain('Lineage (mltrace)');
    expect(out).toContain(`models:/${model}/1`);
    expect(out).toContain(`${serving.mltraceUrl}/go/run?key=`);
  });

  it('a visibility query by model version, through the Temporal CLI, finds the workflow that produced it', async () => {
    const { workflowId } = championRun();
    // The command the demo prints, run as printed (the CLI reads TEMPORAL_ADDRESS).
    const query = `MltraceModelVersions = "models:/${model}/1"`;
    const printed = `temporal workflow list --query '${query}'`;
    expect(lines.join('\n')).toContain(printed);
    const { stdout: table } = await run('bash', ['-c', printed], {
      env: {
        ...process.env,
        PATH: `${dirname(toolPath('temporal'))}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: temporalAddress(),
      },
    });
    expect(table).toContain(workflowId);
    expect(table).not.toContain(serving.runs.find((r) => !r.result.promoted)!.workflowId);
    const listed = JSON.parse(
      await temporal('workflow', 'list', '--query', query, '--output', 'json'),
    ) as Array<{
      execution: { workflowId: string };
    }>;
    expect(listed.map((w) => w.execution.workflowId)).toEqual([workflowId]);
    // Every run of the pipeline read the same DVC file: MltraceInputs finds both, by URI.
    const data = championRun().result.data;
    const byInput = JSON.parse(
      await temporal(
        'workflow',
        'list',
        '--query',
        `MltraceInputs = "${data.uri}@${data.version}"`,
        '--output',
        'json',
      ),
    ) as Array<{ execution: { workflowId: string } }>;
    expect(byInput.map((w) => w.execution.workflowId)).toContain(workflowId);
  });

  it('`mltrace impact` on the data version lists the champion retraining workflow with its Temporal UI link', async () => {
    // As in a second terminal while the demo still serves: the demo owns the embedded store and
    // serves it to the CLI over its socket.
    const data = championRun().result.data;
    const { stdout } = await run('npx', ['mltrace', 'impact', `${data.uri}@${data.version}`], {
      cwd: repoRoot(),
      env: { ...process.env, MLTRACE_HOME: home, MLTRACE_TEMPORAL_UI_URL: temporalUiUrl() },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toMatch(/\nTemporal workflows affected \(\d+\):\n/);
    const { workflowId } = championRun();
    expect(stdout).toContain(`  ${workflowId} (retrainingWorkflow): `);
    const page = new RegExp(
      `${temporalUiUrl()}/namespaces/default/workflows/${workflowId}/[0-9a-f-]{36}/history`,
    );
    expect(stdout).toMatch(page);
  });
});
