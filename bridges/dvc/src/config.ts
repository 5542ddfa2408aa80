/**
 * `.dvc/config` (configobj-style INI) and the remote object URL of a data version, computed the
 * way DVC does without calling DVC: DVC 3 objects (`hash: md5`) live under
 * `<remote>/files/md5/<h[0:2]>/<h[2:]>`, legacy DVC 2 objects under `<remote>/<h[0:2]>/<h[2:]>`.
 */
import { isAbsolute, resolve } from 'node:path';
import type { DvcEntry } from './formats.js';

/** A parsed DVC config: sections (`core`, `remote "name"`, `cache`) of string values. */
export type DvcConfig = Map<string, Map<string, string>>;

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.at(-1) === v[0]) return v.slice(1, -1);
  // configobj: an unquoted value ends at an inline comment.
  const hash = v.search(/\s#/);
  return hash === -1 ? v : v.slice(0, hash).trim();
}

/**
 * Parses a DVC config file. Section headers may be quoted as DVC writes them
 * (`['remote "local"']`) or not (`[remote "local"]`); both give the section `remote "local"`.
 */
export function parseDvcConfig(text: string): DvcConfig {
  const config: DvcConfig = new Map();
  let section: Map<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[+\s*(.*?)\s*\]+$/.exec(line);
    if (header) {
      const name = unquote(header[1] ?? '').replace(/\s+/g, ' ');
      section = config.get(name) ?? new Map();
      config.set(name, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq === -1 || !section) continue;
    section.set(line.slice(0, eq).trim(), unquote(line.slice(eq + 1)));
  }
  return config;
}

/** Merges configs, later ones winning per key (`config` then `config.local`). */
export function mergeDvcConfigs(...configs: Array<DvcConfig | undefined>): DvcConfig {
  const merged: DvcConfig = new Map();
  for (const config of configs) {
    if (!config) continue;
    for (const [name, values] of config) {
      const section = merged.get(name) ?? new Map<string, string>();
      for (const [key, value] of values) section.set(key, value);
      merged.set(name, section);
    }
  }
  return merged;
}

/** Where a version's object lives. */
export interface RemoteLocation {
  /** The remote's name. */
  remote: string;
  /** The object URL (a local remote gives an absolute path, as `dvc get --show-url` prints). */
  url: string;
}

/**
 * The remote URL of an entry's object: the entry's own remote, else `core.remote`; a relative
 * remote URL is resolved against the `.dvc/` directory (`dvcDir`). Undefined when the entry has no
 * md5 (`etag`/`checksum` external paths), is not cached (`cache: false`), when no remote is named
 * or defined, or when the remote is cloud-versioned (objects stored by path, not by hash).
 */
export function remoteLocation(
  entry: Pick<DvcEntry, 'hash' | 'algorithm' | 'cache' | 'remote'>,
  config: DvcConfig | undefined,
  dvcDir: string,
): RemoteLocation | undefined {
  if (!config || entry.cache === false || !entry.hash) return undefined;
  if (entry.algorithm !== 'md5' && entry.algorithm !== 'md5-dos2unix') return undefined;
  const name = entry.remote ?? config.get('core')?.get('remote');
  if (!name) return undefined;
  const section = config.get(`remote "${name}"`);
  const base = section?.get('url');
  if (!section || !base) return undefined;
  if (section.get('version_aware') === 'true' || section.get('worktree') === 'true') return undefined;
  const hasScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(base);
  const root = hasScheme || isAbsolute(base) ? base : resolve(dvcDir, base);
  const prefix = entry.algorithm === 'md5' ? 'files/md5/' : '';
  return {
    remote: name,
    url: `${root.replace(/\/+$/, '')}/${prefix}${entry.hash.slice(0, 2)}/${entry.hash.slice(2)}`,
  };
}
