import { randomUUID } from 'node:crypto';
import { mlflowTrackingUri } from '@mltrace/test-helpers';
import { describe, expect, it } from 'vitest';

/** Calls the MLflow REST API; fails the test with the server's answer on a non-2xx status. */
async function mlflow(
  method: 'GET' | 'POST',
  path: string,
  body?: Record<string, unknown>,
): Promise<unknown> {
  const url = new URL(`${mlflowTrackingUri()}/api/2.0/mlflow/${path}`);
  const init: RequestInit = { method };
  if (method === 'GET' && body) {
    for (const [key, value] of Object.entries(body)) url.searchParams.set(key, String(value));
  } else if (body) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

describe('MLflow server', () => {
  it('stores a registered model, a version and an alias, and reads them back', async () => {
    const name = `smoke-model-${randomUUID().slice(0, 8)}`;

    const created = await mlflow('POST', 'registered-models/create', { name });
    expect(created).toMatchObject({ registered_model: { name } });

    const version = await mlflow('POST', 'model-versions/create', {
      name,
      source: 's3://bkt/models/smoke/1',
    });
    expect(version).toMatchObject({
      model_version: { name, version: '1', source: 's3://bkt/models/smoke/1' },
    });

    await mlflow('POST', 'registered-models/alias', { name, alias: 'champion', version: '1' });

    const byAlias = await mlflow('GET', 'registered-models/alias', { name, alias: 'champion' });
    expect(byAlias).toMatchObject({
      model_version: { name, version: '1', source: 's3://bkt/models/smoke/1', aliases: ['champion'] },
    });

    const model = await mlflow('GET', 'registered-models/get', { name });
    expect(model).toMatchObject({
      registered_model: { name, aliases: [{ alias: 'champion', version: '1' }] },
    });
  });
});
