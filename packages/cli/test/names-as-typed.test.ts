/**
 * Names as users type them, and no false staleness (issue 21, findings 3 and 4), on a real DVC
 * repository with real GTO tags and a real MLflow registry: `gto:NAME@vX.Y.Z`, `gto:NAME#STAGE`,
 * `models:/NAME@ALIAS` and `models:/NAME/3` resolve as typed; a content version goes with
 * `--version`; an alias or a stage without a version is its current holder, with the earlier
 * holders upstream; and no registry or GTO run warns that a newer version exists.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { MlflowClient } from '@mltrace/mlflow';
import { createDvcWorkspace, type DvcWorkspace, mlflowTrackingUri, toolPath } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from './test-cli.js';

interface TraceJson {
  roots: Array<{ uri: string; version: string }>;
  runs: Array<{
    component: string;
    gitCommit: string | null;
    stale: string[];
    metadata: Record<string, unknown>;
  }>;
}

describe('pointers as users type them, on real DVC, GTO and MLflow', { timeout: 300_000 }, () => {
  let ws: Workspace;
  let repo: DvcWorkspace;
  const commits: Record<string, string> = {};
  let modelHash: Record<string, string>;

  beforeAll(async () => {
    ws = await workspace();
    repo = await createDvcWorkspace();
    const gto = (...args: string[]) =>
      execa(join(dirname(toolPath('dvc')), 'gto'), args, {
        cwd: repo.dir,
        env: { ...process.env, ...repo.env },
      });
    await repo.writeFile('data/raw.csv', 'id,amount\n1,10\n');
    await repo.dvc('add', 'data/raw.csv');
    await repo.writeFile('src/train.py', 'print("train")\n');
    await repo.writeFile(
      'dvc.yaml',
      'stages:\n  train:\n    cmd: cat data/raw.csv src/train.py > model.pkl\n    deps:\n      - data/raw.csv\n      - src/train.py\n    outs:\n      - model.pkl\nartifacts:\n  fraud:\n    path: model.pkl\n    type: model\n',
    );
    await repo.dvc('repro', '-q');
    commits.v1 = await repo.commit('fraud model v1');
    await gto('register', 'fraud', commits.v1, '--version', 'v1.0.0');
    await repo.writeFile('data/raw.csv', 'id,amount\n1,10\n2,25\n');
    await repo.dvc('add', 'data/raw.csv');
    await repo.dvc('repro', '-q');
    commits.v2 = await repo.commit('fraud model v1.1');
    await gto('register', 'fraud', commits.v2, '--version', 'v1.1.0');
    // prod gets the older version first, after v1.1.0 exists, then the newer one.
    await gto('assign', 'fraud', '--version', 'v1.0.0', '--stage', 'prod');
    await gto('assign', 'fraud', '--version', 'v1.1.0', '--stage', 'prod');
    const hashAt = async (commit: string) =>
      /md5: ([0-9a-f]{32})\n\s+size: \d+\n\s+hash: md5\n\s+path: model.pkl|path: model.pkl\n\s+hash: md5\n\s+md5: ([0-9a-f]{32})/
        .exec(await repo.git('show', `${commit}:dvc.lock`))
        ?.slice(1)
        .find(Boolean) ?? '';
    modelHash = { v1: await hashAt(commits.v1), v2: await hashAt(commits.v2) };
    expect(modelHash.v1).toMatch(/^[0-9a-f]{32}$/);
    const sync = await ws.run(['sync', 'dvc', repo.dir]);
    expect(sync.code, sync.stderr + sync.stdout).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await repo?.cleanup();
    await ws?.remove();
    await removeTemplate();
  });

  it('traces gto:NAME@vX.Y.Z as GTO prints it, down to the stage run of its commit', async () => {
    const out = await ws.ok('trace', 'gto:fraud@v1.1.0');
    expect(out.split('\n')[0]).toBe(`trace of gto:fraud@v1.1.0@${modelHash.v2}: 3 runs`);
    const graph = await ws.json<TraceJson>('trace', 'gto:fraud@v1.1.0');
    expect(graph.runs.map((r) => [r.component, r.gitCommit])).toEqual([
      ['gto fraud', commits.v2],
      ['train', commits.v2],
      ['dvc add data/raw.csv', commits.v2],
    ]);
    // The same with the content version given apart, or after one more @.
    expect(await ws.ok('trace', 'gto:fraud@v1.1.0', '--version', modelHash.v2!)).toBe(out);
    expect(await ws.ok('trace', `gto:fraud@v1.1.0@${modelHash.v2}`)).toBe(out);
    const wrong = await ws.run(['trace', 'gto:fraud@v1.1.0', '--version', modelHash.v1!]);
    expect(wrong.code).toBe(3);
  });

  it('traces gto:NAME#STAGE from its current holder, through the earlier holder, with no stale warning', async () => {
    const graph = await ws.json<TraceJson>('trace', 'gto:fraud#prod');
    expect(graph.roots).toEqual([expect.objectContaining({ uri: 'gto:fraud#prod', version: 'v1.1.0' })]);
    const tags = graph.runs
      .filter((r) => r.component === 'gto fraud')
      .map((r) => (r.metadata.gto as { tag: string }).tag);
    expect(tags).toEqual(
      expect.arrayContaining(['fraud#prod#2', 'fraud@v1.1.0', 'fraud#prod#1', 'fraud@v1.0.0']),
    );
    expect(graph.runs.flatMap((r) => r.stale)).toEqual([]);
    const text = await ws.ok('trace', 'gto:fraud#prod');
    expect(text.split('\n')[0]).toMatch(/^trace of gto:fraud#prod@v1\.1\.0: \d+ runs$/);
    expect(text).not.toContain('⚠');
    const earlier = await ws.json<TraceJson>('trace', 'gto:fraud#prod@v1.0.0');
    expect(earlier.roots).toEqual([expect.objectContaining({ uri: 'gto:fraud#prod', version: 'v1.0.0' })]);
  });

  it('takes a content version with --version for a DVC output', async () => {
    const graph = await ws.json<TraceJson>('trace', `${repo.dir}/model.pkl`, '--version', modelHash.v1!);
    expect(graph.runs[0]).toMatchObject({ component: 'train', gitCommit: commits.v1 });
    expect(graph.runs.flatMap((r) => r.stale)).toEqual([]);
  });

  describe('an MLflow registry', () => {
    let model: string;
    const env = () => ({ MLFLOW_TRACKING_URI: mlflowTrackingUri() });

    beforeAll(async () => {
      const client = new MlflowClient({ trackingUri: mlflowTrackingUri() });
      model = `fraud-${randomBytes(4).toString('hex')}`;
      const experiment = await client.createExperiment(`${model}-experiment`);
      await client.createRegisteredModel({ name: model });
      const sync = async () => {
        const result = await ws.run(['sync', 'mlflow', '--model', model], { env: env() });
        expect(result.code, result.stderr).toBe(0);
      };
      for (const v of [1, 2, 3]) {
        const run = await client.createRun({ experimentId: experiment, runName: `train-${v}` });
        await client.updateRun({ runId: run.info.runId, status: 'FINISHED', endTime: Date.now() });
        await client.createModelVersion({
          name: model,
          source: `s3://bucket/${model}/${v}`,
          runId: run.info.runId,
        });
        // champion goes to v1 once v2 exists (synced, as a poll sees it), then to v3.
        if (v === 2) {
          await client.setRegisteredModelAlias(model, 'champion', '1');
          await sync();
        }
      }
      await client.setRegisteredModelAlias(model, 'champion', '3');
      await sync();
    });

    it('traces models:/NAME@ALIAS from its current holder, with the earlier holder upstream and no stale warning', async () => {
      const text = await ws.ok('trace', `models:/${model}@champion`);
      expect(text.split('\n')[0]).toMatch(new RegExp(`^trace of models:/${model}@champion@3: \\d+ runs$`));
      expect(text).not.toContain('⚠');
      const graph = await ws.json<TraceJson>('trace', `models:/${model}@champion`);
      expect(graph.roots.map((p) => `${p.uri}@${p.version}`)).toEqual([`models:/${model}@champion@3`]);
      const made = (
        graph.runs as unknown as Array<{ outputs: Array<{ uri: string; version: string }> }>
      ).flatMap((r) => r.outputs.map((p) => `${p.uri}@${p.version}`));
      expect(made).toEqual(expect.arrayContaining([`models:/${model}@champion@1`, `models:/${model}/3@`]));
      expect(graph.runs.flatMap((r) => r.stale)).toEqual([]);
    });

    it('traces models:/NAME/3 and models:/NAME@ALIAS@1 as typed', async () => {
      const v3 = await ws.json<TraceJson>('trace', `models:/${model}/3`);
      expect(v3.roots.map((p) => p.uri)).toEqual([`models:/${model}/3`]);
      expect(v3.runs.flatMap((r) => r.stale)).toEqual([]);
      const held = await ws.json<TraceJson>('trace', `models:/${model}@champion@1`);
      expect(held.roots.map((p) => `${p.uri}@${p.version}`)).toEqual([`models:/${model}@champion@1`]);
    });
  });
});
