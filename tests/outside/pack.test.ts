/**
 * What `npm pack` makes of each package meant for users: its README, license and types, every
 * `exports`/`bin` target, none of the test code, and every import the built code makes resolvable
 * from what the package declares. Prints each tarball's size and file count.
 */
import { readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { repoRoot } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestOf, packAll, type Tarball, USER_PACKAGES } from './pack.js';

/** Paths that are test code, fixtures or test workers, wherever they are. */
const TEST_CODE =
  /(^|\/)(test|tests|__tests__|fixtures|test-histories|test-fixtures)\/|\.test\.[cm]?[jt]s$|(^|\/)test-[^/]*\.[cm]?[jt]s$|-behaviour\.|\.recorder\.|(^|\/)vitest\.config\./;

/** Import specifiers of an ES module: static, re-exports, side-effect and literal dynamic imports. */
function importsOf(code: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) if (m[1]) found.add(m[1]);
  return [...found];
}

/** `@scope/name/sub` -> `@scope/name`; `name/sub` -> `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

const builtins = new Set(builtinModules);

let dir: string;
let tarballs: Tarball[];

beforeAll(async () => {
  dir = join(tmpdir(), `mltrace-pack-check-${process.pid}`);
  tarballs = await packAll(dir);
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm pack of each package meant for users', () => {
  it('packs all of them, and says how big each is', () => {
    expect(tarballs.map((t) => t.name).sort()).toEqual(
      [
        '@mltrace/cli',
        '@mltrace/core',
        '@mltrace/dvc',
        '@mltrace/mlflow',
        '@mltrace/retraining',
        '@mltrace/server',
        '@mltrace/store',
        '@mltrace/temporal',
      ].sort(),
    );
    for (const t of tarballs)
      console.log(
        `pack: ${t.name}@${t.version}  ${(t.size / 1024).toFixed(1)} kB packed, ${(t.unpackedSize / 1024).toFixed(1)} kB unpacked, ${t.files.length} files`,
      );
  });

  it.each(USER_PACKAGES)('%s: README, LICENSE, types, and every exports and bin target', async (folder) => {
    const manifest = await manifestOf(folder);
    const tarball = tarballs.find((t) => t.name === manifest.name);
    expect(tarball, folder).toBeDefined();
    const files = new Set(tarball?.files);
    expect(files.has('README.md'), `${folder}: README.md`).toBe(true);
    expect(files.has('LICENSE'), `${folder}: LICENSE`).toBe(true);
    expect(manifest.private, `${folder} is not private`).toBeUndefined();
    const targets: string[] = [];
    for (const entry of Object.values(manifest.exports as Record<string, Record<string, string>>)) {
      expect(Object.keys(entry), `${folder}: exports conditions`).toEqual(['types', 'default']);
      targets.push(entry.types as string, entry.default as string);
    }
    for (const bin of Object.values((manifest.bin as Record<string, string> | undefined) ?? {}))
      targets.push(bin);
    for (const target of targets)
      expect(files.has(posix.normalize(target)), `${folder}: ${target}`).toBe(true);
  });

  it.each(USER_PACKAGES)('%s: no test code in the tarball', async (folder) => {
    const manifest = await manifestOf(folder);
    const tarball = tarballs.find((t) => t.name === manifest.name);
    expect(tarball?.files.filter((f) => TEST_CODE.test(f))).toEqual([]);
  });

  it.each(USER_PACKAGES)(
    '%s: every import of the built code resolves from what it declares',
    async (folder) => {
      const manifest = await manifestOf(folder);
      const tarball = tarballs.find((t) => t.name === manifest.name);
      const files = new Set(tarball?.files);
      const declared = new Set([
        manifest.name as string,
        ...Object.keys((manifest.dependencies as Record<string, string> | undefined) ?? {}),
        ...Object.keys((manifest.peerDependencies as Record<string, string> | undefined) ?? {}),
      ]);
      const missing: string[] = [];
      let scanned = 0;
      // The server's dist/ui is the browser bundle built by vite: self-contained, no imports.
      const code = [...files].filter((f) => /^(dist|bin)\/.*\.[cm]?js$/.test(f) && !f.startsWith('dist/ui/'));
      for (const file of code) {
        scanned++;
        const text = await readFile(join(repoRoot(), folder, file), 'utf8');
        for (const specifier of importsOf(text)) {
          if (specifier.startsWith('.')) {
            const target = posix.normalize(posix.join(posix.dirname(file), specifier));
            if (!files.has(target)) missing.push(`${file}: ${specifier} (not in the tarball)`);
          } else if (specifier.startsWith('node:') || builtins.has(specifier)) {
            // Node built-in
          } else if (!declared.has(packageName(specifier))) {
            missing.push(`${file}: ${specifier} (not in dependencies or peerDependencies)`);
          }
        }
      }
      expect(scanned, `${folder}: built files scanned`).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    },
  );
});
