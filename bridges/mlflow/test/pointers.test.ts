import { describe, expect, it } from 'vitest';
import {
  datasetLocation,
  datasetPointer,
  isDvcMd5,
  parseModelVersionUri,
  stripCredentials,
} from '../src/pointers.js';

const input = (sourceType: string, source: string, digest = 'abc') => ({
  tags: { 'mlflow.data.context': 'training' },
  dataset: { name: 'train', digest, sourceType, source, schema: '', profile: '' },
});

describe('dataset and model pointers', () => {
  it('reads the location of each dataset source type MLflow writes', () => {
    expect(datasetLocation('s3', '{"uri": "s3://bkt/train.parquet"}')).toBe('s3://bkt/train.parquet');
    expect(datasetLocation('http', '{"url": "https://host/data.csv"}')).toBe('https://host/data.csv');
    expect(datasetLocation('hugging_face', '{"path": "imdb", "split": "train"}')).toBe('hf://datasets/imdb');
    expect(datasetLocation('delta_table', '{"path": "/mnt/delta/t"}')).toBe('/mnt/delta/t');
    expect(datasetLocation('spark', '{"table_name": "db.features"}')).toBe('table:db.features');
    expect(datasetLocation('code', '{"tags": {}}')).toBeUndefined();
    expect(datasetLocation('local', 'not json')).toBe('not json');
  });

  it('normalises local paths against the training directory and keeps the digest as version', () => {
    expect(
      datasetPointer(
        input('local', '{"uri": "data/train.csv"}', 'd41d8cd98f00b204e9800998ecf8427e'),
        '/repo',
      ),
    ).toEqual({
      uri: 'file:///repo/data/train.csv',
      version: 'd41d8cd98f00b204e9800998ecf8427e',
      type: 'data',
      context: 'training',
      name: 'train',
      sourceType: 'local',
      dvc: true,
    });
    expect(datasetPointer(input('local', '{"uri": "file:///abs/x.csv"}'), '/repo')).toMatchObject({
      uri: 'file:///abs/x.csv',
      version: 'abc',
      dvc: false,
    });
    expect(datasetPointer(input('S3', '{"uri": "S3://Bkt/K"}'), '/repo').uri).toBe('s3://Bkt/K');
    expect(datasetPointer(input('code', '{}'), '/repo').uri).toBe('mlflow-dataset:train');
  });

  it('recognises DVC md5 digests and model version URIs of copies', () => {
    expect(isDvcMd5('d41d8cd98f00b204e9800998ecf8427e')).toBe(true);
    expect(isDvcMd5('d41d8cd98f00b204e9800998ecf8427e.dir')).toBe(true);
    expect(isDvcMd5('3f2a9c1b')).toBe(false);
    expect(parseModelVersionUri('models:/dev.fraud/12')).toEqual({ name: 'dev.fraud', version: '12' });
    expect(parseModelVersionUri('models:/m-0123456789abcdef')).toBeUndefined();
    expect(parseModelVersionUri('models:/fraud@champion')).toBeUndefined();
    expect(parseModelVersionUri('models:/fraud/Production')).toBeUndefined();
  });

  it('drops credentials from source URIs: user and password, presigned-URL signatures, tokens', () => {
    expect(stripCredentials('https://alice:pw@host/data.csv')).toBe('https://host/data.csv');
    expect(
      stripCredentials(
        'https://bkt.s3.amazonaws.com/train.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F1&X-Amz-Signature=abc',
      ),
    ).toBe('https://bkt.s3.amazonaws.com/train.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256');
    expect(stripCredentials('https://acct.blob.core.windows.net/c/f.csv?sv=2020&sig=xyz&sp=r')).toBe(
      'https://acct.blob.core.windows.net/c/f.csv',
    );
    expect(stripCredentials('s3://bkt/key.parquet')).toBe('s3://bkt/key.parquet');
    expect(stripCredentials('data/train.csv')).toBe('data/train.csv');
    expect(datasetPointer(input('http', '{"url": "https://u:p@h/d.csv?token=t"}'), '/').uri).toBe(
      'https://h/d.csv',
    );
  });
});
