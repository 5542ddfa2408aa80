/** Test helpers (not built): a three-step pipeline and a small HTTP client. */
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';

export const RAW = 'file:///data/raw.csv';
export const CLEAN = 'file:///data/clean.csv';
export const FEATURES = 'file:///data/features.csv';
export const MODEL = 'file:///models/model.pkl';

/** clean (raw -> clean), featurize (clean -> features), train (features -> model@v1), a minute apart. */
export function pipelineRuns(prefix = 'p', day = '2026-03-01'): ComponentRunInput[] {
  const at = (minute: number) => new Date(`${day}T10:${String(minute).padStart(2, '0')}:00Z`);
  return [
    {
      component: 'clean',
      runKey: `${prefix}:clean`,
      startedAt: at(0),
      endedAt: at(1),
      gitCommit: 'abc1234',
      codeSnapshot: 'def clean(df):\n    return df.dropna()\n',
      inputs: [RAW],
      outputs: [CLEAN],
    },
    {
      component: 'featurize',
      runKey: `${prefix}:featurize`,
      startedAt: at(2),
      endedAt: at(3),
      inputs: [CLEAN],
      outputs: [FEATURES],
      workflow: {
        namespace: 'default',
        workflowId: 'retrain-42',
        runId: '0190b1c2-0000-7000-8000-000000000001',
        workflowType: 'retraining',
      },
    },
    {
      component: 'train',
      runKey: `${prefix}:train`,
      startedAt: at(4),
      endedAt: at(6),
      attempt: 2,
      inputs: [FEATURES],
      outputs: [{ uri: MODEL, version: 'v1' }],
    },
  ];
}

export async function loadPipeline(store: LineageStore, prefix = 'p'): Promise<void> {
  await store.logRuns(pipelineRuns(prefix));
}

/** A fetch wrapper that returns status, headers and parsed JSON (or text). */
export function client(base: string, token?: string) {
  return async (
    path: string,
    init: {
      method?: string;
      body?: unknown;
      raw?: string | Buffer;
      headers?: Record<string, string>;
      token?: string;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...init.headers };
    const auth = init.token ?? token;
    if (auth) headers.authorization = `Bearer ${auth}`;
    let body: string | Buffer | undefined;
    if (init.raw !== undefined) body = init.raw;
    else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    return { status: response.status, headers: response.headers, json: json as any, text };
  };
}
