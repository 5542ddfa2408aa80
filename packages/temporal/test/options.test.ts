import { silentLogger } from '@mltrace/core';
import { describe, expect, it } from 'vitest';
import { componentOf } from '../src/component.js';
import { RunDescriber } from '../src/describe.js';
import { component } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { DEFAULT_REDACT_KEYS } from '../src/workflow/redact.js';

describe('plugin options', () => {
  it('get their documented defaults in one place', () => {
    const resolved = resolveOptions({ env: {}, cwd: '/srv/worker' });
    expect(resolved).toMatchObject({
      maxQueueSize: 10_000,
      batchSize: 500,
      flushIntervalMs: 500,
      maxAttempts: 3,
      initialRetryDelayMs: 200,
      maxRetryDelayMs: 5000,
      writeTimeoutMs: 15_000,
      spoolDir: '/srv/worker/.mltrace/spool',
      spoolReplayIntervalMs: 5000,
      pointers: { auto: true, maxPointers: 32, maxDepth: 6, maxNodes: 2000 },
      redactKeys: DEFAULT_REDACT_KEYS,
      maxPayloadChars: 4096,
      maxStringChars: 256,
      recordValues: true,
      recordStart: true,
      maxCodeSnapshotChars: 20_000,
      onCheckFailure: 'warn',
      searchAttributes: 'auto',
      uiUrl: undefined,
      logger: silentLogger,
      cwd: '/srv/worker',
    });
    expect(typeof resolved.store).toBe('function'); // opened lazily from MLTRACE_DATABASE_URL
    expect(
      resolved.componentName({
        activityType: 'trainModel',
        declared: undefined,
        workflowType: 'w',
        isLocal: false,
      }),
    ).toBe('trainModel');
    expect(
      resolved.componentName({
        activityType: 'trainModel',
        declared: 'training',
        workflowType: 'w',
        isLocal: false,
      }),
    ).toBe('training');
  });

  it('put the spool under MLTRACE_HOME when it is set, and can turn it off', () => {
    expect(resolveOptions({ env: { MLTRACE_HOME: '/var/lib/mltrace' }, cwd: '/srv' }).spoolDir).toBe(
      '/var/lib/mltrace/spool',
    );
    expect(resolveOptions({ spoolDir: false }).spoolDir).toBe(false);
    expect(resolveOptions({ spoolDir: 'spool', cwd: '/srv' }).spoolDir).toBe('/srv/spool');
  });

  it('reject nonsense values', () => {
    expect(() => resolveOptions({ batchSize: 0 })).toThrow(RangeError);
    expect(() => resolveOptions({ flushIntervalMs: Number.NaN })).toThrow(RangeError);
    expect(() => resolveOptions({ onCheckFailure: 'explode' as 'warn' })).toThrow(RangeError);
  });
});

describe('what a run read and wrote', () => {
  const describer = new RunDescriber(resolveOptions({ env: {}, cwd: '/srv/worker' }));

  it('is found automatically in arguments and results, with paths made absolute against the worker directory', () => {
    expect(describer.pointers('inputs', 'clean', undefined, ['data/raw.csv', { n: 3 }], undefined)).toEqual([
      { uri: 'file:///srv/worker/data/raw.csv' },
    ]);
    expect(
      describer.pointers('outputs', 'clean', undefined, [], { path: '/tmp/clean.csv', rows: 3 }),
    ).toEqual([{ uri: 'file:///tmp/clean.csv' }]);
  });

  it('comes from the component() extractors when declared, plus automatic discovery if asked', () => {
    const declared = component(async (uri: string, _other: string) => ({ out: `${uri}.out` }), {
      inputs: (uri) => [{ uri, version: 'v1' }],
    });
    const spec = componentOf(declared);
    expect(describer.pointers('inputs', 't', spec, ['s3://b/in', 's3://b/ignored'], undefined)).toEqual([
      { uri: 's3://b/in', version: 'v1' },
    ]);
    const both = componentOf(
      component(async (uri: string) => uri, { inputs: (uri) => uri, autoPointers: true }),
    );
    expect(
      describer.pointers('inputs', 't', both, ['s3://b/in', 's3://b/extra'], undefined).map((p) => p.uri),
    ).toEqual(['s3://b/in', 's3://b/extra']);
  });

  it('comes from a custom extractor instead of the automatic one, which it can hand back to', () => {
    const custom = new RunDescriber(
      resolveOptions({
        env: {},
        cwd: '/srv',
        pointers: {
          extract: ({ role, args }) =>
            role === 'inputs' && args[0] === 'table' ? ['warehouse.orders'] : undefined,
        },
      }),
    );
    expect(custom.pointers('inputs', 't', undefined, ['table'], undefined)).toEqual([
      { uri: 'warehouse.orders' },
    ]);
    expect(custom.pointers('inputs', 't', undefined, ['s3://b/k'], undefined)).toEqual([{ uri: 's3://b/k' }]);
  });

  it('survives an extractor that throws', () => {
    const broken = componentOf(
      component(async () => 1, {
        outputs: () => {
          throw new Error('bug');
        },
      }),
    );
    expect(describer.pointers('outputs', 't', broken, [], 1, ['s3://b/added'])).toEqual([
      { uri: 's3://b/added' },
    ]);
  });
});
