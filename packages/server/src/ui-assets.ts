import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the built web UI, held in memory. */
export interface UiAsset {
  body: Buffer;
  contentType: string;
  /** Hashed file names under `assets/` never change: they may be cached for good. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Where the UI build lives: `dist/ui` beside the compiled server (or above `src/` when run from source). */
export function defaultUiDir(): string | undefined {
  const candidates = [new URL('./ui/', import.meta.url), new URL('../dist/ui/', import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** Reads the whole UI build (a few hundred KiB) into memory, keyed by path under the directory. */
export function loadUiAssets(dir: string | undefined): Map<string, UiAsset> {
  const assets = new Map<string, UiAsset>();
  if (dir === undefined || !existsSync(dir)) return assets;
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const key = relative(dir, full).split(sep).join('/');
      assets.set(key, {
        body: readFileSync(full),
        contentType: TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
        immutable: key.startsWith('assets/'),
      });
    }
  };
  walk(dir);
  return assets;
}

/** The Content-Security-Policy of the UI: only this origin's scripts, styles and API. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The Content-Security-Policy of every other answer (JSON, metrics). */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
