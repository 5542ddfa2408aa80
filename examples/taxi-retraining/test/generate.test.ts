import { createHash } from 'node:crypto';
import { driftReport } from '@mltrace/retraining';
import { describe, expect, it } from 'vitest';
import { generateTrips, isShiftedMonth, TRIP_COLUMNS } from '../src/generate.js';
import {
  buildFeatures,
  cleanTrips,
  columns,
  FEATURE_COLUMNS,
  parseCsv,
  parseNumericCsv,
} from '../src/pipeline.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function features(month: string, seed = 7): Record<string, number[]> {
  const table = parseNumericCsv(buildFeatures(cleanTrips(generateTrips({ month, rows: 6000, seed })).csv));
  const all = columns(table);
  return Object.fromEntries(FEATURE_COLUMNS.map((name) => [name, all[name]!]));
}

describe('the synthetic trip generator', () => {
  it('gives the same bytes for the same seed and month, and other bytes for another seed or month', () => {
    const a = generateTrips({ month: '2020-01', rows: 2000, seed: 7 });
    expect(sha256(generateTrips({ month: '2020-01', rows: 2000, seed: 7 }))).toBe(sha256(a));
    expect(sha256(generateTrips({ month: '2020-01', rows: 2000, seed: 8 }))).not.toBe(sha256(a));
    expect(sha256(generateTrips({ month: '2020-02', rows: 2000, seed: 7 }))).not.toBe(sha256(a));
  });

  it('writes the TLC yellow-taxi columns, one line per trip in pickup order, all within the month', () => {
    const { header, rows } = parseCsv(generateTrips({ month: '2020-02', rows: 1500 }));
    expect(header).toEqual([...TRIP_COLUMNS]);
    expect(rows).toHaveLength(1500);
    const pickups = rows.map((row) => row[1]!);
    expect([...pickups].sort()).toEqual(pickups);
    expect(pickups.every((p) => p.startsWith('2020-02-'))).toBe(true);
    // 2020 was a leap year.
    expect(pickups.some((p) => p.startsWith('2020-02-29'))).toBe(true);
  });

  it('leaves about 1.5% of dirty records for the cleaning step to drop, and labels high tips', () => {
    const { stats, csv } = cleanTrips(generateTrips({ month: '2020-01', rows: 10_000 }));
    const dropped = stats.rows - stats.kept;
    expect(dropped).toBeGreaterThan(80);
    expect(dropped).toBeLessThan(300);
    expect(Object.keys(stats.dropped).sort()).toEqual([
      'dropoff not after pickup',
      'no distance',
      'passenger count missing',
      'refund or zero fare',
      'speed over 80 mph',
    ]);
    const labels = columns(parseNumericCsv(csv)).high_tip!;
    const rate = labels.reduce((s, v) => s + v, 0) / labels.length;
    expect(rate).toBeGreaterThan(0.25);
    expect(rate).toBeLessThan(0.6);
  });

  it('shifts the data from March 2020 on, and the drift report sees it', () => {
    expect(isShiftedMonth('2020-02')).toBe(false);
    expect(isShiftedMonth('2020-03')).toBe(true);
    const january = features('2020-01');
    const february = driftReport(january, features('2020-02'), { thresholds: { psi: 0.25, ks: 0.2 } });
    expect(february.drifted).toEqual([]);
    const march = driftReport(january, features('2020-03'), { thresholds: { psi: 0.25, ks: 0.2 } });
    expect(march.drifted).toContain('trip_distance');
    expect(march.drifted).toContain('trip_speed');
    const distance = march.features.find((f) => f.feature === 'trip_distance')!;
    expect(distance.psi).toBeGreaterThan(0.25);
    expect(distance.currentMean).toBeGreaterThan(distance.referenceMean);
  });

  it('refuses a malformed month or row count', () => {
    expect(() => generateTrips({ month: '2020-13' })).toThrow('no month 13');
    expect(() => generateTrips({ month: 'January' })).toThrow('month must be YYYY-MM');
    expect(() => generateTrips({ month: '2020-01', rows: 0 })).toThrow('rows must be a positive integer');
  });
});
