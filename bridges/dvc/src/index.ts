/**
 * `@mltrace/dvc`: the DVC bridge of mltrace for Temporal. Reads `.dvc` files and `dvc.lock` across
 * git history (one `git log`, one `git cat-file --batch`; no `dvc` process) and turns them into
 * lineage: every data version is a versioned pointer (the file's `file://` URI, its DVC hash as
 * the version), every stage execution recorded in `dvc.lock` and every `.dvc` file change is a
 * ComponentRun at its commit, and every GTO tag a promotion run.
 *
 * @example
 * ```ts
 * import { formatSummary, resolveDvcPointer, syncDvc } from '@mltrace/dvc';
 * import { openPgliteStore } from '@mltrace/store/pglite';
 *
 * const store = await openPgliteStore();
 * const summary = await syncDvc({ store, repo: '/work/taxi' });
 * console.log(formatSummary(summary));
 * const data = await resolveDvcPointer({ repo: '/work/taxi', path: 'data/raw.csv', rev: 'v1' });
 * // { uri: 'file:///work/taxi/data/raw.csv', version: '91b3d3f9…', algorithm: 'md5', commit: '…', ... }
 * ```
 * @module
 */
export {
  type DvcConfig,
  mergeDvcConfigs,
  parseDvcConfig,
  type RemoteLocation,
  remoteLocation,
} from './config.js';
export { DvcFileError } from './errors.js';
export {
  type DvcEntry,
  type DvcFile,
  type DvcImport,
  type HashAlgorithm,
  type LockFile,
  type LockStage,
  parseDvcFile,
  parseLockFile,
} from './formats.js';
export { type GtoAction, type GtoTag, parseGtoTag } from './gto.js';
export { type DvcHistory, type ReadDvcHistoryOptions, readDvcHistory } from './history.js';
export type { EntryDetails } from './pointers.js';
export { gtoUri } from './promotions.js';
export { type DvcPointer, type ResolveDvcPointerOptions, resolveDvcPointer } from './resolve.js';
export {
  type DvcSyncCursor,
  type DvcSyncError,
  type DvcSyncProgress,
  type DvcSyncSummary,
  dvcSyncSource,
  formatSummary,
  type SyncDvcOptions,
  syncDvc,
} from './sync.js';
