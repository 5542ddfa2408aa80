/**
 * The parts of the OpenLineage 2-0-x event model the server reads and writes. Facets are open
 * maps; the standard ones it understands are typed loosely and read defensively.
 */

/** Every facet carries these two fields. */
export interface BaseFacet {
  _producer: string;
  _schemaURL: string;
  [field: string]: unknown;
}

export type Facets = Record<string, BaseFacet>;

export type EventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

export interface OpenLineageDataset {
  namespace: string;
  name: string;
  facets?: Facets;
  inputFacets?: Facets;
  outputFacets?: Facets;
}

export interface OpenLineageRunEvent {
  eventType?: EventType;
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets?: Facets };
  job: { namespace: string; name: string; facets?: Facets };
  inputs?: OpenLineageDataset[];
  outputs?: OpenLineageDataset[];
}

/** Spec version the server validates against and emits. */
export const OPENLINEAGE_SPEC_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json';
export const RUN_EVENT_SCHEMA_URL = `${OPENLINEAGE_SPEC_URL}#/$defs/RunEvent`;
