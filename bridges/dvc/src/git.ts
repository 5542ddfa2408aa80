/**
 * The git side of the bridge: short `git` commands through execa, and one long-lived
 * `git cat-file --batch` process that reads any number of objects (`<sha>` or `<rev>:<path>`)
 * without a process per revision.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { InvalidInputError, UnavailableError } from '@mltrace/core';
import { execa } from 'execa';

/** The environment every git call gets: no pager, no prompt, stable output. */
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' };

/** Runs `git <args>` in `cwd`; resolves to stdout (untrimmed). Throws UnavailableError naming the command. */
export async function git(
  cwd: string,
  args: string[],
  options: { allowFailure?: boolean } = {},
): Promise<string> {
  let result: Awaited<ReturnType<typeof execa>>;
  try {
    result = await execa('git', args, {
      cwd,
      env: GIT_ENV,
      stdin: 'ignore',
      reject: false,
      stripFinalNewline: false,
      maxBuffer: 1024 * 1024 * 1024,
    });
  } catch (cause) {
    throw new UnavailableError(`cannot run git: ${(cause as Error).message}`, {
      cause,
      hint: 'install git and make sure it is on PATH',
    });
  }
  if (result.failed && !options.allowFailure) {
    const stderr = String(result.stderr ?? '').trim();
    throw new UnavailableError(
      `git ${args.slice(0, 3).join(' ')} failed in ${cwd}: ${stderr || result.message}`,
    );
  }
  return String(result.stdout ?? '');
}

/** A repository's root and git state, resolved once. */
export interface GitRepo {
  /** Absolute path of the working tree root. */
  root: string;
  /** Whether the clone is shallow. */
  shallow: boolean;
  /** The shallow boundary commits (their parents are missing); empty when not shallow. */
  shallowCommits: Set<string>;
}

/** Resolves the git repository holding `path`. Throws InvalidInputError when it is not one. */
export async function openGitRepo(path: string): Promise<GitRepo> {
  const dir = resolve(path);
  const out = await git(
    dir,
    ['rev-parse', '--show-toplevel', '--is-shallow-repository', '--git-path', 'shallow'],
    {
      allowFailure: true,
    },
  ).catch((cause: unknown) => {
    throw cause instanceof UnavailableError && /cannot run git/.test(cause.message)
      ? cause
      : new InvalidInputError(`${dir} is not a git repository`, { cause });
  });
  const [root, shallowFlag, shallowPath] = out.split('\n');
  if (!root || !shallowFlag || !shallowPath) {
    throw new InvalidInputError(`${dir} is not a git repository (or does not exist)`, {
      hint: 'pass the path of a git working tree that holds a DVC project',
    });
  }
  const shallow = shallowFlag.trim() === 'true';
  const shallowCommits = new Set<string>();
  if (shallow) {
    const file = isAbsolute(shallowPath) ? shallowPath : resolve(dir, shallowPath);
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n'))
      if (/^[0-9a-f]{40,64}$/.test(line.trim())) shallowCommits.add(line.trim());
  }
  return { root: resolve(root.trim()), shallow, shallowCommits };
}

/** One object read by {@link ObjectReader}. */
export interface GitObject {
  sha: string;
  type: string;
  content: Buffer;
}

interface Pending {
  resolve: (value: GitObject | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * Reads git objects through one `git cat-file --batch` process. Requests are pipelined: every
 * name of a {@link ObjectReader.readMany} call is written at once and the answers are parsed as
 * they stream back. A missing object resolves to undefined.
 */
export class ObjectReader {
  readonly #process: ReturnType<typeof execa>;
  readonly #queue: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #failed: Error | undefined;

  constructor(readonly cwd: string) {
    this.#process = execa('git', ['cat-file', '--batch'], {
      cwd,
      env: GIT_ENV,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      encoding: 'buffer',
      reject: false,
    });
    this.#process.stdout?.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    let stderr = '';
    this.#process.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    this.#process.stdin?.on('error', () => {});
    void this.#process.then((result) => {
      const error = new UnavailableError(
        `git cat-file --batch in ${cwd} ended early${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
        result.failed ? { cause: result } : {},
      );
      this.#failed = error;
      for (const pending of this.#queue.splice(0)) pending.reject(error);
    });
  }

  #drain(): void {
    for (;;) {
      const pending = this.#queue[0];
      if (!pending) return;
      const eol = this.#buffer.indexOf(10);
      if (eol === -1) return;
      const header = this.#buffer.subarray(0, eol).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.#buffer = this.#buffer.subarray(eol + 1);
        this.#queue.shift();
        pending.resolve(undefined);
        continue;
      }
      const [sha, type, sizeText] = header.split(' ');
      const size = Number(sizeText);
      if (!sha || !type || !Number.isInteger(size)) {
        this.#queue.shift();
        pending.reject(new UnavailableError(`git cat-file --batch: unexpected header "${header}"`));
        this.#buffer = Buffer.alloc(0);
        continue;
      }
      // The object is followed by one LF.
      if (this.#buffer.length < eol + 1 + size + 1) return;
      const content = Buffer.from(this.#buffer.subarray(eol + 1, eol + 1 + size));
      this.#buffer = this.#buffer.subarray(eol + 1 + size + 1);
      this.#queue.shift();
      pending.resolve({ sha, type, content });
    }
  }

  /** Reads one object by name (`<sha>`, `<rev>:<path>`); undefined when it does not exist. */
  read(name: string): Promise<GitObject | undefined> {
    return this.readMany([name]).then((objects) => objects[0]);
  }

  /** Reads objects by name, in order; undefined for each one that does not exist. */
  readMany(names: readonly string[]): Promise<Array<GitObject | undefined>> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (names.length === 0) return Promise.resolve([]);
    const promises = names.map((name) => {
      if (/[\n\r]/.test(name)) return Promise.resolve(undefined);
      return new Promise<GitObject | undefined>((resolvePromise, reject) => {
        this.#queue.push({ resolve: resolvePromise, reject });
      });
    });
    const lines = names.filter((name) => !/[\n\r]/.test(name));
    this.#process.stdin?.write(`${lines.join('\n')}\n`);
    return Promise.all(promises);
  }

  /** Ends the process. */
  async close(): Promise<void> {
    this.#process.stdin?.end();
    await this.#process;
  }
}

/** The pathspecs of the files the bridge reads. */
export const DVC_PATHSPECS = [':(glob)**/*.dvc', ':(glob)**/dvc.lock'];
/** Validates a revision argument (no option injection). */
export function checkRev(rev: string): void {
  if (rev === '' || rev.startsWith('-') || /[\0\n]/.test(rev)) {
    throw new InvalidInputError(`invalid revision ${JSON.stringify(rev)}`, {
      hint: 'pass a branch, tag, commit or range such as main~10..main',
    });
  }
}

/** Resolves a revision to a commit sha, or throws InvalidInputError naming it. */
export async function resolveCommit(root: string, rev: string): Promise<string> {
  checkRev(rev);
  const out = await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], {
    allowFailure: true,
  });
  const sha = out.trim();
  if (!/^[0-9a-f]{40,64}$/.test(sha)) {
    throw new InvalidInputError(`${root}: unknown revision ${JSON.stringify(rev)}`, {
      hint: rev === 'HEAD' ? 'the repository has no commits yet' : 'check the branch, tag or commit name',
    });
  }
  return sha;
}
