/**
 * The mltrace search attributes on a Temporal namespace: registering them through the operator
 * service (`mltrace temporal setup`), and the worker's decision, taken once at start, whether its
 * workflows write them (the plugin's `patchActivationCallback`).
 */
import type { Logger } from '@mltrace/core';
import type { PatchActivationCallback, PatchActivationInput } from '@temporalio/worker';
import { PATCH_SEARCH_ATTRIBUTES } from './workflow/index.js';

/** A search attribute type, as the Temporal CLI spells it. */
export type SearchAttributeTypeName = 'Keyword' | 'KeywordList';

/** The search attributes mltrace writes, with their types. */
export const MLTRACE_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeTypeName>> = {
  MltraceOutputs: 'KeywordList',
  MltraceModelVersions: 'KeywordList',
  MltraceInputs: 'KeywordList',
  MltracePipelineRun: 'Keyword',
};

/** `temporal.api.enums.v1.IndexedValueType` codes. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeTypeName, number> = { Keyword: 2, KeywordList: 7 };

/** What the operator service calls need of a connection (a client `Connection` or a worker's `NativeConnection`). */
export interface OperatorConnection {
  operatorService: {
    listSearchAttributes(request: { namespace: string }): Promise<{
      customAttributes?: Record<string, unknown> | null;
    }>;
    addSearchAttributes(request: {
      namespace: string;
      searchAttributes: Record<string, number>;
    }): Promise<unknown>;
  };
}

/** What {@link setupSearchAttributes} did. */
export interface SetupResult {
  namespace: string;
  /** Registered by this call. */
  added: string[];
  /** Already there with the right type. */
  existing: string[];
}

/** A search attribute of ours already registered with another type: setup cannot fix it. */
export class SearchAttributeConflictError extends Error {
  override readonly name = 'SearchAttributeConflictError';
  constructor(
    message: string,
    readonly conflicts: Array<{ name: string; expected: SearchAttributeTypeName; actual: unknown }>,
  ) {
    super(message);
  }
}

/** The custom search attributes of a namespace, name to `IndexedValueType` code. */
export async function registeredSearchAttributes(
  connection: OperatorConnection,
  namespace: string,
): Promise<Map<string, number>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  return new Map(
    Object.entries(response.customAttributes ?? {}).map(([name, type]) => [name, Number(type)] as const),
  );
}

/**
 * Registers the {@link MLTRACE_SEARCH_ATTRIBUTES} the namespace lacks, through the operator
 * service. Idempotent: a second call adds nothing and says so.
 *
 * @throws {SearchAttributeConflictError} when one of them exists with another type (nothing is added)
 */
export async function setupSearchAttributes(options: {
  connection: OperatorConnection;
  namespace: string;
}): Promise<SetupResult> {
  const { connection, namespace } = options;
  const existing = await registeredSearchAttributes(connection, namespace);
  const result: SetupResult = { namespace, added: [], existing: [] };
  const missing: Record<string, number> = {};
  const conflicts: SearchAttributeConflictError['conflicts'] = [];
  for (const [name, type] of Object.entries(MLTRACE_SEARCH_ATTRIBUTES)) {
    const actual = existing.get(name);
    if (actual === undefined) missing[name] = INDEXED_VALUE_TYPE[type];
    else if (actual !== INDEXED_VALUE_TYPE[type]) conflicts.push({ name, expected: type, actual });
    else result.existing.push(name);
  }
  if (conflicts.length > 0) {
    throw new SearchAttributeConflictError(
      `namespace ${namespace} has ${conflicts.map((c) => c.name).join(', ')} with another type than mltrace's (${conflicts
        .map((c) => `${c.name} should be ${c.expected}`)
        .join(', ')})`,
      conflicts,
    );
  }
  if (Object.keys(missing).length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    result.added = Object.keys(missing);
  }
  return result;
}

/**
 * Decides, for one worker, which of the plugin's patches new workflow runs take: the
 * search-attribute patches only when the namespace has their attributes (checked once, at worker
 * start, off the hot path), every other patch as the user's own callback says (default on).
 * Replays follow the markers in the history whatever this says.
 */
export class PatchGate {
  /** Registered attributes, once {@link check} has run; until then no search-attribute patch is taken. */
  private available: Set<string> | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly mode: boolean | 'auto',
    private readonly logger: Logger,
  ) {}

  /** Starts the check of the worker's namespace (once); {@link ready} waits for it. */
  check(connection: OperatorConnection | undefined, namespace: string): void {
    if (this.mode !== 'auto' || this.pending) return;
    if (!connection) {
      this.available = new Set();
      return;
    }
    this.pending = registeredSearchAttributes(connection, namespace).then(
      (attributes) => {
        this.available = new Set(attributes.keys());
        const missing = Object.keys(MLTRACE_SEARCH_ATTRIBUTES).filter((name) => !this.available?.has(name));
        if (missing.length > 0) {
          this.logger.info(
            'mltrace: some search attributes are not registered; workflows will not write them',
            {
              namespace,
              missing,
              fix: `mltrace temporal setup --namespace ${namespace}`,
            },
          );
        }
      },
      (error: unknown) => {
        this.available = new Set();
        this.logger.warn('mltrace: could not list the search attributes; workflows will not write them', {
          namespace,
          error: (error as Error).message,
        });
      },
    );
  }

  /** Resolves when the namespace check is done (at once when there is none). */
  async ready(): Promise<void> {
    await this.pending;
  }

  /** Whether new runs take `patchId`, or undefined for a patch that is not a search-attribute one. */
  decide(patchId: string): boolean | undefined {
    const needs = PATCH_SEARCH_ATTRIBUTES[patchId];
    if (!needs) return undefined;
    if (this.mode !== 'auto') return this.mode;
    const available = this.available;
    return available !== undefined && needs.every((name) => available.has(name));
  }

  /** The worker's `patchActivationCallback`: this gate first, then the user's own (if any). */
  callback(user: PatchActivationCallback | undefined): PatchActivationCallback {
    return (input: PatchActivationInput) => this.decide(input.patchId) ?? (user ? user(input) : true);
  }
}
