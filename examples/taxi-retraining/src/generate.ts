/**
 * A seeded generator of realistic synthetic NYC yellow-taxi trips, one month at a time, in the
 * TLC's CSV layout (the columns of the 2020 trip records). Modelled on the data behind mltrace's
 * toy pipeline: tip behaviour depends on trip length, time of day, passengers and airports; cash
 * tips are not recorded; about 1.5% of rows are dirty (refunds, zero distances, missing
 * passenger counts, impossible speeds) for the cleaning step to drop.
 *
 * From March 2020 on (`shiftFrom`), the data shift on purpose, as they did in the real records:
 * fewer evening trips, longer and faster trips, more airport runs, fewer card payments and less
 * generous tips. Drift checks must see that shift; they must not see one between January and
 * February.
 * @module
 */
import { createRandom, hashString, type Random } from './random.js';

/** The TLC yellow-taxi columns, in file order. */
export const TRIP_COLUMNS = [
  'VendorID',
  'tpep_pickup_datetime',
  'tpep_dropoff_datetime',
  'passenger_count',
  'trip_distance',
  'RatecodeID',
  'store_and_fwd_flag',
  'PULocationID',
  'DOLocationID',
  'payment_type',
  'fare_amount',
  'extra',
  'mta_tax',
  'tip_amount',
  'tolls_amount',
  'improvement_surcharge',
  'total_amount',
  'congestion_surcharge',
] as const;

/** How a month's trips look. */
interface MonthProfile {
  distanceMedian: number;
  distanceSigma: number;
  speedFactor: number;
  airportShare: number;
  cardShare: number;
  soloShare: number;
  /** Added to the log-odds of a high tip. */
  generosity: number;
  hourWeights: readonly number[];
}

const USUAL_HOURS = [
  1.4, 1.0, 0.7, 0.5, 0.4, 0.5, 1.2, 2.4, 3.2, 3.3, 3.0, 3.0, 3.1, 3.1, 3.3, 3.4, 3.3, 3.8, 4.4, 4.5, 4.0,
  3.7, 3.4, 2.4,
];
const SHIFTED_HOURS = [
  0.6, 0.4, 0.3, 0.3, 0.4, 0.7, 1.5, 2.6, 3.2, 3.2, 3.1, 3.1, 3.1, 3.0, 3.1, 3.0, 2.9, 2.8, 2.4, 1.9, 1.4,
  1.1, 0.9, 0.7,
];

const USUAL: MonthProfile = {
  distanceMedian: 1.7,
  distanceSigma: 0.8,
  speedFactor: 1,
  airportShare: 0.04,
  cardShare: 0.72,
  soloShare: 0.7,
  generosity: 0,
  hourWeights: USUAL_HOURS,
};

const SHIFTED: MonthProfile = {
  distanceMedian: 2.8,
  distanceSigma: 0.9,
  speedFactor: 1.4,
  airportShare: 0.1,
  cardShare: 0.6,
  soloShare: 0.85,
  generosity: -0.6,
  hourWeights: SHIFTED_HOURS,
};

/** Busy Manhattan zones (TLC LocationIDs) and their weights; other zones share the rest. */
const BUSY_ZONES = [161, 237, 236, 162, 230, 170, 48, 234, 79, 142, 186, 164, 141, 68, 239];
const JFK = 132;
const LGA = 138;

/** Options of {@link generateTrips}. */
export interface GenerateOptions {
  /** The month, `YYYY-MM`. */
  month: string;
  /** How many trips. @default 10000 */
  rows?: number;
  /** The seed; with the month it fixes every byte. @default 7 */
  seed?: number;
  /** The first shifted month, `YYYY-MM`. @default '2020-03' */
  shiftFrom?: string;
}

/** Whether a month is at or after the shift. */
export function isShiftedMonth(month: string, shiftFrom = '2020-03'): boolean {
  return month >= shiftFrom;
}

function parseMonth(month: string): { year: number; monthIndex: number; days: number } {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) throw new RangeError(`month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const year = Number(match[1]);
  const monthIndex = Number(match[2]) - 1;
  if (monthIndex < 0 || monthIndex > 11) throw new RangeError(`no month ${match[2]} in ${month}`);
  const days = new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
  return { year, monthIndex, days };
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, the TLC's format. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(
    d.getUTCMinutes(),
  )}:${two(d.getUTCSeconds())}`;
}

function money(x: number): string {
  return x.toFixed(2);
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function zone(random: Random): number {
  if (random.bernoulli(0.75)) return BUSY_ZONES[random.weighted(BUSY_ZONES.map((_, i) => 15 - i))]!;
  return random.int(1, 263);
}

/** Average speed (mph) by hour: slow in the rush hours, fast at night. */
function baseSpeed(hour: number): number {
  if (hour >= 22 || hour < 6) return 16;
  if ((hour >= 7 && hour < 10) || (hour >= 16 && hour < 19)) return 8;
  return 10.5;
}

interface GeneratedTrip {
  pickupMs: number;
  cells: string[];
}

function generateTrip(random: Random, profile: MonthProfile, year: number, monthIndex: number, days: number) {
  const day = random.int(1, days);
  const hour = random.weighted(profile.hourWeights);
  const pickupMs = Date.UTC(year, monthIndex, day, hour, random.int(0, 59), random.int(0, 59));
  const weekday = new Date(pickupMs).getUTCDay();
  const weekend = weekday === 0 || weekday === 6;
  const night = hour >= 22 || hour < 6;

  let pu = zone(random);
  let doZone = zone(random);
  let ratecode = 1;
  let distance: number;
  let airport = false;
  const airportDraw = random.next();
  if (airportDraw < profile.airportShare / 2) {
    airport = true;
    pu = random.bernoulli(0.6) ? JFK : LGA;
    distance = pu === JFK ? random.logNormal(17.5, 0.15) : random.logNormal(9.5, 0.22);
    if (pu === JFK && random.bernoulli(0.7)) ratecode = 2;
  } else if (airportDraw < profile.airportShare) {
    airport = true;
    doZone = random.bernoulli(0.55) ? JFK : LGA;
    distance = doZone === JFK ? random.logNormal(17, 0.15) : random.logNormal(9, 0.22);
    if (doZone === JFK && random.bernoulli(0.6)) ratecode = 2;
  } else {
    distance = Math.min(random.logNormal(profile.distanceMedian, profile.distanceSigma), 40);
  }
  distance = Math.max(0.1, Math.round(distance * 100) / 100);

  const speed = baseSpeed(hour) * profile.speedFactor * (airport ? 1.5 : 1) * random.logNormal(1, 0.25);
  const seconds = Math.round((distance / speed) * 3600 + random.int(60, 240));
  const dropoffMs = pickupMs + seconds * 1000;

  const passengers = random.bernoulli(profile.soloShare) ? 1 : [2, 2, 2, 3, 4, 5, 6][random.int(0, 6)]!;
  const fare = ratecode === 2 ? 52 : Math.round((2.5 + 2.5 * distance + 0.22 * (seconds / 60)) * 2) / 2;
  let extra = night ? 0.5 : 0;
  if (!weekend && hour >= 16 && hour < 20) extra += 1;
  const mta = 0.5;
  const improvement = 0.3;
  const congestion = 2.5;
  const tolls = airport && random.bernoulli(0.6) ? 6.12 : 0;
  const paymentDraw = random.next();
  const payment =
    paymentDraw < profile.cardShare ? 1 : paymentDraw < 0.985 ? 2 : random.bernoulli(0.5) ? 3 : 4;

  let tip = 0;
  if (payment === 1) {
    const z =
      1.8 +
      profile.generosity -
      1.8 * Math.log(distance + 0.3) -
      0.6 * (passengers - 1) +
      1.2 * (night ? 1 : 0) +
      0.6 * (weekend ? 1 : 0) -
      1.2 * (airport ? 1 : 0);
    const base = fare + extra + mta + improvement + congestion;
    if (random.bernoulli(sigmoid(z))) {
      const preset = [0.2, 0.25, 0.3][random.weighted([5, 3, 2])]!;
      tip = Math.round(preset * base * 100) / 100;
    } else if (random.bernoulli(0.7)) {
      tip = Math.round(fare * random.next() * 0.19 * 100) / 100;
    }
  }
  const total = fare + extra + mta + tip + tolls + improvement + congestion;

  const cells = [
    String(random.bernoulli(0.4) ? 1 : 2),
    formatTimestamp(pickupMs),
    formatTimestamp(dropoffMs),
    String(passengers),
    distance.toFixed(2),
    String(ratecode),
    'N',
    String(pu),
    String(doZone),
    String(payment),
    money(fare),
    money(extra),
    money(mta),
    money(tip),
    money(tolls),
    money(improvement),
    money(total),
    money(congestion),
  ];

  // About 1.5% of the records are dirty, as in the real files.
  const dirt = random.next();
  if (dirt < 0.004) {
    cells[4] = '0.00'; // a trip that never moved
  } else if (dirt < 0.007) {
    cells[9] = '4'; // a refund: negative amounts
    cells[10] = money(-fare);
    cells[16] = money(-total);
  } else if (dirt < 0.01) {
    cells[3] = ''; // passenger count not recorded
  } else if (dirt < 0.013) {
    cells[2] = cells[1]!; // dropped off when picked up
  } else if (dirt < 0.015) {
    cells[4] = (distance * 60 + 100).toFixed(2); // an impossible odometer reading
  }
  return { pickupMs, cells } satisfies GeneratedTrip;
}

/**
 * One month of synthetic trips as CSV text (header line, then one line per trip in pickup
 * order, `\n` line ends). The same options give the same bytes.
 */
export function generateTrips(options: GenerateOptions): string {
  const rows = options.rows ?? 10_000;
  if (!Number.isInteger(rows) || rows < 1)
    throw new RangeError(`rows must be a positive integer, got ${rows}`);
  const seed = options.seed ?? 7;
  const { year, monthIndex, days } = parseMonth(options.month);
  const profile = isShiftedMonth(options.month, options.shiftFrom) ? SHIFTED : USUAL;
  const random = createRandom(hashString(`${seed}:${options.month}`));
  const trips: Array<GeneratedTrip & { index: number }> = [];
  for (let index = 0; index < rows; index++) {
    trips.push({ ...generateTrip(random, profile, year, monthIndex, days), index });
  }
  trips.sort((a, b) => a.pickupMs - b.pickupMs || a.index - b.index);
  const lines = [TRIP_COLUMNS.join(','), ...trips.map((trip) => trip.cells.join(','))];
  return `${lines.join('\n')}\n`;
}
