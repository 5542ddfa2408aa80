/**
 * The workflow interceptor module of the mltrace plugin with search attributes on: the same
 * interceptors as `@mltrace/temporal/workflow`, plus upserts of `MltraceOutputs`,
 * `MltraceModelVersions` and `MltracePipelineRun` guarded by `patched()`. The plugin uses it when
 * `searchAttributes: true`; register the attributes on the namespace first.
 * @module
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { createLineageInterceptors } from './index.js';

/** The interceptors factory, as `workflowModules` expects. */
export const interceptors: WorkflowInterceptorsFactory = createLineageInterceptors({
  searchAttributes: true,
});
