import { HttpError } from './errors.js';

/** A limit on how many expensive queries run at once; the others wait in a bounded queue. */
export interface QueryGate {
  /** Runs `work` when a slot is free. Throws 503 `unavailable` when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Queries running now. */
  readonly active: number;
  /** Queries waiting for a slot. */
  readonly waiting: number;
}

/** A {@link QueryGate} of `concurrency` slots and a queue of at most `queue` waiting queries. */
export function createQueryGate(concurrency: number, queue: number): QueryGate {
  let active = 0;
  const waiters: Array<() => void> = [];
  return {
    get active() {
      return active;
    },
    get waiting() {
      return waiters.length;
    },
    async run(work) {
      if (active >= concurrency) {
        if (waiters.length >= queue) {
          throw new HttpError('unavailable', 'the server is busy with other heavy queries', {
            hint: 'retry in a moment, or narrow the query (maxDepth, maxRuns)',
          });
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      } else {
        active++;
      }
      try {
        return await work();
      } finally {
        const next = waiters.shift();
        // The slot passes straight to the next waiter.
        if (next) next();
        else active--;
      }
    },
  };
}

/** A lineage graph as the API answers it: the store's, with why and where it was cut. */
interface Graph {
  runs: Array<{ id: number; depth: number; inputs?: Array<{ id: number }>; outputs?: Array<{ id: number }> }>;
  pointers: Array<{ id: number }>;
  dependencies: Array<{ run: number; dependsOn: number }>;
  truncated: boolean;
}

/**
 * Up to this many characters of runs, the JSON made of each run while sizing it is kept and
 * written into the answer as is: one serialisation per run, not two. Larger answers (up to
 * `maxBytes`, 8 MiB by default) serialise again rather than hold the pieces, their join and the
 * answer at once: three copies of a large answer under four concurrent requests took the server
 * past its memory bound (bounded-reads.test.ts).
 */
const KEEP_PIECES_CHARS = 1 << 20;

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `date.toJSON()`, computed in JavaScript for years 1970 to 9999 (days to a civil date, Howard
 * Hinnant's algorithm): V8's own takes ~1 us a date, this ~0.3. Other dates go to `toJSON`.
 */
export function isoString(date: Date): string | null {
  const time = date.getTime();
  if (!(time >= 0 && time < 253_402_300_800_000)) return date.toJSON();
  const days = Math.floor(time / 86_400_000);
  let ms = time - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(ms / 3_600_000);
  ms -= hours * 3_600_000;
  const minutes = Math.floor(ms / 60_000);
  ms -= minutes * 60_000;
  const seconds = Math.floor(ms / 1000);
  ms -= seconds * 1000;
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(ms)}Z`;
}

/**
 * A run's JSON, as `JSON.stringify(run)` writes it, with its dates made strings first: a Date's
 * `toJSON` takes V8's serialiser off its fast path for the whole object. 20 runs, best of 9:
 * ~94 us as they are, ~65 us this way.
 */
function runJson(run: object): string {
  let copy: Record<string, unknown> | undefined;
  for (const key in run) {
    const value = (run as Record<string, unknown>)[key];
    if (value instanceof Date && Object.hasOwn(run, key)) {
      copy ??= { ...run };
      copy[key] = isoString(value);
    }
  }
  return JSON.stringify(copy ?? run);
}

/** `JSON.stringify(value)` of a plain object, with the fields of `written` taken as JSON already. */
function withFields(value: object, written: Record<string, string>): string {
  const fields: string[] = [];
  for (const [key, field] of Object.entries(value)) {
    const text = Object.hasOwn(written, key) ? written[key] : JSON.stringify(field);
    if (text !== undefined) fields.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${fields.join(',')}}`;
}

/**
 * Cuts a graph to at most `maxBytes` of JSON, dropping the farthest runs first (the store already
 * keeps the nearest `maxRuns`); marks it `truncated`, says by what (`truncatedBy`), and gives the
 * depth reached, to narrow the next query from there. Returns the JSON text.
 */
export function boundedGraph<G extends Graph>(
  graph: G,
  limits: { maxRuns: number; maxBytes: number; maxDepth: number },
): string {
  const by: string[] = [];
  if (graph.truncated) by.push(graph.runs.length >= limits.maxRuns ? 'runs' : 'depth');
  // `written`: fields serialised already. Without any, one JSON.stringify: a large answer is then
  // one string, not its fields and their join.
  const answer = (runs: G['runs'], written?: Record<string, string>) => {
    const cut = runs.length < graph.runs.length;
    const ids = new Set(cut ? runs.map((run) => run.id) : []);
    const used = new Set<number>();
    if (cut)
      for (const run of runs) for (const p of [...(run.inputs ?? []), ...(run.outputs ?? [])]) used.add(p.id);
    const value = {
      ...graph,
      runs,
      pointers: cut ? graph.pointers.filter((p) => used.has(p.id)) : graph.pointers,
      dependencies: cut
        ? graph.dependencies.filter((d) => ids.has(d.run) && ids.has(d.dependsOn))
        : graph.dependencies,
      truncated: graph.truncated || cut,
      ...(graph.truncated || cut
        ? {
            truncatedBy: cut ? [...new Set([...by, 'bytes'])] : by,
            limits: { maxRuns: limits.maxRuns, maxBytes: limits.maxBytes, maxDepth: limits.maxDepth },
            reachedDepth: runs.reduce((max, run) => Math.max(max, run.depth), 0),
          }
        : {}),
    };
    return written ? withFields(value, written) : JSON.stringify(value);
  };
  const budget = limits.maxBytes - 1024;
  // Each run's JSON, kept while small (see KEEP_PIECES_CHARS).
  let pieces: string[] | undefined = [];
  let kept = 0;
  for (const run of graph.runs) {
    const piece = runJson(run);
    kept += piece.length;
    if (kept > KEEP_PIECES_CHARS) {
      pieces = undefined;
      break;
    }
    pieces.push(piece);
  }
  // Most answers fit whole: every run, and every pointer at most once, within the budget that
  // the per-run sizing below would apply. Then nothing is sized or serialised twice.
  if (pieces) {
    const pointersText = JSON.stringify(graph.pointers);
    if (kept + 64 * pieces.length + pointersText.length <= budget) {
      const text = answer(graph.runs, { runs: `[${pieces.join(',')}]`, pointers: pointersText });
      if (Buffer.byteLength(text) <= limits.maxBytes) return text;
    }
  }
  // Sizes once per run (its own JSON and its pointers'), then one cut: no re-serialising per try.
  const pointerSize = new Map(graph.pointers.map((p) => [p.id, JSON.stringify(p).length + 1]));
  let left = budget;
  let keep = 0;
  const counted = new Set<number>();
  for (const [i, run] of graph.runs.entries()) {
    let size = (pieces?.[i] ?? runJson(run)).length + 64;
    for (const p of [...(run.inputs ?? []), ...(run.outputs ?? [])])
      if (!counted.has(p.id)) size += pointerSize.get(p.id) ?? 0;
    if (size > left && keep > 0) break;
    left -= size;
    for (const p of [...(run.inputs ?? []), ...(run.outputs ?? [])]) counted.add(p.id);
    keep++;
  }
  const written = (n: number) => (pieces ? { runs: `[${pieces.slice(0, n).join(',')}]` } : undefined);
  let runs = graph.runs.slice(0, keep);
  let text = answer(runs, written(runs.length));
  // Multi-byte text can still overshoot the estimate: cut further until it fits.
  while (Buffer.byteLength(text) > limits.maxBytes && runs.length > 1) {
    runs = runs.slice(0, Math.max(1, Math.floor(runs.length * 0.8)));
    text = answer(runs, written(runs.length));
  }
  return text;
}
