/**
 * The Temporal SDK versions this plugin works with. The SDK is a peer dependency: the app brings
 * one copy (two copies of `@temporalio/workflow` in one bundle are not supported by Temporal), and
 * the worker refuses to start, with the range in the message, when that copy is outside it.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '@mltrace/core';

/** The `@temporalio/*` versions tested with this package: its `peerDependencies` range. */
export const TEMPORAL_SDK_RANGE = '^1.23.0';

const OLDEST = [1, 23, 0] as const;

/** The SDK packages the plugin imports, each resolved from this package as Node resolves it. */
export const TEMPORAL_SDK_PACKAGES = [
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/common',
  '@temporalio/plugin',
  '@temporalio/worker',
  '@temporalio/workflow',
] as const;

/** True when `version` (`1.24.0`, `1.25.0-rc.1`) is within {@link TEMPORAL_SDK_RANGE}. */
export function isSupportedTemporalSdk(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (major !== OLDEST[0]) return false;
  if (minor !== OLDEST[1]) return minor > OLDEST[1];
  return patch >= OLDEST[2];
}

/**
 * The installed version of each SDK package, as resolved from this package (the copy the plugin
 * runs with). A package whose `package.json` cannot be read is left out.
 */
export function installedTemporalSdk(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = {};
  for (const name of TEMPORAL_SDK_PACKAGES) {
    try {
      const pkg = require(`${name}/package.json`) as { version?: unknown };
      if (typeof pkg.version === 'string') versions[name] = pkg.version;
    } catch {
      // not resolvable as name/package.json (a future `exports` map): nothing to check
    }
  }
  return versions;
}

/**
 * Throws a {@link ConfigError} naming {@link TEMPORAL_SDK_RANGE} when an installed SDK package
 * is outside it. Called when a worker starts.
 */
export function checkTemporalSdk(versions: Record<string, string> = installedTemporalSdk()): void {
  const outside = Object.entries(versions).filter(([, version]) => !isSupportedTemporalSdk(version));
  if (outside.length === 0) return;
  const found = outside.map(([name, version]) => `${name}@${version}`).join(', ');
  throw new ConfigError(
    `@mltrace/temporal works with the Temporal TypeScript SDK ${TEMPORAL_SDK_RANGE} (>=1.23.0 <2.0.0); found ${found}`,
    { hint: `install @temporalio/* versions within ${TEMPORAL_SDK_RANGE}, all the same version` },
  );
}
