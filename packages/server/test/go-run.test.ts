import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';

describe('/go/run, the link from a workflow page in the Temporal UI', () => {
  let store: LineageStore;
  let server: MltraceServer;
  const prefix = 'temporal:default/retrain-1/run-a/5/';
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
    // Three attempts of one activity call, and another call.
    const { runs } = await store.logRuns(
      [1, 2, 3].map((attempt) => ({
        component: 'train',
        runKey: `${prefix}${attempt}`,
        status: attempt === 3 ? ('succeeded' as const) : ('failed' as const),
        attempt,
        startedAt: new Date(Date.UTC(2024, 0, 1, 0, attempt)),
      })),
    );
    for (const run of runs) ids[run.runKey] = run.id;
    server = await createServer({ store, port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  const go = (key: string) =>
    fetch(`${server.url}/go/run?key=${encodeURIComponent(key)}`, { redirect: 'manual' });

  it("redirects a run key prefix to the run card of the call's latest attempt", async () => {
    const response = await go(prefix);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`/ui/run?id=${ids[`${prefix}3`]}`);
  });

  it('redirects a whole run key to that run, and says 404 for a key nothing wrote', async () => {
    expect((await go(`${prefix}1`)).headers.get('location')).toBe(`/ui/run?id=${ids[`${prefix}1`]}`);
    const missing = await go('temporal:default/other/run/1/');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain(
      'no run with the run key',
    );
  });
});
