import { InvalidInputError } from '@mltrace/core';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import spec from './OpenLineage-2-0-2.json' with { type: 'json' };
import { OPENLINEAGE_SPEC_URL } from './types.js';

// ajv-formats is CommonJS with a `default` property; under NodeNext the default import is the module.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** The kind of an OpenLineage event. */
export type EventKind = 'RunEvent' | 'JobEvent' | 'DatasetEvent';

let validators: Record<EventKind | 'any', ValidateFunction> | undefined;

function compiled(): Record<EventKind | 'any', ValidateFunction> {
  if (validators) return validators;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(spec);
  const get = (ref: string) => {
    const fn = ajv.getSchema(ref);
    if (!fn) throw new Error(`the vendored OpenLineage schema has no ${ref}`);
    return fn;
  };
  validators = {
    any: get(OPENLINEAGE_SPEC_URL),
    RunEvent: get(`${OPENLINEAGE_SPEC_URL}#/$defs/RunEvent`),
    JobEvent: get(`${OPENLINEAGE_SPEC_URL}#/$defs/JobEvent`),
    DatasetEvent: get(`${OPENLINEAGE_SPEC_URL}#/$defs/DatasetEvent`),
  };
  return validators;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'allOf' || e.keyword === 'oneOf') continue;
    const where = e.instancePath === '' ? 'the event' : e.instancePath;
    const extra =
      e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
    seen.add(`${where} ${e.message ?? 'is invalid'}${extra}`);
    if (seen.size === 5) break;
  }
  return [...seen].join('; ');
}

/**
 * Validates an OpenLineage event against the vendored 2-0-2 JSON Schema and tells its kind (a
 * RunEvent has `run`; a DatasetEvent has `dataset`; else a JobEvent). Throws InvalidInputError
 * naming the first problems.
 */
export function validateOpenLineageEvent(event: unknown): EventKind {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidInputError('an OpenLineage event must be a JSON object');
  }
  const v = compiled();
  const kind: EventKind = 'run' in event ? 'RunEvent' : 'dataset' in event ? 'DatasetEvent' : 'JobEvent';
  const specific = v[kind];
  if (!specific(event)) {
    throw new InvalidInputError(
      `not a valid OpenLineage ${kind} (spec 2-0-2): ${describe(specific.errors)}`,
      { hint: 'see https://openlineage.io/spec/2-0-2/OpenLineage.json' },
    );
  }
  if (!v.any(event)) {
    throw new InvalidInputError(`not a valid OpenLineage event (spec 2-0-2): ${describe(v.any.errors)}`);
  }
  return kind;
}
