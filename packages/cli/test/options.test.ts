import { describe, expect, it } from 'vitest';
import { parseIsoDate } from '../src/options.js';

describe('parseIsoDate', () => {
  it('reads a time without an offset as UTC, as mltrace stored times', () => {
    expect(parseIsoDate('2024-05-01T10:00:00')?.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseIsoDate('2024-05-01 10:00')?.toISOString()).toBe('2024-05-01T10:00:00.000Z');
  });

  it('reads a date alone as midnight UTC, and honours offsets and fractions', () => {
    expect(parseIsoDate('2024-05-01')?.toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(parseIsoDate('2024-05-01T12:00:00+02:00')?.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseIsoDate('2024-05-01T12:00:00.123456-0130')?.toISOString()).toBe('2024-05-01T13:30:00.123Z');
  });

  it('refuses what is not an ISO date, including impossible days', () => {
    for (const text of [
      'yesterday',
      '05/01/2024',
      '2024-02-30',
      '2024-13-01',
      '2024-05-01T25:00:00Z',
      '1714557600',
    ]) {
      expect(parseIsoDate(text), text).toBeUndefined();
    }
  });
});
