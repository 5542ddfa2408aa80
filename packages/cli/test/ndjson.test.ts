import { describe, expect, it } from 'vitest';
import { parseRunLine } from '../src/ndjson.js';

const error = (line: string) => {
  const parsed = parseRunLine(line);
  return parsed.ok ? undefined : parsed.error;
};

describe('parseRunLine', () => {
  it('turns a full line into a run, with dates and pointer objects', () => {
    const parsed = parseRunLine(
      JSON.stringify({
        component: 'train',
        startedAt: '2024-05-01T10:00:00Z',
        endedAt: '2024-05-01T10:20:00Z',
        runKey: 'train-1',
        status: 'failed',
        inputs: ['features.csv', { uri: 's3://b/k', version: 'e1', type: 'data' }],
        outputs: [{ uri: 'model.pkl' }],
        attempt: 2,
        error: { message: 'boom', type: 'ValueError' },
        metadata: { rows: 10 },
        dependsOn: ['featuregen-1'],
        workflow: { workflowId: 'wf-1', namespace: 'default' },
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      run: {
        component: 'train',
        startedAt: new Date('2024-05-01T10:00:00Z'),
        endedAt: new Date('2024-05-01T10:20:00Z'),
        runKey: 'train-1',
        status: 'failed',
        inputs: ['features.csv', { uri: 's3://b/k', version: 'e1', type: 'data' }],
        outputs: [{ uri: 'model.pkl' }],
        attempt: 2,
        error: { message: 'boom', type: 'ValueError' },
        metadata: { rows: 10 },
        dependsOn: ['featuregen-1'],
        workflow: { workflowId: 'wf-1', namespace: 'default' },
      },
    });
  });

  it('derives a stable run key from the content when none is given, so a re-import is idempotent', () => {
    const line = '{"component": "clean", "startedAt": "2024-05-01T10:00:00Z"}';
    const a = parseRunLine(line);
    const b = parseRunLine(line);
    const c = parseRunLine('{"component": "clean", "startedAt": "2024-05-01T10:00:01Z"}');
    expect(a.ok && a.run.runKey).toMatch(/^import:[0-9a-f]{32}$/);
    expect(a.ok && a.run.runKey).toBe(b.ok && b.run.runKey);
    expect(a.ok && a.run.runKey).not.toBe(c.ok && c.run.runKey);
  });

  it('says what is wrong with a bad line', () => {
    expect(error('{"component": "x", "startedAt": ')).toMatch(/^invalid JSON: /);
    expect(error('[1, 2]')).toBe('expected a JSON object, got an array');
    expect(error('{"startedAt": "2024-05-01"}')).toBe('missing required field "component"');
    expect(error('{"component": ""}')).toBe('component must be a non-empty string, got ""');
    expect(error('{"component": "x"}')).toBe('missing required field "startedAt"');
    expect(error('{"component": "x", "startedAt": "yesterday"}')).toBe(
      'startedAt "yesterday" is not an ISO 8601 date (e.g. 2024-05-01T10:00:00Z)',
    );
    expect(error('{"component": "x", "startedAt": 1714557600}')).toBe(
      'startedAt must be an ISO 8601 date string, got number 1714557600',
    );
    expect(error('{"component": "x", "startedAt": "2024-05-02", "endedAt": "2024-05-01"}')).toBe(
      'endedAt is before startedAt',
    );
    expect(error('{"component": "x", "startedAt": "2024-05-01", "status": "done"}')).toBe(
      'unknown status "done" (use running, pending, succeeded, failed, cancelled)',
    );
    expect(error('{"component": "x", "started_at": "2024-05-01"}')).toBe(
      'unknown field "started_at" (did you mean "startedAt"?)',
    );
    expect(error('{"component": "x", "startedAt": "2024-05-01", "inputs": "a.csv"}')).toBe(
      'inputs must be an array of URIs or {uri, version?, type?} objects',
    );
    expect(
      error('{"component": "x", "startedAt": "2024-05-01", "outputs": [{"uri": "m", "type": "blob"}]}'),
    ).toBe('outputs[0].type "blob" is not one of data, model, endpoint, metric, unknown');
    expect(error('{"component": "x", "startedAt": "2024-05-01", "attempt": 0}')).toBe(
      'attempt must be a positive integer, got number 0',
    );
    expect(error('{"component": "x", "startedAt": "2024-05-01", "dependsOn": "k"}')).toBe(
      'dependsOn must be an array of run keys (non-empty strings)',
    );
  });
});
