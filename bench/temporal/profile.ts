/**
 * Where a worker's main-thread CPU goes: a V8 `.cpuprofile` (taken by worker.ts over the
 * measured rounds) summarised by category (the plugin's files, the store, postgres.js, PGlite,
 * the Temporal SDK, Node internals, GC) and by function, in microseconds per activity attempt.
 * Native frames without a script (JSON.stringify, RegExp, crypto...) count for the caller.
 */

import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { machine, resultsDir } from '../lib/report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The summary of one worker's profile. */
export interface ProfileSummary {
  config: string;
  attempts: number;
  /** Non-idle main-thread CPU per attempt, microseconds. */
  totalUs: number;
  categories: Array<{ category: string; us: number }>;
  functions: Array<{ category: string; fn: string; us: number }>;
}

function basename(url: string): string {
  return url.split('/').pop() ?? url;
}

function packageOf(url: string): string {
  const at = url.lastIndexOf('node_modules/');
  const rest = url.slice(at + 'node_modules/'.length).split('/');
  return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
}

function categoryOf(frame: ProfileNode['callFrame']): string | undefined {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8 and native (program)';
  if (functionName === '(idle)' || functionName === '(root)') return 'idle';
  if (url === '') return undefined; // a native frame: its caller's category
  if (url.includes('/packages/temporal/')) return `mltrace plugin: ${basename(url)}`;
  if (url.includes('/packages/store/')) return 'mltrace store';
  if (url.includes('/packages/core/')) return 'mltrace core';
  if (url.includes('pglite')) return 'PGlite';
  if (url.includes('node_modules/postgres/')) return 'postgres.js';
  if (url.includes('node_modules/drizzle-orm/')) return 'drizzle-orm';
  if (url.includes('node_modules/@temporalio/')) return `Temporal SDK: ${packageOf(url)}`;
  if (url.includes('@opentelemetry/')) return 'OpenTelemetry';
  if (url.includes('node_modules/')) return packageOf(url);
  if (url.startsWith('node:')) return 'Node.js internals';
  if (url.startsWith('wasm://')) return 'PGlite';
  return `other: ${basename(url)}`;
}

/** Summarises one `.cpuprofile`. */
export async function summariseProfile(
  path: string,
  config: string,
  attempts: number,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const owner = new Map<number, { category: string; fn: string }>();
  const resolve = (id: number): { category: string; fn: string } => {
    const cached = owner.get(id);
    if (cached) return cached;
    const node = byId.get(id)!;
    let category = categoryOf(node.callFrame);
    let fn = `${node.callFrame.functionName || '(anonymous)'} ${basename(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    if (category === undefined) {
      const up = parent.get(id);
      const inherited = up === undefined ? { category: 'V8 and native (program)', fn } : resolve(up);
      category = inherited.category;
      fn = `${node.callFrame.functionName || '(native)'} <- ${inherited.fn}`;
    }
    const out = { category, fn };
    owner.set(id, out);
    return out;
  };
  const categories = new Map<string, number>();
  const functions = new Map<string, { category: string; us: number }>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const { category, fn } = resolve(profile.samples[i]!);
    if (category === 'idle') continue;
    total += us;
    categories.set(category, (categories.get(category) ?? 0) + us);
    const key = `${category}\0${fn}`;
    const entry = functions.get(key) ?? { category, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  return {
    config,
    attempts,
    totalUs: total / attempts,
    categories: [...categories.entries()]
      .map(([category, us]) => ({ category, us: us / attempts }))
      .sort((a, b) => b.us - a.us),
    functions: [...functions.entries()]
      .map(([key, { category, us }]) => ({ category, fn: key.split('\0')[1]!, us: us / attempts }))
      .sort((a, b) => b.us - a.us),
  };
}

const OURS = /^(mltrace|postgres\.js|PGlite|drizzle-orm)/;

/** Writes bench/results/temporal-profile.md and .json. */
export function writeProfileReport(
  summaries: ProfileSummary[],
  meta: { attempts: number; flags: string },
): void {
  const lines = [
    '# Temporal plugin: where the worker CPU goes (main-thread profile)',
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${machine()}`,
    `- \`npm run bench -- temporal --profile ${meta.flags.replace('--profile', '').trim()}\`: V8 sampling profiler (100 us) on each worker's main thread over the measured rounds, ${meta.attempts} activity attempts per worker (both workloads). Workflows run in a worker thread and are not in these profiles (their CPU is in the main report's figures). Native frames count for their caller. Microseconds per attempt; the profiler itself inflates everything somewhat.`,
    '',
  ];
  const figures: Record<string, number> = {};
  const base = summaries.find((s) => s.config === 'baseline');
  for (const s of summaries) {
    const ours = s.categories.filter((c) => OURS.test(c.category)).reduce((a, c) => a + c.us, 0);
    lines.push(
      `## ${s.config}: ${s.totalUs.toFixed(0)} us per attempt${base && s !== base ? ` (baseline ${base.totalUs.toFixed(0)})` : ''}; plugin, store and database client code ${ours.toFixed(0)} us`,
      '',
      '| category | us/attempt | share |',
      '| --- | --- | --- |',
      ...s.categories
        .filter((c) => c.us >= 0.5)
        .map((c) => `| ${c.category} | ${c.us.toFixed(1)} | ${((100 * c.us) / s.totalUs).toFixed(1)}% |`),
      '',
    );
    const top = s.functions.filter((f) => OURS.test(f.category)).slice(0, 20);
    if (top.length > 0) {
      lines.push(
        'Top functions of the plugin, the store and the database client (self time):',
        '',
        '| function | category | us/attempt |',
        '| --- | --- | --- |',
        ...top.map((f) => `| \`${f.fn.replace(/\|/g, '\\|')}\` | ${f.category} | ${f.us.toFixed(1)} |`),
        '',
      );
    }
    const key = s.config.replace('-', '_');
    figures[`${key}_main_thread_us_per_attempt`] = s.totalUs;
    figures[`${key}_plugin_store_client_us_per_attempt`] = ours;
  }
  const md = `${lines.join('\n')}\n`;
  writeFileSync(new URL('temporal-profile.md', resultsDir), md);
  writeFileSync(new URL('temporal-profile.json', resultsDir), `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(md);
}
