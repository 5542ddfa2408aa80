import { redactPromotionDecision, redactRunInput, redactText, redactValue } from '@mltrace/core';
import type { LineageStore } from './api.js';

/**
 * The store with the one redaction policy of `@mltrace/core` applied at every write entry, before
 * anything is built from the input: runs (`logRun`, `logRuns`), notes, components and promotion
 * decisions. So no writer (the Temporal plugin, the bridges, OpenLineage ingest, imports, the CLI,
 * the server) can store a secret, and none needs its own copy of the policy.
 */
export function redactingWrites(store: LineageStore): LineageStore {
  return {
    ...store,
    logRun: (run) => store.logRuns([redactRunInput(run)]).then(({ runs }) => runs[0]!),
    logRuns: (runs) => store.logRuns(Array.isArray(runs) ? runs.map(redactRunInput) : runs),
    setNotes: (runId, notes) => store.setNotes(runId, typeof notes === 'string' ? redactText(notes) : notes),
    createComponent: (component) => store.createComponent(redactValue(component)),
    tagComponent: (name, tags) => store.tagComponent(redactText(name), redactValue(tags)),
    recordPromotionDecision: (decision) => store.recordPromotionDecision(redactPromotionDecision(decision)),
  };
}
