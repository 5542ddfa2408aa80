import { createMltracePlugin } from '@mltrace/temporal';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { retrainingWorkflowsPath } from '../src/client.js';
import { loadHistories } from './test-record.js';

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already in this process
  }
});

describe('the committed histories of the retraining workflow', () => {
  it('replay without a determinism error on the current workflow code, with the mltrace interceptors as recorded', async () => {
    const histories = await loadHistories();
    // Before the decision memo patch: promote, reject (worse), reject (drift), approved by a
    // person, approval timed out. After it: a promotion with its memo.
    expect(histories.map((h) => h.workflowId)).toEqual([
      'approval-timed-out',
      'approved-by-person',
      'promote-first-model',
      'promote-with-decision-memo',
      'reject-drift',
      'reject-worse-candidate',
    ]);
    // The store is never opened: replay runs no activity.
    const plugin = createMltracePlugin({
      store: () => Promise.reject(new Error('replay opens no store')),
      spoolDir: false,
      gitCommit: false,
    });
    const results: Array<{ workflowId: string; error?: unknown }> = [];
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: retrainingWorkflowsPath(), plugins: [plugin], replayName: 'retraining-replay' },
      histories,
    )) {
      results.push({ workflowId: result.workflowId, ...(result.error ? { error: result.error } : {}) });
    }
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(histories.length);
  });
});
