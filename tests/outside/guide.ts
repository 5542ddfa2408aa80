/**
 * Reads docs/guide.md ("Use it in your own project"): its files (code fences with `file=PATH`) are
 * the outside app's code, its shell commands (`sh` fences, but not `sh example`) are what the
 * outside-install test runs, one line each, as written.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '@mltrace/test-helpers';

/** One fenced code block of the guide. */
export interface GuideBlock {
  /** `ts`, `json`, `sh`... */
  lang: string;
  /** The rest of the info string: `file=src/x.ts`, `example`, or ''. */
  info: string;
  code: string;
}

/** The guide's path. */
export const GUIDE = join(repoRoot(), 'docs', 'guide.md');

/** Every fenced block of the guide, in order. */
export async function guideBlocks(): Promise<GuideBlock[]> {
  const text = await readFile(GUIDE, 'utf8');
  const blocks: GuideBlock[] = [];
  for (const m of text.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    blocks.push({ lang: m[1] ?? '', info: (m[2] ?? '').trim(), code: m[3] ?? '' });
  }
  return blocks;
}

/** The app's files: path -> content. */
export async function guideFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const b of await guideBlocks()) {
    const file = /^file=(\S+)$/.exec(b.info)?.[1];
    if (file) files.set(file, b.code);
  }
  return files;
}

/** The commands the guide tells a user to run, one per line, in order. */
export async function guideCommands(): Promise<string[]> {
  return (await guideBlocks())
    .filter((b) => b.lang === 'sh' && b.info === '')
    .flatMap((b) => b.code.split('\n'))
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}
