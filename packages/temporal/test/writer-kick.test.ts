/**
 * When the writer starts a flush: a full batch asks for one on a later turn of the event loop
 * (never in the microtasks of the activity that queued the record); a queue half full drains at
 * once, without waiting for the event loop (a burst of producers that only yield microtasks).
 */
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineageWriter } from '../src/writer.js';

function run(key: string): ComponentRunInput {
  return { runKey: key, component: 'step', source: 'temporal', status: 'succeeded', startedAt: new Date() };
}

describe('the writer starts flushing', () => {
  let store: LineageStore;
  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('for a full batch, on a later turn of the event loop', async () => {
    const writer = new LineageWriter({ store, spoolDir: false, batchSize: 5, flushIntervalMs: 60_000 });
    let built = 0;
    for (let i = 0; i < 5; i++) {
      writer.enqueue(() => {
        built++;
        return run(`kick-later-${i}`);
      });
    }
    for (let i = 0; i < 10; i++) await Promise.resolve(); // microtasks only
    expect(built).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    await writer.flush();
    expect(built).toBe(5);
    expect(writer.stats()).toMatchObject({ written: 5, dropped: 0 });
    await writer.close();
  });

  it('at once when the queue is half full (producers that only yield microtasks)', async () => {
    const writer = new LineageWriter({
      store,
      spoolDir: false,
      maxQueueSize: 40,
      batchSize: 100, // never a full batch: only the half-full rule can start this flush
      flushIntervalMs: 60_000,
    });
    let built = 0;
    for (let i = 0; i < 20; i++) {
      writer.enqueue(() => {
        built++;
        return run(`kick-now-${i}`);
      });
    }
    for (let i = 0; i < 10; i++) await Promise.resolve(); // microtasks only
    expect(built).toBe(20);
    await writer.flush();
    expect(writer.stats()).toMatchObject({ enqueued: 20, written: 20, dropped: 0 });
    await writer.close();
  });
});
