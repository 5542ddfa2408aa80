import type {
  Component,
  ComponentRun,
  ComponentRunInput,
  IOPointer,
  PointerInput,
  PromotionDecision,
  PromotionDecisionInput,
  RunSource,
  RunStatus,
} from '@mltrace/core';

/** A run in a list or a graph: the run without its code snapshot. */
export type RunSummary = Omit<ComponentRun, 'codeSnapshot'>;

/** A pointer to trace from: a URI (normalised by the store) and, optionally, one version. */
export interface PointerQuery {
  uri: string;
  /** Trace this version; absent means the latest producer of the URI. */
  version?: string;
}

/** A lineage graph: distinct runs and pointers and the edges between them (a DAG, never a tree). */
export interface LineageGraph {
  /** The pointers the walk started from. */
  roots: IOPointer[];
  /** Each run once, with its distance in edges from the roots' producers (upstream) or consumers (downstream). */
  runs: Array<RunSummary & { depth: number }>;
  /** Every pointer read or written by a run of the graph, once. */
  pointers: IOPointer[];
  /** `run` depends on `dependsOn` (both in `runs`). */
  dependencies: Array<{ run: number; dependsOn: number }>;
  /** The depth limit (or the run limit) cut the walk short. */
  truncated: boolean;
}

/** Options of {@link LineageStore.trace} and {@link LineageStore.impact}. */
export interface GraphOptions {
  /** How many dependency edges to follow at most. @default 10_000 */
  maxDepth?: number;
  /** Keep at most this many runs, the nearest first; more set `truncated`. @default no limit */
  maxRuns?: number;
}

/** Options of {@link LineageStore.history}. */
export interface HistoryOptions {
  /** @default 10 */
  limit?: number;
  /** Only runs that started at or after this time. */
  from?: Date;
  /** Only runs that started at or before this time. */
  to?: Date;
}

/** Options of {@link LineageStore.recent}. */
export interface RecentOptions {
  /** @default 20 */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  component?: string;
  status?: RunStatus;
  source?: RunSource;
}

/** A page of runs, newest first. */
export interface RunPage {
  runs: RunSummary[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/** One suspect of {@link LineageStore.review}. */
export interface Suspect {
  run: RunSummary;
  /** How many flagged outputs' traces contain the run (mltrace's count). */
  flaggedCount: number;
  /** flaggedCount / number of flagged outputs (mltrace's coverage). */
  coverage: number;
  /** How many unflagged outputs' traces contain it. */
  unflaggedCount: number;
  /**
   * Ochiai suspiciousness: flagged / sqrt(totalFlagged * (flagged + unflagged)). A run common to
   * every output, good or bad, scores lower than one that only bad outputs share.
   */
  score: number;
}

/** What {@link LineageStore.review} finds. */
export interface Review {
  flagged: IOPointer[];
  /** How many unflagged outputs were traced for comparison. */
  comparedUnflagged: number;
  /** Most suspicious first. */
  suspects: Suspect[];
}

/** What a batch write did. */
export interface LogResult {
  /** One per input run, in order. */
  runs: Array<{ id: number; runKey: string; created: boolean }>;
}

/** Options every store takes. */
export interface StoreOptions {
  /** Directory relative pointer paths are resolved against. @default process.cwd() */
  cwd?: string;
  /** Dependencies older than this make a run stale (mltrace's default: 30 days). @default 2_592_000_000 */
  stalenessThresholdMs?: number;
}

/**
 * The lineage store: the one place ComponentRuns, pointers and their edges are kept. Every
 * write is idempotent by run key. Open one with `openStore()`, `openPgliteStore()` (from
 * `@mltrace/store/pglite`) or `openPostgresStore()` (from `@mltrace/store/postgres`).
 */
export interface LineageStore {
  /** The migrations this open applied, by file name (empty when the schema was current). */
  readonly migrated: string[];
  /** Creates a component, or updates its description, owner and tags. */
  createComponent(component: Partial<Component> & { name: string }): Promise<Component>;
  /** Adds tags to a component (created if missing). */
  tagComponent(name: string, tags: string[]): Promise<Component>;
  /** Components, optionally those with a tag or an owner. */
  components(filter?: { tag?: string; owner?: string }): Promise<Component[]>;
  /** One component by name. Throws NotFoundError. */
  component(name: string): Promise<Component>;
  /** How many runs (and stale runs) each component has, by status: a full count, for metrics. */
  countRuns(): Promise<Array<{ component: string; status: RunStatus; count: number; stale: number }>>;
  /** Every tag in use, sorted. */
  tags(): Promise<string[]>;

  /** Logs one run; see {@link LineageStore.logRuns}. */
  logRun(run: ComponentRunInput): Promise<{ id: number; runKey: string; created: boolean }>;
  /**
   * Logs runs in one transaction, in order (a run may depend on an earlier one of the batch).
   * Re-logging a run key updates the run and adds new I/O, keeping the earliest start time;
   * dependencies, once inferred, are frozen.
   */
  logRuns(runs: ComponentRunInput[]): Promise<LogResult>;
  /** Replaces a run's notes. */
  setNotes(runId: number, notes: string): Promise<void>;

  /** One run by id or run key. Throws NotFoundError. */
  run(idOrKey: number | string): Promise<ComponentRun>;
  /** Runs of a component, newest first. */
  history(component: string, options?: HistoryOptions): Promise<RunSummary[]>;
  /** The most recent runs, newest first, paged by cursor. */
  recent(options?: RecentOptions): Promise<RunPage>;
  /** Pointers by URI (every version), newest first. */
  pointers(uri: string): Promise<IOPointer[]>;

  /** Upstream lineage: the run that produced the pointer and everything it depended on. */
  trace(pointer: PointerQuery, options?: GraphOptions): Promise<LineageGraph>;
  /** Downstream lineage: every run that consumed the pointer, and everything derived from them. */
  impact(pointer: PointerQuery, options?: GraphOptions): Promise<LineageGraph>;

  /** Flags a pointer (one version, or every version). Returns how many pointers it newly flagged. */
  flag(pointer: PointerQuery): Promise<number>;
  /** Unflags a pointer (one version or every version). Returns how many it newly unflagged. */
  unflag(pointer: PointerQuery): Promise<number>;
  /** Unflags everything. */
  unflagAll(): Promise<number>;
  /** Ranks the runs behind the flagged outputs. */
  review(options?: { limit?: number }): Promise<Review>;

  /**
   * Records a model promotion decision with its reasons, idempotent by `decisionKey` (re-recording
   * updates it: awaiting approval, then approved). Throws InvalidInputError for an unknown `runKey`.
   */
  recordPromotionDecision(decision: PromotionDecisionInput): Promise<PromotionDecision>;
  /** Promotion decisions, newest first: of one model, optionally one alias, or of every model. */
  promotions(filter?: { model?: string; alias?: string; limit?: number }): Promise<PromotionDecision[]>;

  /** A bridge's stored sync cursor, or undefined. */
  getSyncState<T>(source: string): Promise<T | undefined>;
  /** Stores a bridge's sync cursor. */
  setSyncState(source: string, state: unknown): Promise<void>;

  /** Closes the connection. */
  close(): Promise<void>;
}

export type {
  Component,
  ComponentRun,
  ComponentRunInput,
  IOPointer,
  PointerInput,
  PromotionDecision,
  PromotionDecisionInput,
};
