import { type ComponentRunInput, InvalidInputError, type Logger, silentLogger } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { type ResolvedWriterOptions, resolveWriterOptions, type WriterOptions } from './options.js';
import { type ClaimedFile, Spool } from './spool.js';

/** A queued record: a run, or a function building it (called at flush time, off the activity's path). */
export type PendingRun = ComponentRunInput | (() => ComponentRunInput);

/** Counters of a {@link LineageWriter}. */
export interface WriterStats {
  /** Records accepted by {@link LineageWriter.enqueue} since the start. */
  enqueued: number;
  /** Records in memory now. */
  queued: number;
  /** Queued records replaced by a later record of the same run key before being written. */
  coalesced: number;
  /** Records the store accepted (directly or from the spool). */
  written: number;
  /** Records appended to the spool. */
  spooled: number;
  /** Of `written`, records replayed from the spool. */
  replayed: number;
  /**
   * Records lost: the queue full (at `maxQueueSize` without a spool, at twice it with one),
   * spooling failing, or rejected by the store as invalid.
   */
  dropped: number;
  /** Calls to `store.logRuns` (each a batch; failed ones included). */
  storeCalls: number;
  /** Failed store calls (each retried or spooled). */
  failedWrites: number;
  /**
   * True while new records go to the spool: the store was unreachable, or slower than the
   * activities (the queue filled); until the spool has been replayed.
   */
  degraded: boolean;
  /** The last store error, if any. */
  lastError: string | undefined;
}

/** Options of {@link LineageWriter}. */
export interface LineageWriterOptions extends WriterOptions {
  /** The store, or a function opening it (retried after a failure). */
  store: LineageStore | (() => Promise<LineageStore>);
  /** @default silentLogger */
  logger?: Logger;
  /** Resolves the default spool directory. @default process.env */
  env?: Record<string, string | undefined>;
  /** @default process.cwd() */
  cwd?: string;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

/** The store rejected the input (retrying cannot help). */
function isInvalid(error: unknown): error is InvalidInputError {
  return error instanceof InvalidInputError || (error as { code?: unknown } | null)?.code === 'invalid_input';
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`the store did not answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The queue between activities and the lineage store. {@link enqueue} is synchronous and cheap;
 * a background pump flushes batches with `store.logRuns` (idempotent by run key), retries with
 * exponential backoff, and when the store stays unreachable appends batches to the spool
 * (NDJSON files) and from then on spools every batch, in order, until the spool has been
 * replayed into the store. Spool files left by an earlier process are replayed at start.
 * Nothing here ever throws into the caller: failures are logged and counted.
 */
export class LineageWriter {
  private readonly options: ResolvedWriterOptions;
  private readonly logger: Logger;
  private readonly spool: Spool | undefined;
  private readonly queue: Array<{ key: unknown; run: PendingRun }> = [];
  private readonly index = new Map<unknown, number>();
  private head = 0;
  private storePromise: Promise<LineageStore> | undefined;
  private pumping: Promise<void> | undefined;
  private kicked: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private startup: Promise<void> | undefined;
  private closed = false;
  private degraded = false;
  /** Degraded by a full queue, not by a failing store: a spool that cannot be written falls back to the store. */
  private overflowed = false;
  private nextReplayAt = 0;
  private readonly counters = {
    enqueued: 0,
    coalesced: 0,
    written: 0,
    spooled: 0,
    replayed: 0,
    dropped: 0,
    storeCalls: 0,
    failedWrites: 0,
  };
  private lastError: string | undefined;
  private warnedFull = false;

  constructor(private readonly config: LineageWriterOptions) {
    this.options = resolveWriterOptions(config, config.env, config.cwd);
    this.logger = config.logger ?? silentLogger;
    this.spool =
      this.options.spoolDir === false
        ? undefined
        : new Spool(this.options.spoolDir, this.options.maxSpoolFileBytes);
  }

  /** The spool directory, or undefined when spooling is off. */
  get spoolDir(): string | undefined {
    return this.spool?.dir;
  }

  /**
   * Starts the periodic flush and replays spool files left by earlier processes (in the
   * background). Idempotent; {@link enqueue} starts the writer too.
   */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.timer = setInterval(() => this.kick(), this.options.flushIntervalMs);
    this.timer.unref?.();
    if (this.spool) {
      // Leftovers go first: until they are replayed, new records are spooled behind them, so
      // producers always reach the store before their consumers.
      this.startup = this.spool
        .hasBacklog()
        .then((backlog) => {
          if (backlog && !this.degraded) {
            this.degraded = true;
            this.nextReplayAt = 0;
            this.logger.info('mltrace: replaying spool files left by an earlier run', {
              dir: this.spool?.dir,
            });
          }
          this.kick();
        })
        .catch((error: unknown) =>
          this.logger.warn('mltrace: cannot read the spool', { error: String(error) }),
        );
    }
  }

  /**
   * Queues one record; never blocks, never throws. Records with the same key (a run key, or an
   * object such as the attempt they describe, compared as Map keys are) coalesce while queued:
   * the later one, e.g. an attempt's final state, replaces its `running` record.
   * Returns false when the record was dropped (the queue is full, or the writer is closed).
   */
  enqueue(run: PendingRun, key?: unknown): boolean {
    if (this.closed) {
      this.counters.dropped++;
      return false;
    }
    if (!this.started) this.start();
    this.counters.enqueued++;
    if (key !== undefined) {
      const at = this.index.get(key);
      if (at !== undefined && at >= this.head) {
        const slot = this.queue[at - this.head];
        if (slot && slot.key === key) {
          slot.run = run;
          this.counters.coalesced++;
          return true;
        }
      }
    }
    if (this.queue.length >= this.options.maxQueueSize) {
      // The store is alive but slower than the activities (a failing store would have put the
      // writer in degraded mode already): spool from now on, in order, rather than drop.
      if (this.spool && !this.degraded) this.overflow();
      if (!this.spool || this.queue.length >= 2 * this.options.maxQueueSize) {
        this.counters.dropped++;
        if (!this.warnedFull) {
          this.warnedFull = true;
          this.logger.warn('mltrace: the lineage queue is full; dropping records', {
            maxQueueSize: this.options.maxQueueSize,
            spoolDir: this.spool?.dir,
          });
        }
        this.kick();
        return false;
      }
    }
    if (key !== undefined) this.index.set(key, this.head + this.queue.length);
    this.queue.push({ key, run });
    if (this.queue.length >= this.options.maxQueueSize / 2) {
      // Producers that never yield to the event loop (a burst within one macrotask): drain now
      // rather than drop records when the queue fills.
      if (!this.pumping) void this.pump(false);
    } else if (this.queue.length >= this.options.batchSize) this.kick();
    return true;
  }

  /**
   * The queue is full: the batches queued, and new records until the spool has been replayed,
   * go to the spool (behind the store call in flight, so in order). The queue may reach twice
   * `maxQueueSize` while that call finishes; beyond it records are dropped.
   */
  private overflow(): void {
    this.degraded = true;
    this.overflowed = true;
    this.nextReplayAt = Date.now() + this.options.spoolReplayIntervalMs;
    this.logger.warn('mltrace: the lineage store is slower than the activities; spooling', {
      maxQueueSize: this.options.maxQueueSize,
      spoolDir: this.spool?.dir,
    });
    if (!this.pumping) void this.pump(false);
  }

  /** The counters. */
  stats(): WriterStats {
    return {
      ...this.counters,
      queued: this.queue.length,
      degraded: this.degraded,
      lastError: this.lastError,
    };
  }

  /**
   * Writes (or spools) everything queued so far, and tries once to replay the spool. Resolves
   * when done; never rejects.
   */
  async flush(): Promise<void> {
    await this.pump(true);
  }

  /** Flushes, stops the timer and, if the writer opened the store itself, closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.kicked) clearImmediate(this.kicked);
    this.spool?.dispose();
    if (typeof this.config.store === 'function' && this.storePromise) {
      const store = await this.storePromise.catch(() => undefined);
      await store?.close().catch(() => {});
    }
  }

  /**
   * Starts a background flush on a later turn of the event loop (never in the caller's
   * microtasks: building records and writing them must not run before the activity that
   * enqueued them has handed its result to the SDK).
   */
  private kick(): void {
    if (this.pumping || this.kicked) return;
    this.kicked = setImmediate(() => {
      this.kicked = undefined;
      if (!this.pumping) void this.pump(false);
    });
  }

  private pump(force: boolean): Promise<void> {
    const previous = this.pumping ?? Promise.resolve();
    const run = previous.then(() => this.drain(force));
    const tracked = run.finally(() => {
      if (this.pumping === tracked) this.pumping = undefined;
    });
    this.pumping = tracked;
    return tracked;
  }

  private async drain(force: boolean): Promise<void> {
    try {
      await this.startup;
      if (this.degraded && this.spool && (force || Date.now() >= this.nextReplayAt)) await this.replay();
      while (this.queue.length > 0) {
        const batch = this.take(this.options.batchSize);
        if (this.degraded) await this.toSpool(batch);
        else await this.write(batch);
      }
    } catch (error) {
      // Unreachable in practice (every step catches); never let the pump die.
      this.logger.error('mltrace: lineage writer failure', { error: String(error) });
    }
  }

  private take(n: number): ComponentRunInput[] {
    const slots = this.queue.splice(0, n);
    this.head += slots.length;
    const runs: ComponentRunInput[] = [];
    for (const slot of slots) {
      if (slot.key !== undefined) this.index.delete(slot.key);
      try {
        runs.push(typeof slot.run === 'function' ? slot.run() : slot.run);
      } catch (error) {
        this.counters.dropped++;
        // A key that is not a run key (an attempt) is not logged: it holds arguments and results.
        this.logger.warn('mltrace: could not build a lineage record', {
          ...(typeof slot.key === 'string' ? { key: slot.key } : {}),
          error: String(error),
        });
      }
    }
    if (this.queue.length === 0) this.warnedFull = false;
    return runs;
  }

  private store(): Promise<LineageStore> {
    const source = this.config.store;
    if (typeof source !== 'function') return Promise.resolve(source);
    this.storePromise ??= source().catch((error: unknown) => {
      this.storePromise = undefined;
      throw error;
    });
    return this.storePromise;
  }

  /** One store call with the timeout. */
  private async logRuns(runs: ComponentRunInput[]): Promise<void> {
    const store = await withTimeout(this.store(), this.options.writeTimeoutMs);
    this.counters.storeCalls++;
    await withTimeout(store.logRuns(runs), this.options.writeTimeoutMs);
  }

  /** Writes a batch with retries; spools it (and enters degraded mode) when the store stays away. */
  private async write(runs: ComponentRunInput[]): Promise<void> {
    if (runs.length === 0) return;
    let delay = this.options.initialRetryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.logRuns(runs);
        this.counters.written += runs.length;
        return;
      } catch (error) {
        this.counters.failedWrites++;
        this.lastError = error instanceof Error ? error.message : String(error);
        if (isInvalid(error)) {
          await this.isolate(runs);
          return;
        }
        if (attempt >= this.options.maxAttempts) break;
        this.logger.debug('mltrace: store write failed, retrying', { attempt, error: this.lastError });
        await sleep(delay);
        delay = Math.min(this.options.maxRetryDelayMs, Math.max(1, delay * 2));
      }
    }
    this.logger.warn('mltrace: the lineage store is unreachable; spooling', {
      error: this.lastError,
      spoolDir: this.spool?.dir,
    });
    this.degraded = this.spool !== undefined;
    this.overflowed = false;
    this.nextReplayAt = Date.now() + this.options.spoolReplayIntervalMs;
    await this.toSpool(runs);
  }

  /** A batch the store rejected as invalid: write runs one by one, dropping the invalid ones. */
  private async isolate(runs: ComponentRunInput[]): Promise<void> {
    for (const [i, run] of runs.entries()) {
      try {
        await this.logRuns([run]);
        this.counters.written++;
      } catch (error) {
        if (isInvalid(error)) {
          this.counters.dropped++;
          this.logger.warn('mltrace: the store rejected a lineage record', {
            runKey: run.runKey,
            error: error.message,
          });
          continue;
        }
        this.counters.failedWrites++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.degraded = this.spool !== undefined;
        this.overflowed = false;
        this.nextReplayAt = Date.now() + this.options.spoolReplayIntervalMs;
        await this.toSpool(runs.slice(i));
        return;
      }
    }
  }

  private async toSpool(runs: ComponentRunInput[]): Promise<void> {
    if (runs.length === 0) return;
    if (!this.spool) {
      this.counters.dropped += runs.length;
      return;
    }
    try {
      await this.spool.append(runs);
      this.counters.spooled += runs.length;
    } catch (error) {
      if (this.overflowed) {
        // The store is alive (only the queue was full): write to it rather than lose the batch.
        this.logger.warn('mltrace: cannot write the spool; writing to the store instead', {
          dir: this.spool.dir,
          error: String(error),
        });
        this.degraded = false;
        this.overflowed = false;
        await this.write(runs);
        return;
      }
      this.counters.dropped += runs.length;
      this.logger.error('mltrace: cannot write the spool; records lost', {
        dir: this.spool.dir,
        error: String(error),
      });
    }
  }

  /** Replays the spool, oldest file first; leaves degraded mode when it is empty. */
  private async replay(): Promise<void> {
    const spool = this.spool;
    if (!spool) return;
    this.nextReplayAt = Date.now() + this.options.spoolReplayIntervalMs;
    spool.rotate();
    let files: ClaimedFile[];
    try {
      files = await spool.claim();
    } catch (error) {
      this.logger.warn('mltrace: cannot read the spool', { error: String(error) });
      return;
    }
    for (const file of files) {
      let content: { runs: ComponentRunInput[]; bad: number };
      try {
        content = await spool.read(file);
      } catch (error) {
        this.logger.warn('mltrace: cannot read a spool file', { file: file.path, error: String(error) });
        return;
      }
      if (content.bad > 0) {
        this.counters.dropped += content.bad;
        this.logger.warn('mltrace: skipped unreadable spool lines', { file: file.path, lines: content.bad });
      }
      for (let i = 0; i < content.runs.length; i += this.options.batchSize) {
        const batch = content.runs.slice(i, i + this.options.batchSize);
        try {
          await this.logRuns(batch);
        } catch (error) {
          this.counters.failedWrites++;
          this.lastError = error instanceof Error ? error.message : String(error);
          if (isInvalid(error) && (await this.isolateReplay(batch))) continue;
          this.logger.debug('mltrace: spool replay failed; will retry', { error: this.lastError });
          return; // the file stays claimed by us and is replayed whole next time (idempotent)
        }
        this.counters.written += batch.length;
        this.counters.replayed += batch.length;
      }
      await spool.remove(file).catch((error: unknown) => {
        this.logger.warn('mltrace: cannot delete a replayed spool file', {
          file: file.path,
          error: String(error),
        });
      });
    }
    if (await spool.hasBacklog().catch(() => true)) return;
    if (this.degraded) this.logger.info('mltrace: the lineage store is back; spool replayed');
    this.degraded = false;
    this.overflowed = false;
  }

  /** Replays runs one by one, dropping those the store rejects; false if the store went away. */
  private async isolateReplay(runs: ComponentRunInput[]): Promise<boolean> {
    for (const run of runs) {
      try {
        await this.logRuns([run]);
        this.counters.written++;
        this.counters.replayed++;
      } catch (error) {
        if (!isInvalid(error)) return false;
        this.counters.dropped++;
        this.logger.warn('mltrace: dropped a spooled record the store rejects', {
          runKey: run.runKey,
          error: error.message,
        });
      }
    }
    return true;
  }
}
