/**
 * MLflow run artifacts from TypeScript: logging a local file into a run's artifacts (through the
 * tracking server's artifact proxy, or straight into a local artifact directory) and downloading
 * a model version's files. The REST client of `@mltrace/mlflow` covers the registry and runs; the
 * artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`) is a separate file API.
 * @module
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, UnavailableError } from '@mltrace/core';
import type { MlflowClient } from '@mltrace/mlflow';

/** Options shared by the artifact helpers. */
export interface ArtifactOptions {
  /** The tracking server (its artifact proxy serves `mlflow-artifacts:` URIs). */
  client: MlflowClient;
  /** Extra headers of artifact requests (e.g. `Authorization`). @default {} */
  headers?: Record<string, string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** The proxy path of an `mlflow-artifacts:` URI (`mlflow-artifacts:/1/abc/artifacts` → `1/abc/artifacts`). */
function proxyPath(uri: string): string {
  const rest = uri.replace(/^mlflow-artifacts:/i, '');
  // mlflow-artifacts://host:port/path names a server; we talk to the client's own.
  return (rest.startsWith('//') ? rest.replace(/^\/\/[^/]*/, '') : rest)
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function proxyUrl(client: MlflowClient, path: string): string {
  return `${client.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${encodePath(path)}`;
}

async function check(response: Response, what: string): Promise<Response> {
  if (response.ok) return response;
  const body = (await response.text().catch(() => '')).slice(0, 300);
  throw new UnavailableError(`${what} failed: HTTP ${response.status} ${body}`, {
    hint: 'the tracking server must serve artifacts (mlflow server --serve-artifacts, the default)',
  });
}

/**
 * Logs a local file into a run's artifacts under `artifactPath` and returns the artifact
 * directory's URI (`<run artifact URI>/<artifactPath>`), the `source` of a model version.
 * `mlflow-artifacts:` runs upload through the tracking server; `file:` runs are written in place.
 */
export async function logArtifact(
  options: ArtifactOptions & { artifactUri: string; localPath: string; artifactPath?: string },
): Promise<string> {
  const artifactPath = (options.artifactPath ?? '').replace(/^\/+|\/+$/g, '');
  const dirUri = artifactPath
    ? `${options.artifactUri.replace(/\/+$/, '')}/${artifactPath}`
    : options.artifactUri;
  const name = basename(options.localPath);
  if (/^mlflow-artifacts:/i.test(options.artifactUri)) {
    const body = await readFile(options.localPath);
    const doFetch = options.fetch ?? globalThis.fetch;
    await check(
      await doFetch(proxyUrl(options.client, posix.join(proxyPath(dirUri), name)), {
        method: 'PUT',
        body,
        headers: { 'Content-Type': 'application/octet-stream', ...(options.headers ?? {}) },
      }),
      `uploading ${name} to ${dirUri}`,
    );
    return dirUri;
  }
  if (/^file:/i.test(options.artifactUri) || options.artifactUri.startsWith('/')) {
    const dir = options.artifactUri.startsWith('/') ? dirUri : fileURLToPath(dirUri);
    await mkdir(dir, { recursive: true });
    await copyFile(options.localPath, join(dir, name));
    return dirUri;
  }
  throw new InvalidInputError(
    `cannot log artifacts to ${options.artifactUri}: only mlflow-artifacts: and file: are supported`,
  );
}

/** The files under a directory of the artifact proxy, recursively, as proxy paths. */
async function listProxy(options: ArtifactOptions, path: string): Promise<string[]> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${options.client.trackingUri}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(path)}`;
  const response = await check(await doFetch(url, { headers: options.headers ?? {} }), `listing ${path}`);
  const listing = (await response.json()) as { files?: Array<{ path: string; is_dir?: boolean }> };
  const out: string[] = [];
  for (const file of listing.files ?? []) {
    const child = posix.join(path, file.path);
    if (file.is_dir) out.push(...(await listProxy(options, child)));
    else out.push(child);
  }
  return out;
}

/**
 * Downloads a model's files into `dir` and returns the local directory holding them. `source` is
 * a model version's source: `mlflow-artifacts:/...`, `runs:/<run id>/<path>`, or a local
 * `file:` URI or path (returned as is, nothing copied).
 */
export async function downloadArtifacts(
  options: ArtifactOptions & { source: string; dir: string },
): Promise<string> {
  let source = options.source;
  const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (runs) {
    const run = await options.client.getRun(runs[1]!);
    source = runs[2] ? `${run.info.artifactUri.replace(/\/+$/, '')}/${runs[2]}` : run.info.artifactUri;
  }
  if (/^file:/i.test(source)) return fileURLToPath(source);
  if (source.startsWith('/')) return source;
  if (!/^mlflow-artifacts:/i.test(source)) {
    throw new InvalidInputError(
      `cannot download ${options.source}: only mlflow-artifacts:, runs:/ and file: are supported`,
    );
  }
  const root = proxyPath(source);
  const doFetch = options.fetch ?? globalThis.fetch;
  let files = await listProxy(options, root);
  if (files.length === 0) files = [root]; // a single file
  for (const file of files) {
    const relative = file === root ? basename(file) : posix.relative(root, file);
    const target = join(options.dir, ...relative.split('/'));
    await mkdir(dirname(target), { recursive: true });
    const response = await check(
      await doFetch(proxyUrl(options.client, file), { headers: options.headers ?? {} }),
      `downloading ${file}`,
    );
    await writeFile(target, Buffer.from(await response.arrayBuffer()));
  }
  return options.dir;
}

/** The id of the experiment with this name, created when missing. */
export async function ensureExperiment(client: MlflowClient, name: string): Promise<string> {
  const find = async () => {
    const page = await client.searchExperiments({
      filter: `name = '${name.replace(/'/g, "\\'")}'`,
      viewType: 'ACTIVE_ONLY',
    });
    return page.items.find((e) => e.name === name)?.experimentId;
  };
  const existing = await find();
  if (existing) return existing;
  try {
    return await client.createExperiment(name);
  } catch (error) {
    // Created concurrently by another run: read it back.
    const again = await find();
    if (again) return again;
    throw error;
  }
}
