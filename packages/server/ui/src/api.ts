/** The UI's client of the JSON API (same origin). */

export type RunStatus = 'running' | 'pending' | 'succeeded' | 'failed' | 'cancelled';

export interface IOPointer {
  id: number;
  uri: string;
  version: string;
  type: string;
  flag: boolean;
}

export interface WorkflowContext {
  namespace?: string;
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  taskQueue?: string;
  parentWorkflowId?: string;
  rootWorkflowId?: string;
}

export interface RunSummary {
  id: number;
  runKey: string;
  component: string;
  source: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  attempt: number | null;
  gitCommit: string | null;
  codeHash: string | null;
  error: { message: string; type: string | null } | null;
  notes: string;
  stale: string[];
  workflow: WorkflowContext;
  metadata: Record<string, unknown>;
  inputs: IOPointer[];
  outputs: IOPointer[];
  dependsOn: number[];
}

export interface ComponentRun extends RunSummary {
  codeSnapshot: string | null;
}

export interface LineageGraph {
  roots: IOPointer[];
  runs: Array<RunSummary & { depth: number }>;
  pointers: IOPointer[];
  dependencies: Array<{ run: number; dependsOn: number }>;
  truncated: boolean;
}

export interface Component {
  name: string;
  description: string;
  owner: string;
  tags: string[];
}

export interface Review {
  flagged: IOPointer[];
  comparedUnflagged: number;
  suspects: Array<{
    run: RunSummary;
    flaggedCount: number;
    coverage: number;
    unflaggedCount: number;
    score: number;
  }>;
}

/** One entry of `GET /promotions` (`Promotion` of `@mltrace/store`, dates as ISO strings). */
export interface PromotionEntry {
  /** `decision`: the retraining workflow's; `alias` / `stage`: a move synced from MLflow's registry. */
  kind: 'decision' | 'alias' | 'stage';
  model: string;
  alias: string | null;
  stage: string | null;
  /** promote, reject, awaiting_approval... or set, moved, removed, transition. */
  action: string;
  from: string[];
  to: string | null;
  at: string;
  detectedAt: string | null;
  who: string | null;
  reasons: string[];
  decisionId: number | null;
  approvalComment: string | null;
  policy: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  runId: number | null;
}

export interface ServerConfig {
  apiVersion: number;
  temporalUiUrl: string;
  auth: { read: boolean; write: boolean };
  limits: { maxPageSize: number; defaultTraceDepth: number; maxTraceDepth: number };
}

/** An error answer of the API: `{ error: { code, message, hint? } }`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;
  constructor(status: number, code: string, message: string, hint?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

const TOKEN_KEY = 'mltrace.token';

/** The bearer token the user entered (kept for this browser tab only). */
export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Calls `/api/v1<path>`; throws ApiError on an error answer. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'error',
      error?.message ?? response.statusText,
      error?.hint,
    );
  }
  return json as T;
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export interface RunPage {
  runs: RunSummary[];
  nextCursor?: string;
}
