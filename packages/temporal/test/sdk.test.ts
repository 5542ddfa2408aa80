import { readFile } from 'node:fs/promises';
import { ConfigError } from '@mltrace/core';
import { describe, expect, it } from 'vitest';
import {
  checkTemporalSdk,
  installedTemporalSdk,
  isSupportedTemporalSdk,
  TEMPORAL_SDK_PACKAGES,
  TEMPORAL_SDK_RANGE,
} from '../src/sdk.js';

describe('the Temporal SDK range', () => {
  it('is the peerDependencies range of every @temporalio package the plugin imports', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      peerDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(pkg.peerDependencies).toEqual(
      Object.fromEntries(TEMPORAL_SDK_PACKAGES.map((name) => [name, TEMPORAL_SDK_RANGE])),
    );
    expect(Object.keys(pkg.dependencies).filter((name) => name.startsWith('@temporalio/'))).toEqual([]);
  });

  it('accepts 1.23.0 up to any later 1.x and refuses older, 2.x and unparsable versions', () => {
    for (const v of ['1.23.0', '1.23.4', '1.24.0', '1.30.0-rc.1'])
      expect(isSupportedTemporalSdk(v), v).toBe(true);
    for (const v of ['1.22.9', '1.9.0', '0.23.2', '2.0.0', 'latest'])
      expect(isSupportedTemporalSdk(v), v).toBe(false);
  });

  it('finds the installed SDK (the workspace pins 1.24.0) and lets it through', () => {
    const installed = installedTemporalSdk();
    expect(Object.keys(installed).sort()).toEqual([...TEMPORAL_SDK_PACKAGES]);
    expect(new Set(Object.values(installed))).toEqual(new Set(['1.24.0']));
    expect(() => checkTemporalSdk()).not.toThrow();
  });

  it('refuses an SDK outside the range with a ConfigError naming the range and the culprits', () => {
    const versions = {
      ...installedTemporalSdk(),
      '@temporalio/worker': '1.22.0',
      '@temporalio/workflow': '1.22.0',
    };
    let error: unknown;
    try {
      checkTemporalSdk(versions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      '@mltrace/temporal works with the Temporal TypeScript SDK ^1.23.0 (>=1.23.0 <2.0.0); found @temporalio/worker@1.22.0, @temporalio/workflow@1.22.0',
    );
  });
});
