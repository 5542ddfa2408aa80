/**
 * How MLflow things become pointers: model versions, aliases and stages as `models:/` URIs, and
 * dataset inputs as the URIs of their sources, normalised like every other source of lineage so a
 * DVC-tracked file logged by MLflow is the same pointer as the one the DVC bridge records.
 */
import { normalizeUri, type PointerInput } from '@mltrace/core';
import type { DatasetInput } from './types.js';

/** `models:/NAME/VERSION`: one registered version (immutable, so the pointer needs no version). */
export function versionUri(name: string, version: string): string {
  return `models:/${name}/${version}`;
}

/** `models:/NAME@ALIAS`: what an alias names; its pointer version is the model version it points to. */
export function aliasUri(name: string, alias: string): string {
  return `models:/${name}@${alias}`;
}

/** `models:/NAME/STAGE` (MLflow's own URI for a stage); its pointer version is the model version. */
export function stageUri(name: string, stage: string): string {
  return `models:/${name}/${stage}`;
}

/** The LoggedModel id of an MLflow 3 version source `models:/m-<id>`, else undefined. */
export function loggedModelIdOf(source: string): string | undefined {
  return /^models:\/(m-[0-9a-zA-Z]+)\/?$/.exec(source)?.[1];
}

/** A copy's source: `models:/NAME/VERSION` (not a LoggedModel `models:/m-...`, not an alias or stage). */
export function parseModelVersionUri(source: string): { name: string; version: string } | undefined {
  const match = /^models:\/(.+)\/(\d+)\/?$/i.exec(source.trim());
  if (!match || match[1] === undefined || match[2] === undefined) return undefined;
  return { name: match[1], version: match[2] };
}

const DVC_MD5 = /^[0-9a-f]{32}(\.dir)?$/;

/** Query parameters that carry credentials (presigned S3/GCS URLs, Azure SAS, tokens). */
const SECRET_PARAMS =
  /^(x-amz-(signature|credential|security-token)|x-goog-(signature|credential)|sig|signature|se|sp|sv|token|access_token|api[-_]?key)$/i;

/**
 * A URI without credentials: user and password removed, and the query parameters of presigned
 * URLs and tokens dropped, so that no secret of a dataset source reaches the lineage store.
 */
export function stripCredentials(uri: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri.replace(/\/\/[^@/]*@/, '//');
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    changed = true;
  }
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) {
      url.searchParams.delete(key);
      changed = true;
    }
  }
  return changed ? url.toString() : uri;
}

/** Whether a digest is a DVC content hash (md5, or md5 + `.dir` for a directory). */
export function isDvcMd5(digest: string): boolean {
  return DVC_MD5.test(digest);
}

/** What a dataset input names, once normalised. */
export interface DatasetPointer extends PointerInput {
  uri: string;
  version: string;
  /** `training`, `evaluation`, ... (`mlflow.data.context`), when logged. */
  context: string;
  name: string;
  sourceType: string;
  /** The digest is a DVC md5, so the pointer is the same (uri, version) the DVC bridge records. */
  dvc: boolean;
}

function parseSource(source: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(source);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * The location a dataset source names, by source type: `{"uri"}` (local, s3, gs, artifact
 * repositories), `{"url"}` (http), `{"path"}` (Hugging Face, Delta, Spark), `{"table_name"}` (Spark,
 * Delta, Unity Catalog tables). Undefined for sources with no location (`code`, in-memory).
 */
export function datasetLocation(sourceType: string, source: string): string | undefined {
  const parsed = parseSource(source);
  const type = sourceType.toLowerCase();
  if (type === 'hugging_face') {
    const path = str(parsed.path);
    return path ? `hf://datasets/${path}` : undefined;
  }
  const location = str(parsed.uri) ?? str(parsed.url) ?? str(parsed.path);
  if (location) return location;
  const table = str(parsed.table_name) ?? str(parsed.delta_table_name);
  if (table) return `table:${table}`;
  // A bare string source (older clients) is its own location.
  return parsed && Object.keys(parsed).length === 0 && str(source) && !source.trim().startsWith('{')
    ? source.trim()
    : undefined;
}

/**
 * The pointer of a dataset input: its source location normalised (relative local paths against
 * `cwd`, the directory training ran in), with MLflow's digest as the version. Sources with no
 * location become `mlflow-dataset:<name>`.
 */
export function datasetPointer(input: DatasetInput, cwd: string): DatasetPointer {
  const { dataset } = input;
  const location = datasetLocation(dataset.sourceType, dataset.source);
  let uri: string;
  try {
    uri = normalizeUri(stripCredentials(location ?? `mlflow-dataset:${dataset.name || 'unnamed'}`), { cwd });
  } catch {
    uri = `mlflow-dataset:${dataset.name || 'unnamed'}`;
  }
  return {
    uri,
    version: dataset.digest,
    type: 'data',
    context: input.tags['mlflow.data.context'] ?? '',
    name: dataset.name,
    sourceType: dataset.sourceType,
    dvc: isDvcMd5(dataset.digest),
  };
}
