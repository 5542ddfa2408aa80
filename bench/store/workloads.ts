/**
 * The lineage shapes both systems log, identically: the same components, the same pointer names
 * (URIs that both keep verbatim) and the same order. mltrace stamps its own start times (now);
 * ours get one second apart in logging order, so "latest producer that started no later than
 * the consumer" picks the same run mltrace's "highest id" does.
 */

/** One run: component, input URIs, output URIs. */
export type RunSpec = [component: string, inputs: string[], outputs: string[]];

export interface Workload {
  /** Short name for figures, e.g. `chain1k`. */
  key: string;
  /** For the table, e.g. `chain 1k`. */
  label: string;
  runs: RunSpec[];
  /** Outputs traced; each traced `repeats` times per round. */
  traces: string[];
  /** How many runs a correct trace of each target returns. */
  expectedRuns: number[];
}

const short = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** A linear chain: run i reads run i-1's output. Ten components take turns. */
export function chain(n: number): Workload {
  const key = `chain${short(n)}`;
  const uri = (i: number) => `s3://bench/${key}/out-${i}.parquet`;
  const runs: RunSpec[] = [];
  for (let i = 0; i < n; i++) {
    runs.push([`step-${i % 10}`, [i === 0 ? `s3://bench/${key}/raw.csv` : uri(i - 1)], [uri(i)]]);
  }
  return { key, label: `chain ${short(n)}`, runs, traces: [uri(n - 1)], expectedRuns: [n] };
}

/**
 * Stacked diamonds: a source run m0, then per level L a `left` and a `right` run that both read
 * m(L-1), and a `merge` run that reads both and writes mL. 1 + 3 x levels runs (37 for 12
 * levels). mltrace's pre-order DFS without a visited set re-walks every shared ancestor once per
 * path: 2^(levels+2) - 3 entries, 16,381 for 12 levels, the number.
 */
export function diamond(levels: number): Workload {
  const base = `s3://bench/diamond${levels}`;
  const runs: RunSpec[] = [['source', [`${base}/raw.csv`], [`${base}/m0.parquet`]]];
  for (let level = 1; level <= levels; level++) {
    const prev = `${base}/m${level - 1}.parquet`;
    runs.push(['left', [prev], [`${base}/a${level}.parquet`]]);
    runs.push(['right', [prev], [`${base}/b${level}.parquet`]]);
    runs.push([
      'merge',
      [`${base}/a${level}.parquet`, `${base}/b${level}.parquet`],
      [`${base}/m${level}.parquet`],
    ]);
  }
  return {
    key: `diamond${levels}`,
    label: `diamond ${levels} levels`,
    runs,
    traces: [`${base}/m${levels}.parquet`],
    expectedRuns: [1 + 3 * levels],
  };
}

/** mulberry32: a small seeded PRNG, so every round and every system traces the same sample. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A large store: `pipelines` chains of `length` runs, each pipeline with its own ten components,
 * logged interleaved (step 0 of every pipeline, then step 1, ...) as concurrent pipelines would
 * be. Traced: `samples` outputs drawn uniformly (seeded) over every run, so a trace returns on
 * average length/2 runs.
 */
export function store(pipelines: number, length: number, samples: number): Workload {
  const key = `store${short(pipelines * length)}`;
  const uri = (p: number, i: number) => `s3://bench/${key}/p${p}/out-${i}.parquet`;
  const runs: RunSpec[] = [];
  for (let i = 0; i < length; i++) {
    for (let p = 0; p < pipelines; p++) {
      runs.push([
        `p${p}/step-${i % 10}`,
        [i === 0 ? `s3://bench/${key}/p${p}/raw.csv` : uri(p, i - 1)],
        [uri(p, i)],
      ]);
    }
  }
  const random = prng(17);
  const traces: string[] = [];
  const expectedRuns: number[] = [];
  for (let s = 0; s < samples; s++) {
    const p = Math.floor(random() * pipelines);
    const i = Math.floor(random() * length);
    traces.push(uri(p, i));
    expectedRuns.push(i + 1);
  }
  return {
    key,
    label: `store ${short(pipelines * length)} (${pipelines} x ${short(length)})`,
    runs,
    traces,
    expectedRuns,
  };
}

/**
 * Runs logged one at a time on top of a grown store, to measure what one more `logRun` costs at
 * that size: each reads the workload's first traced output (so dependency inference does real
 * work) and writes a new output, starting right after the workload's last run.
 */
export function lateReaders(workload: Workload, count: number, tag: string): RunSpec[] {
  return Array.from(
    { length: count },
    (_, j): RunSpec => [
      'late-reader',
      [workload.traces[0]!],
      [`s3://bench/${workload.key}/late-${tag}-${j}.json`],
    ],
  );
}
