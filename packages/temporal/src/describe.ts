import { type Logger, normalizeUri, type PointerInput } from '@mltrace/core';
import { type Pointers, pointerList, type RegisteredComponent } from './component.js';
import type { ResolvedOptions } from './options.js';
import { type Json, previewValue } from './sanitize.js';
import { findPointers } from './workflow/pointers.js';
import { type SecretKeyTest, scrubUri, secretKeyTest } from './workflow/redact.js';

/** The options {@link RunDescriber} reads. */
export type DescribeOptions = Pick<
  ResolvedOptions,
  'pointers' | 'redactKeys' | 'maxPayloadChars' | 'maxStringChars' | 'cwd' | 'logger'
>;

/** The work counters a {@link RunDescriber} increments (see the recorder's stats). */
export interface DescribeCounters {
  previews: number;
  pointerScans: number;
  hashes: number;
}

/**
 * Describes what an activity read and wrote: pointers (declared, custom, automatic, added at
 * run time; credentials scrubbed, paths made absolute) and redacted, size-capped previews of
 * values. Shared by the activity interceptor and the history backfill.
 */
export class RunDescriber {
  readonly isSecretKey: SecretKeyTest;
  private readonly logger: Logger;

  constructor(
    private readonly options: DescribeOptions,
    private readonly counters: DescribeCounters = { previews: 0, pointerScans: 0, hashes: 0 },
  ) {
    this.isSecretKey = secretKeyTest(options.redactKeys);
    this.logger = options.logger;
  }

  /** A redacted, size-capped copy of a value. */
  preview(value: unknown): Json {
    this.counters.previews++;
    return previewValue(value, {
      isSecretKey: this.isSecretKey,
      maxStringChars: this.options.maxStringChars,
      maxPayloadChars: this.options.maxPayloadChars,
      counters: this.counters,
    });
  }

  /**
   * The pointers of one side of a run: the declared extractor's (if any), else the custom
   * extractor's, else the automatic ones (both when the spec sets `autoPointers`), plus `added`.
   */
  pointers(
    role: 'inputs' | 'outputs',
    activityType: string,
    spec: RegisteredComponent | undefined,
    args: readonly unknown[],
    result: unknown,
    added: ReadonlyArray<string | PointerInput> = [],
  ): PointerInput[] {
    this.counters.pointerScans++;
    const found: Array<string | PointerInput> = [];
    const declared = role === 'inputs' ? spec?.inputs : spec?.outputs;
    if (declared) {
      try {
        const extracted =
          role === 'inputs'
            ? (declared as (...a: unknown[]) => Pointers)(...args)
            : (declared as (r: unknown, ...a: unknown[]) => Pointers)(result, ...args);
        found.push(...pointerList(extracted));
      } catch (error) {
        this.logger.warn('mltrace: a component pointer extractor threw', {
          activityType,
          role,
          error: String(error),
        });
      }
    }
    if (!declared || spec?.autoPointers) {
      const custom = this.options.pointers.extract;
      let fromCustom: Array<string | PointerInput> | undefined;
      if (custom) {
        try {
          fromCustom = custom({ role, activityType, args, ...(role === 'outputs' ? { result } : {}) });
        } catch (error) {
          this.logger.warn('mltrace: the pointer extractor threw', {
            activityType,
            role,
            error: String(error),
          });
        }
      }
      if (fromCustom) found.push(...fromCustom);
      else if (this.options.pointers.auto) {
        found.push(
          ...findPointers(role === 'inputs' ? args : result, {
            maxPointers: this.options.pointers.maxPointers,
            maxDepth: this.options.pointers.maxDepth,
            maxNodes: this.options.pointers.maxNodes,
            isSecretKey: this.isSecretKey,
          }),
        );
      }
    }
    found.push(...added);
    return this.normalise(found);
  }

  /** Pointers with credentials scrubbed and local paths made absolute (against `cwd`), deduplicated. */
  normalise(list: ReadonlyArray<string | PointerInput>): PointerInput[] {
    const out = new Map<string, PointerInput>();
    const max = Math.max(1, this.options.pointers.maxPointers) * 2;
    for (const item of list) {
      const pointer = typeof item === 'string' ? { uri: item } : item;
      if (!pointer || typeof pointer.uri !== 'string') continue;
      try {
        const uri = normalizeUri(scrubUri(pointer.uri.trim(), this.isSecretKey), { cwd: this.options.cwd });
        const version = typeof pointer.version === 'string' ? pointer.version : undefined;
        out.set(`${uri}\0${version ?? ''}`, {
          uri,
          ...(version ? { version } : {}),
          ...(pointer.type ? { type: pointer.type } : {}),
        });
      } catch {
        // not a usable URI (empty, control characters): skip it
      }
      if (out.size >= max) break;
    }
    return [...out.values()];
  }
}
