import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MLTRACE_SEARCH_ATTRIBUTES, temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { greetingWorkflow, SmokeActivities } from './workflows.js';

/** `temporal.api.enums.v1.IndexedValueType` codes of the types we register. */
const INDEXED_VALUE_TYPE = { Keyword: 2, KeywordList: 7 } as const;

// Worker and bundler logs at INFO drown the test output. The Runtime is a per-process singleton:
// install it before the first connection (each test file runs in its own fork).
Runtime.install({ logger: new DefaultLogger('WARN') });

describe('Temporal dev server', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: temporalAddress() });
  });

  afterAll(async () => {
    await connection?.close();
  });

  it('runs a workflow whose activity result reaches the client', async ({ task }) => {
    const taskQueue = `${task.name}-${randomUUID().slice(0, 8)}`;
    const nativeConnection = await NativeConnection.connect({ address: temporalAddress() });
    try {
      const activities: SmokeActivities = { greet: async (name) => `Hello, ${name}!` };
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
        activities,
      });
      const client = new Client({ connection, namespace: 'default' });
      const result = await worker.runUntil(
        client.workflow.execute<typeof greetingWorkflow>('greetingWorkflow', {
          taskQueue,
          workflowId: `smoke-${randomUUID()}`,
          args: ['lineage'],
        }),
      );
      expect(result).toBe('Hello, lineage!');
    } finally {
      await nativeConnection.close();
    }
  });

  it('has the mltrace search attributes registered', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: 'default',
    });
    const expected = Object.fromEntries(
      Object.entries(MLTRACE_SEARCH_ATTRIBUTES).map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]]),
    );
    expect(customAttributes).toMatchObject(expected);
  });
});
