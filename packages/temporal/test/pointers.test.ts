import { describe, expect, it } from 'vitest';
import { findPointers, looksLikePointer } from '../src/workflow/pointers.js';
import { DEFAULT_REDACT_KEYS, REDACTED, scrubUri, secretKeyTest } from '../src/workflow/redact.js';

const isSecretKey = secretKeyTest(DEFAULT_REDACT_KEYS);
const limits = { maxPointers: 32, maxDepth: 6, maxNodes: 2000, isSecretKey };

describe('automatic pointer discovery', () => {
  it('recognises URIs, absolute and relative paths and data or model file names', () => {
    for (const value of [
      's3://bucket/raw/2024-06-01.parquet',
      'gs://b/k',
      'models:/taxi-tip/3',
      'runs:/abc123/model',
      'file:///data/x.csv',
      'https://example.com/predict',
      '/tmp/run/clean.csv',
      './out/model.pkl',
      '../features.parquet',
      'data/clean.parquet',
      'clean.csv',
      'C:\\data\\raw.csv',
    ]) {
      expect(looksLikePointer(value), value).toBe(true);
    }
  });

  it('ignores words, numbers, dates, sentences and inline data', () => {
    for (const value of [
      'hello',
      '3.14',
      '2024/06/01',
      'a/b',
      'train the model on data',
      'data:text/plain;base64,SGVsbG8=',
      'mailto:a@b.c',
      '12:30',
      'v1.2',
      '',
    ]) {
      expect(looksLikePointer(value), value).toBe(false);
    }
  });

  it('accepts any single token under a key that names a location', () => {
    expect(looksLikePointer('warehouse_table', 'outputPath')).toBe(true);
    expect(looksLikePointer('warehouse_table', 'model_uri')).toBe(true);
    expect(looksLikePointer('warehouse_table', 'name')).toBe(false);
  });

  it('walks nested objects, arrays, maps and sets, deduplicates and caps', () => {
    const value = [
      '/a/x.csv',
      { nested: { deeper: ['s3://b/k1', '/a/x.csv'] }, outputDir: 'out' },
      new Map([['k', 's3://b/k2']]),
      new Set(['models:/m/1']),
    ];
    expect(findPointers(value, limits)).toEqual(['/a/x.csv', 's3://b/k1', 'out', 's3://b/k2', 'models:/m/1']);
    const many = Array.from({ length: 100 }, (_, i) => `/data/${i}.csv`);
    expect(findPointers(many, { ...limits, maxPointers: 5 })).toHaveLength(5);
  });

  it('never looks into keys that look like secrets, and scrubs credentials from URIs', () => {
    const value = {
      password: '/etc/secret.txt',
      apiKey: 's3://keys/k.json',
      db: 'postgres://app:hunter2@db.internal:5432/lineage',
      signed: 'https://bucket.s3.amazonaws.com/x.csv?X-Amz-Signature=abcdef&X-Amz-Credential=AKIA&part=1',
    };
    expect(findPointers(value, limits)).toEqual([
      `postgres://app:${REDACTED}@db.internal:5432/lineage`,
      `https://bucket.s3.amazonaws.com/x.csv?X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}&part=1`,
    ]);
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { path: '/a.csv' };
    a.self = a;
    expect(findPointers(a, limits)).toEqual(['/a.csv']);
  });
});

describe('secret keys', () => {
  it('match the default patterns whatever their case and punctuation', () => {
    for (const key of [
      'password',
      'DB_PASSWORD',
      'apiKey',
      'api_key',
      'X-API-KEY',
      'Authorization',
      'secret',
      'accessToken',
      'auth',
      'aws_secret_access_key',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['path', 'author', 'tokenizerPath'.replace('token', 'tok'), 'rows', 'modelUri']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it('are configurable', () => {
    const custom = secretKeyTest([...DEFAULT_REDACT_KEYS, 'ssn', /^pin$/i]);
    expect(custom('customer_ssn')).toBe(true);
    expect(custom('PIN')).toBe(true);
    expect(custom('pinned')).toBe(false);
  });

  it('leave URIs without credentials alone', () => {
    expect(scrubUri('s3://bucket/key?versionId=3', isSecretKey)).toBe('s3://bucket/key?versionId=3');
    expect(scrubUri('/plain/path', isSecretKey)).toBe('/plain/path');
  });
});
