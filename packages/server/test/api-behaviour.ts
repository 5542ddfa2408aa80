/** The HTTP API's behaviour suite, run on every store driver (PGlite and PostgreSQL). */
import type { LineageStore } from '@mltrace/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';
import { CLEAN, client, FEATURES, loadPipeline, MODEL, RAW } from './test-fixtures.js';

const TOKEN = 'write-token-0123456789abcdef';
const READ_TOKEN = 'read-token-0123456789abcdef';

export function describeApiBehaviour(driver: string, open: () => Promise<LineageStore>): void {
  describe(`HTTP API on ${driver}`, () => {
    let store: LineageStore;
    let server: MltraceServer;
    let api: ReturnType<typeof client>;

    beforeAll(async () => {
      store = await open();
      await loadPipeline(store);
      server = await createServer({
        store,
        port: 0,
        token: TOKEN,
        publicReads: true,
        bodyLimitBytes: 64 * 1024,
      });
      api = client(server.url);
    });
    afterAll(async () => {
      await server?.close();
      await store?.close();
    });

    it('traces a pointer to a DAG of the runs that made it, each run once', async () => {
      const { status, json } = await api(`/api/v1/trace?uri=${encodeURIComponent(MODEL)}`);
      expect(status).toBe(200);
      expect(json.runs.map((r: { component: string }) => r.component)).toEqual([
        'train',
        'featurize',
        'clean',
      ]);
      expect(json.runs.map((r: { depth: number }) => r.depth)).toEqual([0, 1, 2]);
      expect(json.dependencies).toHaveLength(2);
      expect(json.roots[0]).toMatchObject({ uri: MODEL, version: 'v1' });
      expect(json.pointers.map((p: { uri: string }) => p.uri).sort()).toEqual(
        [CLEAN, FEATURES, MODEL, RAW].sort(),
      );
      expect(json.truncated).toBe(false);
      expect(json.runs[0].codeSnapshot).toBeUndefined();
    });

    it('traces one version of a pointer and cuts the walk at maxDepth', async () => {
      const one = await api(`/api/v1/trace?uri=${encodeURIComponent(MODEL)}&version=v1&maxDepth=1`);
      expect(one.status).toBe(200);
      expect(one.json.runs).toHaveLength(2);
      expect(one.json.truncated).toBe(true);
    });

    it('answers impact with everything derived from a pointer', async () => {
      const { status, json } = await api(`/api/v1/impact?uri=${encodeURIComponent(RAW)}`);
      expect(status).toBe(200);
      expect(json.runs.map((r: { component: string }) => r.component).sort()).toEqual([
        'clean',
        'featurize',
        'train',
      ]);
    });

    it('answers 404 with a hint for a pointer no run produced', async () => {
      const { status, json } = await api('/api/v1/trace?uri=file%3A%2F%2F%2Fnowhere.csv');
      expect(status).toBe(404);
      expect(json.error.code).toBe('not_found');
      expect(json.error.message).toContain('file:///nowhere.csv');
      expect(typeof json.error.hint).toBe('string');
    });

    it('answers 400 for a trace without uri or deeper than the limit', async () => {
      const missing = await api('/api/v1/trace');
      expect(missing.status).toBe(400);
      expect(missing.json.error.code).toBe('invalid_input');
      const deep = await api(`/api/v1/trace?uri=${encodeURIComponent(MODEL)}&maxDepth=10001`);
      expect(deep.status).toBe(400);
      expect(deep.json.error.message).toContain('maxDepth');
    });

    it('lists recent runs newest first with a cursor to the next page', async () => {
      const first = await api('/api/v1/runs?limit=2');
      expect(first.status).toBe(200);
      expect(first.json.runs.map((r: { component: string }) => r.component)).toEqual(['train', 'featurize']);
      const second = await api(`/api/v1/runs?limit=2&cursor=${first.json.nextCursor}`);
      expect(second.json.runs.map((r: { component: string }) => r.component)).toEqual(['clean']);
      expect(second.json.nextCursor).toBeUndefined();
      const filtered = await api('/api/v1/runs?component=clean&status=succeeded');
      expect(filtered.json.runs).toHaveLength(1);
    });

    it('refuses page sizes above the limit and unknown statuses', async () => {
      expect((await api('/api/v1/runs?limit=501')).status).toBe(400);
      const bad = await api('/api/v1/runs?status=exploded');
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe('invalid_input');
    });

    it('shows one run by id and by run key, with its code snapshot', async () => {
      const byKey = await api(`/api/v1/runs/${encodeURIComponent('p:clean')}`);
      expect(byKey.status).toBe(200);
      expect(byKey.json).toMatchObject({ component: 'clean', gitCommit: 'abc1234' });
      expect(byKey.json.codeSnapshot).toContain('dropna');
      const byId = await api(`/api/v1/runs/${byKey.json.id}`);
      expect(byId.json.runKey).toBe('p:clean');
      const missing = await api('/api/v1/runs/999999');
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('not_found');
    });

    it('lists a component history within a date range', async () => {
      const all = await api('/api/v1/history?component=train');
      expect(all.status).toBe(200);
      expect(all.json.runs).toHaveLength(1);
      expect(all.json.component).toMatchObject({ name: 'train' });
      const before = await api('/api/v1/history?component=train&to=2026-02-28');
      expect(before.json.runs).toHaveLength(0);
      const inside = await api('/api/v1/history?component=train&from=2026-03-01&to=2026-03-01');
      expect(inside.json.runs).toHaveLength(1);
      expect((await api('/api/v1/history?component=train&from=yesterday')).status).toBe(400);
      expect((await api('/api/v1/history')).status).toBe(400);
    });

    it('lists components and tags', async () => {
      await store.tagComponent('train', ['ml', 'nightly']);
      const components = await api('/api/v1/components');
      expect(components.json.components.map((c: { name: string }) => c.name)).toEqual([
        'clean',
        'featurize',
        'train',
      ]);
      const tagged = await api('/api/v1/components?tag=ml');
      expect(tagged.json.components.map((c: { name: string }) => c.name)).toEqual(['train']);
      expect((await api('/api/v1/tags')).json.tags).toEqual(['ml', 'nightly']);
    });

    it('refuses a write without the token, with a wrong token and with the wrong media type, writing nothing', async () => {
      const none = await api('/api/v1/flag', { body: { uri: MODEL } });
      expect(none.status).toBe(401);
      expect(none.json.error.code).toBe('unauthorized');
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      const wrong = await api('/api/v1/flag', { body: { uri: MODEL }, token: 'not-the-token-at-all' });
      expect(wrong.status).toBe(401);
      const text = await api('/api/v1/flag', {
        raw: 'uri=x',
        headers: { 'content-type': 'text/plain' },
        token: TOKEN,
      });
      expect(text.status).toBe(415);
      expect(text.json.error.code).toBe('unsupported_media_type');
      expect((await store.pointers(MODEL)).every((p) => !p.flag)).toBe(true);
    });

    it('refuses invalid JSON and oversized bodies with a clear error, writing nothing', async () => {
      const broken = await api('/api/v1/flag', {
        raw: '{"uri": ',
        headers: { 'content-type': 'application/json' },
        token: TOKEN,
      });
      expect(broken.status).toBe(400);
      expect(broken.json.error.code).toBe('invalid_input');
      const huge = await api('/api/v1/flag', {
        body: { uri: MODEL, version: 'x'.repeat(70 * 1024) },
        token: TOKEN,
      });
      expect(huge.status).toBe(413);
      expect(huge.json.error).toMatchObject({ code: 'too_large' });
      expect(huge.json.error.message).toContain('larger than the server accepts');
      const unknownField = await api('/api/v1/flag', { body: { uri: MODEL, colour: 'red' }, token: TOKEN });
      expect(unknownField.status).toBe(400);
      expect((await store.pointers(MODEL)).every((p) => !p.flag)).toBe(true);
    });

    it('flags an output, ranks the suspects in review, and unflags it', async () => {
      const flagged = await api('/api/v1/flag', { body: { uri: MODEL, version: 'v1' }, token: TOKEN });
      expect(flagged.status).toBe(200);
      expect(flagged.json.flagged).toBe(1);
      const review = await api('/api/v1/review');
      expect(review.status).toBe(200);
      expect(review.json.flagged.map((p: { uri: string }) => p.uri)).toEqual([MODEL]);
      expect(review.json.suspects.map((s: { run: { component: string } }) => s.run.component).sort()).toEqual(
        ['clean', 'featurize', 'train'],
      );
      expect(review.json.suspects[0]).toHaveProperty('score');
      const missing = await api('/api/v1/flag', { body: { uri: 'file:///nope.csv' }, token: TOKEN });
      expect(missing.status).toBe(404);
      const unflagged = await api('/api/v1/unflag', { body: { all: true }, token: TOKEN });
      expect(unflagged.json.unflagged).toBe(1);
      expect((await api('/api/v1/review')).json.flagged).toEqual([]);
      expect((await api('/api/v1/unflag', { body: {}, token: TOKEN })).status).toBe(400);
    });

    it('edits a run’s notes with the token', async () => {
      const run = await store.run('p:train');
      const put = await api(`/api/v1/runs/${run.id}/notes`, {
        method: 'PUT',
        body: { notes: 'retrained after the <b>drift</b> alert' },
        token: TOKEN,
      });
      expect(put.status).toBe(200);
      expect((await store.run(run.id)).notes).toBe('retrained after the <b>drift</b> alert');
      const anonymous = await api(`/api/v1/runs/${run.id}/notes`, { method: 'PUT', body: { notes: 'x' } });
      expect(anonymous.status).toBe(401);
      expect((await store.run(run.id)).notes).toBe('retrained after the <b>drift</b> alert');
      const missing = await api('/api/v1/runs/999999/notes', {
        method: 'PUT',
        body: { notes: 'x' },
        token: TOKEN,
      });
      expect(missing.status).toBe(404);
    });

    it('lists every promotion in one timeline: registry moves synced from MLflow and the retraining decisions, filtered by model, alias and time', async () => {
      // What `mltrace sync mlflow` writes (bridges/mlflow sync.ts): promote runs whose metadata
      // names the move. The sync itself against a real MLflow is in ui-promotions.test.ts and the
      // CLI's mlflow-python-chain test; here the store's two drivers are what varies.
      const move = (
        key: string,
        at: string,
        metadata: Record<string, unknown>,
      ): Parameters<LineageStore['logRun']>[0] => ({
        component: 'promote',
        source: 'mlflow',
        runKey: `mlflow:127.0.0.1:5000/taxi/${key}`,
        startedAt: new Date(at),
        outputs: ['models:/taxi@champion'],
        metadata: { trackingUri: 'http://127.0.0.1:5000', model: 'taxi', ...metadata },
      });
      await store.logRuns([
        {
          component: 'register',
          source: 'mlflow',
          runKey: 'mlflow:127.0.0.1:5000/taxi/3/register/1767000000000',
          startedAt: new Date('2026-03-02T09:00:00Z'),
          outputs: [{ uri: 'models:/taxi/3', version: '3' }],
          metadata: { model: 'taxi', version: '3' },
        },
        move('2/alias.champion/1', '2026-03-01T10:00:00Z', {
          kind: 'alias',
          action: 'set',
          alias: 'champion',
          version: '2',
          previousVersion: null,
          detectedAt: '2026-03-01T10:05:00Z',
        }),
        move('3/alias.champion/2', '2026-03-02T10:00:00Z', {
          kind: 'alias',
          action: 'moved',
          alias: 'champion',
          version: '3',
          previousVersion: '2',
          detectedAt: '2026-03-02T10:05:00Z',
        }),
        move('3/stage.Production/3', '2026-03-02T11:00:00Z', {
          kind: 'stage',
          action: 'transition',
          stage: 'Production',
          version: '3',
          previousVersions: ['1'],
          detectedAt: '2026-03-02T11:05:00Z',
        }),
      ]);
      const { status, json } = await api('/api/v1/promotions?model=taxi');
      expect(status).toBe(200);
      // Registrations are not promotions: only who holds an alias or stage.
      expect(json.promotions.map((p: { kind: string; action: string }) => `${p.kind}/${p.action}`)).toEqual([
        'stage/transition',
        'alias/moved',
        'alias/set',
      ]);
      expect(json.promotions[1]).toEqual({
        kind: 'alias',
        model: 'taxi',
        alias: 'champion',
        stage: null,
        action: 'moved',
        from: ['2'],
        to: '3',
        at: '2026-03-02T10:05:00.000Z',
        detectedAt: '2026-03-02T10:05:00.000Z',
        who: null,
        reasons: [],
        decisionId: null,
        approvalComment: null,
        policy: null,
        metrics: null,
        runId: expect.any(Number),
      });
      expect(json.promotions[0]).toMatchObject({
        stage: 'Production',
        from: ['1'],
        to: '3',
        at: '2026-03-02T11:00:00.000Z',
        detectedAt: '2026-03-02T11:05:00.000Z',
      });
      expect((await api('/api/v1/promotions?model=other')).json.promotions).toEqual([]);

      // The retraining workflow decides v4, then the sync sees the alias move it made.
      const decide = await store.logRun({
        component: 'promote',
        source: 'temporal',
        runKey: 'decide:taxi:4',
        startedAt: new Date('2026-03-03T10:00:00Z'),
      });
      const decision = await store.recordPromotionDecision({
        decisionKey: 'taxi:4',
        model: 'taxi',
        candidate: '4',
        previousChampion: '3',
        decision: 'promote',
        reasons: ['rmse 3.1 < champion 3.4'],
        approver: 'ana',
        runKey: 'decide:taxi:4',
        decidedAt: new Date('2026-03-03T10:01:00Z'),
      });
      await store.logRun(
        move('4/alias.champion/4', '2026-03-03T10:02:00Z', {
          kind: 'alias',
          action: 'moved',
          alias: 'champion',
          version: '4',
          previousVersion: '3',
          detectedAt: '2026-03-03T10:03:00Z',
        }),
      );
      const merged = (await api('/api/v1/promotions?model=taxi&alias=champion')).json.promotions;
      expect(merged.map((p: { kind: string; to: string }) => `${p.kind}:${p.to}`)).toEqual([
        'alias:4',
        'decision:4',
        'alias:3',
        'alias:2',
      ]);
      expect(merged[1]).toMatchObject({
        action: 'promote',
        from: ['3'],
        who: 'ana',
        reasons: ['rmse 3.1 < champion 3.4'],
        decisionId: decision.id,
        runId: decide.id,
      });
      // The move the decision made points at it; the hand-made ones have no reason.
      expect(merged[0]).toMatchObject({ decisionId: decision.id, reasons: [] });
      expect(merged[2]).toMatchObject({ decisionId: null, reasons: [] });

      const day = (await api('/api/v1/promotions?model=taxi&since=2026-03-02&until=2026-03-02')).json;
      expect(day.promotions.map((p: { to: string; kind: string }) => `${p.kind}:${p.to}`)).toEqual([
        'stage:3',
        'alias:3',
      ]);
      expect((await api('/api/v1/promotions?model=taxi&alias=Production')).json.promotions).toHaveLength(1);
      expect((await api('/api/v1/promotions?model=taxi&limit=2')).json.promotions).toHaveLength(2);
      const bad = await api('/api/v1/promotions?since=yesterday');
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toContain('since must be a date');
    });

    it('answers JSON 404 for unknown routes and sets security headers everywhere', async () => {
      const unknown = await api('/api/v1/nothing-here');
      expect(unknown.status).toBe(404);
      expect(unknown.json.error.code).toBe('not_found');
      const ok = await api('/api/v1/tags');
      expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
      expect(ok.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(ok.headers.get('access-control-allow-origin')).toBeNull();
      expect(ok.headers.get('cache-control')).toBe('no-store');
    });
  });

  describe(`HTTP API with a read token on ${driver}`, () => {
    let store: LineageStore;
    let server: MltraceServer;
    beforeAll(async () => {
      store = await open();
      await loadPipeline(store, 'r');
      server = await createServer({ store, port: 0, token: TOKEN, readToken: READ_TOKEN });
    });
    afterAll(async () => {
      await server?.close();
      await store?.close();
    });

    it('needs the read or write token for reads, and refuses the read token for writes', async () => {
      const api = client(server.url);
      expect((await api('/api/v1/runs')).status).toBe(401);
      expect((await api('/metrics')).status).toBe(401);
      expect((await api('/api/v1/runs', { token: READ_TOKEN })).status).toBe(200);
      expect((await api('/api/v1/runs', { token: TOKEN })).status).toBe(200);
      expect((await api('/metrics', { token: READ_TOKEN })).status).toBe(200);
      const forbidden = await api('/api/v1/flag', { body: { uri: MODEL }, token: READ_TOKEN });
      expect(forbidden.status).toBe(403);
      expect(forbidden.json.error.code).toBe('forbidden');
      expect((await api('/api/v1/config')).json.auth).toEqual({ read: true, write: true });
      expect((await store.pointers(MODEL)).every((p) => !p.flag)).toBe(true);
    });
  });
}
