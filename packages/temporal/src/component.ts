import type { PointerInput } from '@mltrace/core';

// biome-ignore lint/suspicious/noExplicitAny: activity functions take and return anything
type AnyFunction = (...args: any[]) => any;

/** Pointers as extractors return them: URIs or paths, or `{ uri, version?, type? }`. */
export type Pointers = Array<string | PointerInput> | string | PointerInput | undefined | null;

/** A check's verdict: `false` or a message fails it; `true` or nothing passes; throwing fails it. */
// biome-ignore lint/suspicious/noConfusingVoidType: a check may return nothing (it passes)
export type CheckResult = boolean | string | undefined | void;

/** A check: a function (named by its `name`) or `{ name, check }`. */
export type Check<Args extends unknown[]> =
  | ((...args: Args) => CheckResult | Promise<CheckResult>)
  | { name: string; check: (...args: Args) => CheckResult | Promise<CheckResult> };

/** What `component()` declares about an activity (mltrace's `@register`). */
export interface ComponentSpec<F extends AnyFunction> {
  /** The component name. @default the activity type */
  name?: string;
  /** Input pointers from the arguments (mltrace's `input_vars`). @default automatic discovery */
  inputs?: (...args: Parameters<F>) => Pointers;
  /** Output pointers from the result (mltrace's `output_vars`). @default automatic discovery */
  outputs?: (result: Awaited<ReturnType<F>>, ...args: Parameters<F>) => Pointers;
  /** Also run automatic discovery on the side(s) that have a declared extractor. @default false */
  autoPointers?: boolean;
  /** Checks over the arguments, run before the activity (mltrace's `beforeTests`). */
  beforeRun?: Array<Check<Parameters<F>>>;
  /** Checks over the result and the arguments, run after it succeeds (mltrace's `afterTests`). */
  afterRun?: Array<Check<[Awaited<ReturnType<F>>, ...Parameters<F>]>>;
  /**
   * What a failing check does: `warn` records it and carries on; `fail` fails the attempt with a
   * non-retryable `ApplicationFailure` of type `MltraceCheckFailed`.
   * @default the plugin's `onCheckFailure` ('warn')
   */
  onCheckFailure?: 'warn' | 'fail';
}

/** The spec as stored (type-erased). */
export interface RegisteredComponent {
  name?: string;
  inputs?: (...args: unknown[]) => Pointers;
  outputs?: (result: unknown, ...args: unknown[]) => Pointers;
  autoPointers: boolean;
  beforeRun: Array<{ name: string; check: (...args: unknown[]) => CheckResult | Promise<CheckResult> }>;
  afterRun: Array<{ name: string; check: (...args: unknown[]) => CheckResult | Promise<CheckResult> }>;
  onCheckFailure?: 'warn' | 'fail';
}

const registry = new WeakMap<AnyFunction, RegisteredComponent>();

function normaliseChecks(
  checks: Array<Check<never[]>> | undefined,
  phase: string,
): RegisteredComponent['beforeRun'] {
  return (checks ?? []).map((check, index) => {
    if (typeof check === 'function') {
      return {
        name: check.name || `${phase}#${index + 1}`,
        check: check as RegisteredComponent['beforeRun'][0]['check'],
      };
    }
    return { name: check.name, check: check.check as RegisteredComponent['beforeRun'][0]['check'] };
  });
}

/**
 * Declares an activity as an mltrace component: its name, how to find its input and output
 * pointers, and checks over its arguments and result. Returns the same function, so activity
 * code, registration and `proxyActivities<typeof activities>` types are unchanged.
 *
 * @example
 * ```ts
 * export const train = component(
 *   async function train(featuresPath: string, modelPath: string) { ...; return { modelPath }; },
 *   {
 *     name: 'training',
 *     inputs: (featuresPath) => [featuresPath],
 *     outputs: (result) => [result.modelPath],
 *     afterRun: [function modelWritten(result) { return existsSync(result.modelPath); }],
 *   },
 * );
 * ```
 */
export function component<F extends AnyFunction>(fn: F, spec: ComponentSpec<F> = {}): F {
  if (typeof fn !== 'function') throw new TypeError('component() takes an activity function');
  registry.set(fn, {
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.inputs ? { inputs: spec.inputs as RegisteredComponent['inputs'] } : {}),
    ...(spec.outputs ? { outputs: spec.outputs as RegisteredComponent['outputs'] } : {}),
    autoPointers: spec.autoPointers ?? false,
    beforeRun: normaliseChecks(spec.beforeRun as Array<Check<never[]>> | undefined, 'beforeRun'),
    afterRun: normaliseChecks(spec.afterRun as Array<Check<never[]>> | undefined, 'afterRun'),
    ...(spec.onCheckFailure ? { onCheckFailure: spec.onCheckFailure } : {}),
  });
  return fn;
}

/** The spec `component()` attached to a function, if any. */
export function componentOf(fn: unknown): RegisteredComponent | undefined {
  return typeof fn === 'function' ? registry.get(fn as AnyFunction) : undefined;
}

/** Normalises an extractor's return value to a list. */
export function pointerList(value: Pointers): Array<string | PointerInput> {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
