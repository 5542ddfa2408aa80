// The renderer lives in @mltrace/core, shared with `mltrace why` (@mltrace/retraining/explain).
export { renderTree, type TreeNodeView } from '@mltrace/core';
