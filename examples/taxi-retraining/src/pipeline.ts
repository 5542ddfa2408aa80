/**
 * The steps of the taxi pipeline before training, as pure functions on CSV text, after mltrace's
 * toy pipeline: cleaning (drop bad records, add the `high_tip` label: tip > 20% of the fare),
 * feature generation, and a time-based train/test split.
 * @module
 */

/** A table of numbers: column names and rows. */
export interface NumericTable {
  columns: string[];
  rows: number[][];
}

/** Splits CSV text (no quoted fields: the TLC files have none) into a header and rows. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n').filter((line) => line.length > 0);
  const header = (lines[0] ?? '').split(',');
  return { header, rows: lines.slice(1).map((line) => line.split(',')) };
}

/** CSV text from a header and rows (`\n` line ends, a final newline). */
export function formatCsv(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  return `${[header.join(','), ...rows.map((row) => row.join(','))].join('\n')}\n`;
}

/** A numeric table from CSV text; every cell must be a number. */
export function parseNumericCsv(text: string): NumericTable {
  const { header, rows } = parseCsv(text);
  return {
    columns: header,
    rows: rows.map((row, i) =>
      row.map((cell, j) => {
        const value = Number(cell);
        if (cell === '' || Number.isNaN(value)) {
          throw new RangeError(`row ${i + 2}, column ${header[j]}: ${JSON.stringify(cell)} is not a number`);
        }
        return value;
      }),
    ),
  };
}

/** CSV text of a numeric table (numbers as JavaScript prints them: exact round trips). */
export function formatNumericCsv(table: NumericTable): string {
  return formatCsv(table.columns, table.rows);
}

/** One column of a numeric table. */
export function column(table: NumericTable, name: string): number[] {
  const index = table.columns.indexOf(name);
  if (index === -1) throw new RangeError(`no column ${name} (columns: ${table.columns.join(', ')})`);
  return table.rows.map((row) => row[index]!);
}

/** Every column of a numeric table by name (what drift checks compare). */
export function columns(table: NumericTable): Record<string, number[]> {
  return Object.fromEntries(table.columns.map((name) => [name, column(table, name)]));
}

/** Why the cleaning step dropped rows, and how many. */
export interface CleaningStats {
  rows: number;
  kept: number;
  dropped: Record<string, number>;
}

function parseTimestamp(text: string | undefined): number {
  if (!text) return Number.NaN;
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

/** The columns of the cleaned trips. */
export const CLEAN_COLUMNS = [
  'pickup_ts',
  'dropoff_ts',
  'passenger_count',
  'trip_distance',
  'RatecodeID',
  'PULocationID',
  'DOLocationID',
  'fare_amount',
  'tip_amount',
  'high_tip',
] as const;

/**
 * Cleans raw trips: drops records with no or impossible movement (distance <= 0, speed over
 * 80 mph), refunds and zero fares, missing passenger counts, and dropoffs not after pickups; keeps
 * the columns later steps need, with times as epoch seconds, and adds the label `high_tip` (1 when
 * the tip exceeds 20% of the fare).
 */
export function cleanTrips(rawCsv: string): { csv: string; stats: CleaningStats } {
  const { header, rows } = parseCsv(rawCsv);
  const at = (name: string) => {
    const index = header.indexOf(name);
    if (index === -1) throw new RangeError(`the raw trips have no column ${name}`);
    return index;
  };
  const idx = {
    pickup: at('tpep_pickup_datetime'),
    dropoff: at('tpep_dropoff_datetime'),
    passengers: at('passenger_count'),
    distance: at('trip_distance'),
    ratecode: at('RatecodeID'),
    pu: at('PULocationID'),
    do: at('DOLocationID'),
    fare: at('fare_amount'),
    tip: at('tip_amount'),
  };
  const dropped: Record<string, number> = {};
  const drop = (reason: string) => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  };
  const kept: number[][] = [];
  for (const row of rows) {
    const pickup = parseTimestamp(row[idx.pickup]) / 1000;
    const dropoff = parseTimestamp(row[idx.dropoff]) / 1000;
    const passengers = row[idx.passengers] === '' ? Number.NaN : Number(row[idx.passengers]);
    const distance = Number(row[idx.distance]);
    const fare = Number(row[idx.fare]);
    const tip = Number(row[idx.tip]);
    if (!Number.isFinite(pickup) || !Number.isFinite(dropoff) || dropoff <= pickup) {
      drop('dropoff not after pickup');
      continue;
    }
    if (!(distance > 0)) {
      drop('no distance');
      continue;
    }
    if (!(fare > 0) || !(tip >= 0)) {
      drop('refund or zero fare');
      continue;
    }
    if (!(passengers >= 1)) {
      drop('passenger count missing');
      continue;
    }
    if (distance / ((dropoff - pickup) / 3600) > 80) {
      drop('speed over 80 mph');
      continue;
    }
    kept.push([
      pickup,
      dropoff,
      passengers,
      distance,
      Number(row[idx.ratecode]),
      Number(row[idx.pu]),
      Number(row[idx.do]),
      fare,
      tip,
      tip > 0.2 * fare ? 1 : 0,
    ]);
  }
  return {
    csv: formatCsv(CLEAN_COLUMNS, kept),
    stats: { rows: rows.length, kept: kept.length, dropped },
  };
}

/** The model's features, after the toy pipeline's (with airport and night flags for a linear model). */
export const FEATURE_COLUMNS = [
  'pickup_weekday',
  'pickup_hour',
  'work_hours',
  'night',
  'passenger_count',
  'trip_distance',
  'trip_time',
  'trip_speed',
  'airport',
  'ratecode_jfk',
] as const;

/** The label column. */
export const LABEL_COLUMN = 'high_tip';

const AIRPORT_ZONES = new Set([132, 138]);

/**
 * Feature generation: pickup weekday and hour, work hours (weekdays 8-18), night (22-6),
 * passengers, distance (miles), time (minutes), speed (mph), airport and JFK-flat-fare flags;
 * then the label, and the pickup time for the split.
 */
export function buildFeatures(cleanCsv: string): string {
  const table = parseNumericCsv(cleanCsv);
  const get = (name: string) => {
    const index = table.columns.indexOf(name);
    if (index === -1) throw new RangeError(`the clean trips have no column ${name}`);
    return index;
  };
  const i = {
    pickup: get('pickup_ts'),
    dropoff: get('dropoff_ts'),
    passengers: get('passenger_count'),
    distance: get('trip_distance'),
    ratecode: get('RatecodeID'),
    pu: get('PULocationID'),
    do: get('DOLocationID'),
    label: get(LABEL_COLUMN),
  };
  const rows = table.rows.map((row) => {
    const pickup = new Date(row[i.pickup]! * 1000);
    const weekday = pickup.getUTCDay();
    const hour = pickup.getUTCHours();
    const minutes = (row[i.dropoff]! - row[i.pickup]!) / 60;
    const distance = row[i.distance]!;
    const workHours = weekday >= 1 && weekday <= 5 && hour >= 8 && hour < 18 ? 1 : 0;
    return [
      weekday,
      hour,
      workHours,
      hour >= 22 || hour < 6 ? 1 : 0,
      row[i.passengers]!,
      distance,
      Math.round(minutes * 100) / 100,
      Math.round((distance / (minutes / 60)) * 100) / 100,
      AIRPORT_ZONES.has(row[i.pu]!) || AIRPORT_ZONES.has(row[i.do]!) ? 1 : 0,
      row[i.ratecode] === 2 ? 1 : 0,
      row[i.label]!,
      row[i.pickup]!,
    ];
  });
  return formatCsv([...FEATURE_COLUMNS, LABEL_COLUMN, 'pickup_ts'], rows);
}

/**
 * A time-based split, as the toy pipeline's (train on earlier trips, test on later ones): the
 * last `testFraction` of the trips by pickup time is the test set.
 */
export function splitFeatures(
  featuresCsv: string,
  options: { testFraction?: number } = {},
): { train: string; test: string } {
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1))
    throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  const table = parseNumericCsv(featuresCsv);
  const t = table.columns.indexOf('pickup_ts');
  const rows = [...table.rows].sort((a, b) => (t === -1 ? 0 : a[t]! - b[t]!));
  const cut = Math.round(rows.length * (1 - testFraction));
  return {
    train: formatCsv(table.columns, rows.slice(0, cut)),
    test: formatCsv(table.columns, rows.slice(cut)),
  };
}
