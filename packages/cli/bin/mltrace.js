#!/usr/bin/env node
// The `mltrace` command. This launcher is committed, not built: npm links a package's bin only if
// the file exists when it installs, and in this workspace `npm ci` runs before the build that
// makes dist/. A tarball ships it beside dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(bin))) {
  process.stderr.write(`mltrace: ${fileURLToPath(bin)} is missing: build first (npm run build)\n`);
  process.exit(1);
}
await import(bin.href);
