import { describe, expect, it } from 'vitest';
import { displayUri, formatDuration, formatTime, runDuration } from '../../src/render/format.js';

describe('formatDuration', () => {
  it('prints 90 seconds as 1m 30s, not as mltrace 0.17 did (minutes + 0.1 x seconds)', () => {
    expect(formatDuration(90_000)).toBe('1m 30s');
  });

  it('uses the unit that fits, from milliseconds to days', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(4_257)).toBe('4.25s');
    expect(formatDuration(12_345)).toBe('12.3s');
    expect(formatDuration(3_600_000 + 5 * 60_000)).toBe('1h 05m 00s');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d 04h 00m');
  });

  it('says what is known of a run without an end', () => {
    const startedAt = new Date('2024-05-01T10:00:00Z');
    expect(runDuration({ startedAt, endedAt: null, status: 'running' })).toBe('still running');
    expect(runDuration({ startedAt, endedAt: null, status: 'failed' })).toBe('no end time');
    expect(runDuration({ startedAt, endedAt: new Date('2024-05-01T10:02:03Z'), status: 'succeeded' })).toBe(
      '2m 03s',
    );
  });
});

describe('formatTime', () => {
  it('prints UTC to the second in ISO 8601', () => {
    expect(formatTime(new Date('2024-05-01T10:00:03.250Z'))).toBe('2024-05-01T10:00:03Z');
  });
});

describe('displayUri', () => {
  it('shows a file under the working directory as the relative path that normalises back to it', () => {
    expect(displayUri('file:///repo/data/clean.csv', '/repo')).toBe('data/clean.csv');
    expect(displayUri('file:///repo/model.pkl', '/repo')).toBe('model.pkl');
  });

  it('keeps ./ where a bare name would read as an opaque identifier', () => {
    expect(displayUri('file:///repo/README', '/repo')).toBe('./README');
  });

  it('shows other files as absolute paths and other URIs as they are', () => {
    expect(displayUri('file:///elsewhere/x.csv', '/repo')).toBe('/elsewhere/x.csv');
    expect(displayUri('s3://bucket/key.parquet', '/repo')).toBe('s3://bucket/key.parquet');
    expect(displayUri('prediction-42', '/repo')).toBe('prediction-42');
  });
});
