#!/usr/bin/env node
// npm run bench -- <area> [args...]: builds the workspace, then runs bench/<area>/main.ts
// (compiled to bench/dist/<area>/main.js). Benchmarks are never part of npm test.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const areas = readdirSync(new URL('.', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`./${d.name}/main.ts`, import.meta.url)))
  .map((d) => d.name);
const [area, ...args] = process.argv.slice(2);
if (!area || !areas.includes(area)) {
  console.error(`usage: npm run bench -- <area> [args]   (areas: ${areas.join(', ') || 'none yet'})`);
  process.exit(2);
}
const run = (cmd, cmdArgs) => {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('bash', ['scripts/setup.sh']);
run('npx', ['turbo', 'run', 'build']);
run('node', [`bench/dist/${area}/main.js`, ...args]);
