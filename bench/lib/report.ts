/**
 * Shared by every benchmark: timing helpers and the report writer. Each benchmark runs the
 * baseline and ours in the same process tree, interleaved over several rounds, and reports
 * medians and ratios to `bench/results/<area>.md` (a table with the machine, the date and the
 * commit) and `bench/results/<area>.json` (flat `{ figure_name: number }`).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export const resultsDir = new URL('../../results/', import.meta.url);

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0-100), nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The 1, 5 and 15 minute load averages, for a report's header. */
export const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

/** Milliseconds `fn` takes. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** The machine, for the report header. */
export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** One row of the report table. */
export type Row = Record<string, string | number>;

/**
 * Writes `bench/results/<area>.md` and `.json`, and prints the table. `figures` must be flat
 * numbers; name ratios `ratio_<ours>_vs_<baseline>`.
 */
export function writeReport(
  area: string,
  report: {
    title: string;
    notes: string[];
    rows: Row[];
    figures: Record<string, number>;
    loadAtStart?: string;
  },
): void {
  const columns = [...new Set(report.rows.flatMap((row) => Object.keys(row)))];
  const fmt = (v: string | number | undefined) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : (v ?? '');
  const table = [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...report.rows.map((row) => `| ${columns.map((c) => fmt(row[c])).join(' | ')} |`),
  ].join('\n');
  const md = [
    `# ${report.title}`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- commit: ${commit()}`,
    `- machine: ${machine()}`,
    // Other engineers' builds and tests share these cores: the load says how much they took.
    `- load average at the end (1, 5, 15 min): ${loadAverage()}${report.loadAtStart ? `; at the start: ${report.loadAtStart}` : ''}`,
    '',
    table,
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  writeFileSync(new URL(`${area}.md`, resultsDir), md);
  writeFileSync(new URL(`${area}.json`, resultsDir), `${JSON.stringify(report.figures, null, 2)}\n`);
  process.stdout.write(`${md}\n`);
}
