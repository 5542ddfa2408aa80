import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/errors.js';
import { formatPointer, inferPointerType, normalizeUri, parsePointerSpec } from '../src/pointers.js';

const cwd = '/repo';

describe('normalizeUri', () => {
  it('gives a relative path, an absolute path and file URIs of one file the same form', () => {
    const forms = [
      './data/x.csv',
      'data/x.csv',
      'data/./sub/../x.csv',
      '/repo/data/x.csv',
      'file:///repo/data/x.csv',
      'file://localhost/repo/data/x.csv',
      'file:/repo/data/x.csv',
      'FILE:///repo/data/%78.csv',
    ];
    for (const form of forms) expect(normalizeUri(form, { cwd })).toBe('file:///repo/data/x.csv');
  });

  it('turns Windows-style paths into file URIs with forward slashes', () => {
    expect(normalizeUri('data\\raw\\x.csv', { cwd })).toBe('file:///repo/data/raw/x.csv');
    expect(normalizeUri('C:\\work\\x.csv', { cwd })).toBe('file:///c:/work/x.csv');
  });

  it('keeps other URIs as given but for a lowercased scheme', () => {
    expect(normalizeUri('S3://Bucket/Key.parquet', { cwd })).toBe('s3://Bucket/Key.parquet');
    expect(normalizeUri('models:/taxi-tip@champion', { cwd })).toBe('models:/taxi-tip@champion');
  });

  it('keeps opaque names such as prediction ids verbatim', () => {
    expect(normalizeUri('pred-8f2c', { cwd })).toBe('pred-8f2c');
    expect(normalizeUri('raw_data_jan', { cwd })).toBe('raw_data_jan');
  });

  it('treats a bare file name with a known extension as a path', () => {
    expect(normalizeUri('model.joblib', { cwd })).toBe('file:///repo/model.joblib');
  });

  it('rejects empty URIs and control characters with a clear error', () => {
    expect(() => normalizeUri('  ', { cwd })).toThrow(InvalidInputError);
    expect(() => normalizeUri('a\nb', { cwd })).toThrow(/control character/);
    expect(() => normalizeUri('file:///a/%zz', { cwd })).toThrow(/percent-encoding/);
  });
});

describe('inferPointerType', () => {
  it("follows mltrace's rules: data, then model in the name, then extensions", () => {
    expect(inferPointerType('file:///repo/raw_data.pkl')).toBe('data');
    expect(inferPointerType('file:///repo/model_inputs.csv')).toBe('model');
    expect(inferPointerType('file:///repo/x.parquet')).toBe('data');
    expect(inferPointerType('file:///repo/x.joblib')).toBe('model');
    expect(inferPointerType('file:///repo/x.bin')).toBe('unknown');
  });

  it('types by scheme first, and knows metrics', () => {
    expect(inferPointerType('models:/customer-data@champion')).toBe('model');
    expect(inferPointerType('https://api.example.com/predict')).toBe('endpoint');
    expect(inferPointerType('file:///repo/metrics.json')).toBe('metric');
  });
});

describe('parsePointerSpec', () => {
  it('splits uri@version at the last @', () => {
    expect(parsePointerSpec('data/x.csv@abc123')).toEqual({ uri: 'data/x.csv', version: 'abc123' });
    expect(parsePointerSpec('data/x.csv')).toEqual({ uri: 'data/x.csv' });
  });

  it('leaves @ inside URIs alone', () => {
    expect(parsePointerSpec('ssh://git@host/repo')).toEqual({ uri: 'ssh://git@host/repo' });
    expect(parsePointerSpec('models:/taxi@champion')).toEqual({ uri: 'models:/taxi@champion' });
    expect(parsePointerSpec('models:/taxi@champion@3')).toEqual({
      uri: 'models:/taxi@champion',
      version: '3',
    });
  });

  it('round-trips through formatPointer', () => {
    expect(formatPointer(parsePointerSpec('s3://b/k@etag1'))).toBe('s3://b/k@etag1');
  });
});
