/**
 * Pointers as users type them (issue 21, finding 3): the registry names GTO and MLflow print
 * resolve as typed, and a content version goes apart (`--version`) or as a further `@`.
 */
import { describe, expect, it } from 'vitest';
import { formatPointer, parsePointerSpec } from '../src/pointers.js';

describe('parsePointerSpec on registry names', () => {
  it('takes gto:NAME@vX.Y.Z whole, as `gto show` and `mltrace recent` print it', () => {
    expect(parsePointerSpec('gto:fraud@v1.1.0')).toEqual({ uri: 'gto:fraud@v1.1.0' });
    expect(parsePointerSpec('gto:models/sub=fraud@v2.0.0-rc.1+b7')).toEqual({
      uri: 'gto:models/sub=fraud@v2.0.0-rc.1+b7',
    });
    expect(parsePointerSpec('gto:fraud@v1.1.0@91b3d3f95c7f570eb157b3b1bc7c4a3a')).toEqual({
      uri: 'gto:fraud@v1.1.0',
      version: '91b3d3f95c7f570eb157b3b1bc7c4a3a',
    });
  });

  it('takes gto:NAME#STAGE whole, and a further @ as the version the stage held', () => {
    expect(parsePointerSpec('gto:fraud#prod')).toEqual({ uri: 'gto:fraud#prod' });
    expect(parsePointerSpec('gto:fraud#prod@v1.1.0')).toEqual({ uri: 'gto:fraud#prod', version: 'v1.1.0' });
  });

  it('takes models:/NAME/3 and models:/NAME@ALIAS whole', () => {
    expect(parsePointerSpec('models:/fraud/3')).toEqual({ uri: 'models:/fraud/3' });
    expect(parsePointerSpec('models:/fraud@champion')).toEqual({ uri: 'models:/fraud@champion' });
    expect(parsePointerSpec('models:/fraud@champion@3')).toEqual({
      uri: 'models:/fraud@champion',
      version: '3',
    });
  });

  it('with a separate version, never splits the spec', () => {
    expect(parsePointerSpec('gto:fraud@v1.1.0', { version: 'abc' })).toEqual({
      uri: 'gto:fraud@v1.1.0',
      version: 'abc',
    });
    expect(parsePointerSpec('s3://b/img@2x.png', { version: 'etag1' })).toEqual({
      uri: 's3://b/img@2x.png',
      version: 'etag1',
    });
    expect(parsePointerSpec('s3://b/img@2x.png', { version: '' })).toEqual({ uri: 's3://b/img@2x.png' });
  });

  it('round-trips GTO pointers through formatPointer', () => {
    for (const spec of ['gto:fraud@v1.1.0', 'gto:fraud@v1.1.0@abc', 'gto:fraud#prod@v1.1.0']) {
      expect(formatPointer(parsePointerSpec(spec))).toBe(spec);
    }
  });
});
