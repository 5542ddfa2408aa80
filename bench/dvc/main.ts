/**
 * The DVC bridge benchmark: reading the DVC lineage of a generated repository with 500 commits
 * touching `dvc.lock`, three ways, interleaved over rounds, medians:
 * - ours: `readDvcHistory` (one `git log -c --raw`, one `git cat-file --batch`), and the whole
 *   `syncDvc` into a fresh in-memory PGlite store;
 * - naive: `git log -- dvc.lock`, then one `git show <sha>:dvc.lock` process per commit;
 * - DVC: `dvc exp show --json -A` (its experiments cache cleared before each run).
 * See bench/dvc/README.md.
 *
 * Plus `--experiments N` experiment refs (`refs/exps/…`, as `dvc exp run` makes them) on the last
 * commit, read by `syncDvc` and skipped by `syncDvc({ experiments: false })`: their cost.
 *
 *   npm run bench -- dvc [--commits 500] [--experiments 50] [--rounds 3] [--no-dvc] [--no-write]
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readDvcHistory, syncDvc } from '@mltrace/dvc';
import { openPgliteStore } from '@mltrace/store/pglite';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { median, type Row, timeMs, writeReport } from '../lib/report.js';

const { values: flags } = parseArgs({
  options: {
    commits: { type: 'string', default: '500' },
    experiments: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    'no-dvc': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench -- dvc [flags]
  --commits N   commits touching dvc.lock (default 500)
  --experiments N  experiment refs on the last commit (default 50)
  --rounds N    interleaved rounds (default 3)
  --no-dvc      skip dvc exp show (the slow peer)
  --no-write    print the table, do not write bench/results/dvc.*`);
  process.exit(0);
}
const COMMITS = Number(flags.commits);
const EXPERIMENTS = Number(flags.experiments);
const ROUNDS = Number(flags.rounds);
const TARGET_MS = 5_000;

const root = new URL('../../../', import.meta.url).pathname;
const dvcBin = join(process.env.MLTRACE_TOOLS_DIR || join(root, '.tools'), 'venv', 'bin', 'dvc');
const STAGES = ['prepare', 'featurize', 'train', 'evaluate'] as const;
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The lock file when stage k has been changed `versions[k]` times. */
function lockFile(versions: number[]): string {
  const out = (k: number) => md5(`${STAGES[k]}-${versions[k]}`);
  const dep = (path: string, hash: string, size = 1234) =>
    `    - path: ${path}\n      hash: md5\n      md5: ${hash}\n      size: ${size}\n`;
  // A directory entry, dependency or output: DVC records its file count with it.
  const dirOut = (path: string, hash: string) =>
    `    - path: ${path}\n      hash: md5\n      md5: ${hash}.dir\n      size: 40960\n      nfiles: 12\n`;
  const stage = (k: number, deps: string, param: string, outs: string) =>
    `  ${STAGES[k]}:\n    cmd: python src/${STAGES[k]}.py\n    deps:\n${deps}    params:\n      params.yaml:\n        ${STAGES[k]}.${param}: ${versions[k]}\n    outs:\n${outs}`;
  return [
    "schema: '2.0'\nstages:\n",
    stage(
      0,
      dep('data/raw.csv', md5('raw')) + dep('src/prepare.py', md5('p.py')),
      'seed',
      dirOut('data/prepared', out(0)),
    ),
    stage(
      1,
      dirOut('data/prepared', out(0)) + dep('src/featurize.py', md5('f.py')),
      'n',
      dirOut('data/features', out(1)),
    ),
    stage(
      2,
      dirOut('data/features', out(1)) + dep('src/train.py', md5('t.py')),
      'lr',
      dep('model.pkl', out(2)),
    ),
    stage(
      3,
      dirOut('data/features', out(1)) + dep('model.pkl', out(2)),
      'k',
      dep('metrics.json', out(3), 40),
    ),
  ].join('');
}

function paramsFile(versions: number[]): string {
  return `prepare:\n  seed: ${versions[0]}\nfeaturize:\n  n: ${versions[1]}\ntrain:\n  lr: ${versions[2]}\nevaluate:\n  k: ${versions[3]}\n`;
}

const DVC_YAML = `stages:
  prepare:
    cmd: python src/prepare.py
    deps: [data/raw.csv, src/prepare.py]
    params: [prepare.seed]
    outs: [data/prepared]
  featurize:
    cmd: python src/featurize.py
    deps: [data/prepared, src/featurize.py]
    params: [featurize.n]
    outs: [data/features]
  train:
    cmd: python src/train.py
    deps: [data/features, src/train.py]
    params: [train.lr]
    outs: [model.pkl]
  evaluate:
    cmd: python src/evaluate.py
    deps: [data/features, model.pkl]
    params: [evaluate.k]
    metrics:
    - metrics.json:
        cache: false
`;

/** Generates the repository with `git fast-import`: no dvc needed. */
async function generate(dir: string): Promise<void> {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  await execa('git', ['init', '-q', '-b', 'main', dir], { env });
  const file = (path: string, content: string) =>
    `M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`;
  const parts: string[] = [];
  const versions = [0, 0, 0, 0];
  const start = 1_700_000_000;
  for (let i = 0; i < COMMITS; i++) {
    if (i > 0) versions[i % STAGES.length]! += 1;
    const message = i === 0 ? 'pipeline' : `change ${STAGES[i % STAGES.length]}`;
    parts.push(
      `commit refs/heads/main\ncommitter Bench <bench@example.invalid> ${start + i * 60} +0000\ndata ${message.length}\n${message}\n`,
    );
    if (i === 0) {
      parts.push(
        file(
          '.dvc/config',
          '[core]\n    remote = storage\n[\'remote "storage"\']\n    url = ../../storage\n',
        ),
        file('.dvc/.gitignore', '/config.local\n/tmp\n/cache\n'),
        file('.dvcignore', ''),
        file('dvc.yaml', DVC_YAML),
        file('data/raw.csv.dvc', `outs:\n- md5: ${md5('raw')}\n  size: 1234\n  hash: md5\n  path: raw.csv\n`),
        file('data/.gitignore', '/raw.csv\n/prepared\n/features\n'),
        ...['prepare', 'featurize', 'train', 'evaluate'].map((s) => file(`src/${s}.py`, `# ${s}\n`)),
      );
    }
    parts.push(file('dvc.lock', lockFile(versions)), file('params.yaml', paramsFile(versions)), '\n');
  }
  await execa('git', ['fast-import', '--quiet'], { cwd: dir, env, input: parts.join('') });
  await execa('git', ['checkout', '-q', '-f', 'main'], { cwd: dir, env });
  // Experiments on the last commit, as `dvc exp run -S train.lr=…` stores them: each changes the
  // train stage, and so the evaluate stage that reads its model.
  const baseline = (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir, env })).stdout.trim();
  const exps: string[] = [];
  for (let i = 0; i < EXPERIMENTS; i++) {
    const tried = [...versions];
    tried[2] = 100_000 + i;
    const message = `dvc: commit experiment ${i}`;
    exps.push(
      `commit refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/exp-${i}\ncommitter Bench <bench@example.invalid> ${start + COMMITS * 60 + i} +0000\ndata ${message.length}\n${message}\nfrom ${baseline}\n`,
      file('dvc.lock', lockFile(tried)),
      file('params.yaml', paramsFile(tried)),
      '\n',
    );
  }
  if (exps.length > 0)
    await execa('git', ['fast-import', '--quiet'], { cwd: dir, env, input: exps.join('') });
}

/** The naive reader: one `git show` per commit, each lock parsed and diffed with the previous. */
async function naive(dir: string): Promise<number> {
  const { stdout } = await execa('git', ['log', '--reverse', '--format=%H', '--', 'dvc.lock'], { cwd: dir });
  let previous = new Map<string, string>();
  let changed = 0;
  for (const sha of stdout.split('\n').filter(Boolean)) {
    const { stdout: text } = await execa('git', ['show', `${sha}:dvc.lock`], { cwd: dir });
    const lock = parseYaml(text) as { stages?: Record<string, unknown> };
    const current = new Map(
      Object.entries(lock.stages ?? {}).map(([name, entry]) => [name, JSON.stringify(entry)]),
    );
    for (const [name, entry] of current) if (previous.get(name) !== entry) changed++;
    previous = current;
  }
  return changed;
}

async function ours(dir: string): Promise<number> {
  const history = await readDvcHistory({ repo: dir });
  return history.counts.stages;
}

async function oursSync(
  dir: string,
  experiments: boolean,
): Promise<{ ms: number; stages: number; experimentRuns: number }> {
  const store = await openPgliteStore({ dataDir: 'memory://' });
  try {
    let stages = 0;
    let experimentRuns = 0;
    const ms = await timeMs(async () => {
      const summary = await syncDvc({ store, repo: dir, gto: false, experiments });
      stages = summary.stageRuns;
      experimentRuns = summary.experimentRuns;
    });
    return { ms, stages, experimentRuns };
  } finally {
    await store.close();
  }
}

async function dvcExpShow(dir: string): Promise<number> {
  await rm(join(dir, '.dvc', 'tmp', 'exps'), { recursive: true, force: true });
  const { stdout } = await execa(dvcBin, ['exp', 'show', '--json', '-A'], {
    cwd: dir,
    env: {
      ...process.env,
      DVC_NO_ANALYTICS: '1',
      DVC_STUDIO_OFFLINE: '1',
      DVC_SITE_CACHE_DIR: join(dir, '..', 'site-cache'),
    },
    maxBuffer: 1024 * 1024 * 1024,
  });
  // DVC's JSON may hold NaN and Infinity (Python's json): make it parseable.
  const rows = JSON.parse(stdout.replace(/\b(?:NaN|-?Infinity)\b/g, 'null')) as Array<{ rev: string }>;
  return rows.filter((row) => row.rev !== 'workspace').length;
}

const work = await mkdtemp(join(tmpdir(), 'mltrace-bench-dvc-'));
try {
  const repo = join(work, 'repo');
  const generated = await timeMs(() => generate(repo));
  process.stdout.write(`generated ${COMMITS} commits in ${(generated / 1000).toFixed(1)} s at ${repo}\n`);
  const withDvc = !flags['no-dvc'] && existsSync(dvcBin);
  const times: Record<'ours' | 'sync' | 'syncNoExp' | 'naive' | 'dvc', number[]> = {
    ours: [],
    sync: [],
    syncNoExp: [],
    naive: [],
    dvc: [],
  };
  const counts: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no system always runs first (warm page cache, JIT).
    const systems: Array<() => Promise<void>> = [
      async () => {
        times.ours.push(await timeMs(async () => (counts.ours = await ours(repo))));
      },
      async () => {
        const result = await oursSync(repo, true);
        times.sync.push(result.ms);
        counts.sync = result.stages;
        counts.experimentRuns = result.experimentRuns;
      },
      async () => {
        const result = await oursSync(repo, false);
        times.syncNoExp.push(result.ms);
        counts.syncNoExp = result.stages;
      },
      async () => {
        times.naive.push(await timeMs(async () => (counts.naive = await naive(repo))));
      },
      ...(withDvc
        ? [
            async () => {
              times.dvc.push(await timeMs(async () => (counts.dvc = await dvcExpShow(repo))));
            },
          ]
        : []),
    ];
    for (let i = 0; i < systems.length; i++) await systems[(i + round) % systems.length]!();
    process.stdout.write(
      `round ${round + 1}: ours ${times.ours.at(-1)?.toFixed(0)} ms, sync ${times.sync.at(-1)?.toFixed(0)} ms (without experiments ${times.syncNoExp.at(-1)?.toFixed(0)} ms), naive ${times.naive.at(-1)?.toFixed(0)} ms${withDvc ? `, dvc exp show ${times.dvc.at(-1)?.toFixed(0)} ms` : ''}\n`,
    );
  }
  if (counts.ours !== counts.naive || counts.sync !== counts.ours || counts.syncNoExp !== counts.ours) {
    throw new Error(
      `the readers disagree: ours ${counts.ours}, sync ${counts.sync} (without experiments ${counts.syncNoExp}), naive ${counts.naive} stage runs`,
    );
  }
  if (counts.experimentRuns !== 2 * EXPERIMENTS) {
    throw new Error(`${counts.experimentRuns} experiment runs, expected ${2 * EXPERIMENTS}`);
  }
  const m = {
    ours: median(times.ours),
    sync: median(times.sync),
    syncNoExp: median(times.syncNoExp),
    naive: median(times.naive),
    dvc: withDvc ? median(times.dvc) : Number.NaN,
  };
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const round3 = (x: number) => Math.round(x) / 1000;
  const rows: Row[] = [
    {
      reader: 'ours: readDvcHistory (git log -c --raw + cat-file --batch)',
      median_s: round3(m.ours),
      stage_runs: counts.ours ?? 0,
    },
    {
      reader: `ours: syncDvc into PGlite (read + write + cursor), with ${EXPERIMENTS} experiments`,
      median_s: round3(m.sync),
      stage_runs: `${counts.sync ?? 0} + ${counts.experimentRuns} of experiments`,
    },
    {
      reader: 'ours: syncDvc, experiments: false',
      median_s: round3(m.syncNoExp),
      stage_runs: counts.syncNoExp ?? 0,
    },
    { reader: 'naive: one git show per commit', median_s: round3(m.naive), stage_runs: counts.naive ?? 0 },
  ];
  if (withDvc)
    rows.push({
      reader: 'dvc exp show --json -A',
      median_s: round3(m.dvc),
      stage_runs: `${counts.dvc} commits (no per-stage change detection)`,
    });
  const figures: Record<string, number> = {
    commits: COMMITS,
    rounds: ROUNDS,
    stage_runs: counts.ours ?? 0,
    ours_read_ms: round2(m.ours),
    ours_sync_ms: round2(m.sync),
    experiments: EXPERIMENTS,
    experiment_runs: counts.experimentRuns ?? 0,
    ours_sync_without_experiments_ms: round2(m.syncNoExp),
    ratio_sync_with_experiments_vs_without: round2(m.sync / m.syncNoExp),
    naive_ms: round2(m.naive),
    ratio_ours_vs_naive: round2(m.naive / m.ours),
    ratio_ours_sync_vs_naive: round2(m.naive / m.sync),
  };
  if (withDvc) {
    figures.dvc_exp_show_ms = round2(m.dvc);
    figures.ratio_ours_vs_dvc_exp_show = round2(m.dvc / m.ours);
    figures.ratio_ours_sync_vs_dvc_exp_show = round2(m.dvc / m.sync);
  }
  const report = {
    title: `DVC bridge: reading ${COMMITS} commits touching dvc.lock`,
    notes: [
      `Generated repository: ${COMMITS} linear commits, each changing one of 4 stages in dvc.lock (and params.yaml); ${counts.ours} stage executions in all. Plus ${EXPERIMENTS} experiment refs on the last commit (refs/exps/…, each changing train and so evaluate: ${counts.experimentRuns} runs).`,
      `Medians of ${ROUNDS} interleaved rounds (the order rotates each round). Ratios are baseline / ours: above 1, ours is faster.`,
      'ours = readDvcHistory: every stage execution with its pointers, hashes and remote URLs, no store. sync = syncDvc into a fresh in-memory PGlite store (opening the store not timed).',
      'naive = git log -- dvc.lock, then one `git show <sha>:dvc.lock` per commit, parsed with the same YAML library and diffed with the previous commit.',
      withDvc
        ? 'dvc exp show --json -A = DVC 3.67.1 reading deps/outs/params of every commit; its .dvc/tmp/exps cache is cleared before each run.'
        : 'dvc exp show was skipped (--no-dvc, or dvc not installed: run `bash scripts/setup.sh`).',
      'ratio_sync_with_experiments_vs_without = syncDvc time / syncDvc({ experiments: false }) time on the same repository: what reading the experiments costs (1.10 = 10% more).',
      `Target: syncDvc under ${TARGET_MS / 1000} s for ${COMMITS} commits: ${m.sync < TARGET_MS ? 'met' : 'NOT met'} (${(m.sync / 1000).toFixed(2)} s).`,
    ],
    rows,
    figures,
  };
  if (flags['no-write']) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else writeReport('dvc', report);
} finally {
  await rm(work, { recursive: true, force: true });
}
