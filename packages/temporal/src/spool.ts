import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentRunInput } from '@mltrace/core';

/** Writer instances alive in this process (a spool file of this pid not listed here is an orphan). */
const liveInstances = new Set<string>();

const FILE = /^spool-(\d+)-(\d+)-([0-9a-f]+)-(\d+)\.ndjson(?:\.claimed-(\d+)-([0-9a-f]+))?$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One spool file found on disk, claimed by this instance for replay. */
export interface ClaimedFile {
  path: string;
  /** Sort key: creation time, then sequence. */
  order: string;
}

/**
 * The local spool: NDJSON files of runs the store could not take. Each writer instance appends
 * to its own file (`spool-<ms>-<pid>-<instance>-<seq>.ndjson`) and replays its own files and those
 * left by dead processes, claiming each by an atomic rename so no two instances replay one file.
 */
export class Spool {
  readonly instance = randomBytes(4).toString('hex');
  private seq = 0;
  private current: { path: string; bytes: number } | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly maxFileBytes: number,
  ) {
    liveInstances.add(this.instance);
  }

  /** Forget this instance (its leftover files become replayable by others). */
  dispose(): void {
    liveInstances.delete(this.instance);
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(
      () => {},
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  /** Appends runs as NDJSON lines to the current file. */
  async append(runs: ComponentRunInput[]): Promise<void> {
    if (runs.length === 0) return;
    await this.ensureDir();
    const text = `${runs.map((run) => JSON.stringify(run)).join('\n')}\n`;
    if (!this.current || this.current.bytes >= this.maxFileBytes) {
      const name = `spool-${String(Date.now()).padStart(15, '0')}-${process.pid}-${this.instance}-${String(this.seq++).padStart(6, '0')}.ndjson`;
      this.current = { path: join(this.dir, name), bytes: 0 };
    }
    await appendFile(this.current.path, text, 'utf8');
    this.current.bytes += Buffer.byteLength(text);
  }

  /** Closes the current file: later appends start a new one. */
  rotate(): void {
    this.current = undefined;
  }

  /** Whether any replayable file exists (own or orphaned). */
  async hasBacklog(): Promise<boolean> {
    return (await this.replayable()).length > 0;
  }

  private async replayable(): Promise<Array<{ name: string; order: string }>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: Array<{ name: string; order: string }> = [];
    for (const name of names) {
      const match = FILE.exec(name);
      if (!match) continue;
      const [, ms = '', pid = '', instance = '', seq = '', claimPid, claimInstance] = match;
      const owner =
        claimPid !== undefined ? { pid: claimPid, instance: claimInstance ?? '' } : { pid, instance };
      if (this.current && join(this.dir, name) === this.current.path) continue;
      const mine = Number(owner.pid) === process.pid && owner.instance === this.instance;
      const orphan =
        Number(owner.pid) === process.pid ? !liveInstances.has(owner.instance) : !alive(Number(owner.pid));
      if (mine || orphan) out.push({ name, order: `${ms}-${pid}-${instance}-${seq}` });
    }
    return out.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  }

  /**
   * Claims every replayable file (renaming it to `.claimed-<pid>-<instance>`), oldest first.
   * Call {@link rotate} first so the current file is included.
   */
  async claim(): Promise<ClaimedFile[]> {
    const claimed: ClaimedFile[] = [];
    for (const file of await this.replayable()) {
      const base = file.name.replace(/\.claimed-\d+-[0-9a-f]+$/, '');
      const target = join(this.dir, `${base}.claimed-${process.pid}-${this.instance}`);
      const source = join(this.dir, file.name);
      if (source !== target) {
        try {
          await rename(source, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another instance won
          throw error;
        }
      }
      claimed.push({ path: target, order: file.order });
    }
    return claimed;
  }

  /** Reads a claimed file: the runs, and how many lines could not be parsed (a torn last write). */
  async read(file: ClaimedFile): Promise<{ runs: ComponentRunInput[]; bad: number }> {
    const text = await readFile(file.path, 'utf8');
    const runs: ComponentRunInput[] = [];
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        runs.push(reviveRun(JSON.parse(line) as Record<string, unknown>));
      } catch {
        bad++;
      }
    }
    return { runs, bad };
  }

  /** Deletes a replayed file. */
  async remove(file: ClaimedFile): Promise<void> {
    await unlink(file.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  /** Bytes in replayable files (for stats). */
  async backlogBytes(): Promise<number> {
    let total = 0;
    for (const file of await this.replayable()) {
      total += await stat(join(this.dir, file.name)).then(
        (s) => s.size,
        () => 0,
      );
    }
    return total;
  }
}

/** Turns a spooled JSON line back into a run (dates were written as ISO strings). */
export function reviveRun(raw: Record<string, unknown>): ComponentRunInput {
  if (typeof raw.component !== 'string' || typeof raw.startedAt !== 'string') {
    throw new SyntaxError('not a spooled run');
  }
  return {
    ...(raw as unknown as ComponentRunInput),
    startedAt: new Date(raw.startedAt),
    ...(typeof raw.endedAt === 'string' ? { endedAt: new Date(raw.endedAt) } : {}),
  };
}
