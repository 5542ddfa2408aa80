import { InvalidArgumentError } from 'commander';

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO 8601 date or date-time. A time without an offset is UTC (as mltrace stored
 * times), and a date alone is midnight UTC. Returns undefined for anything else, including
 * impossible dates such as 2024-02-30.
 */
export function parseIsoDate(text: string): Date | undefined {
  const match = ISO_DATE.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '0', zone = 'Z'] = match;
  const ms = fraction.padEnd(3, '0').slice(0, 3);
  let offset = zone.toUpperCase();
  if (offset !== 'Z') {
    const digits = offset.slice(1).replace(':', '').padEnd(4, '0');
    offset = `${offset[0]}${digits.slice(0, 2)}:${digits.slice(2)}`;
  }
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}${offset}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // Date rolls 2024-02-30 over to March 1st: check the calendar fields survived.
  const check = new Date(`${year}-${month}-${day}T00:00:00Z`);
  if (
    check.getUTCFullYear() !== Number(year) ||
    check.getUTCMonth() + 1 !== Number(month) ||
    check.getUTCDate() !== Number(day) ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 59
  ) {
    return undefined;
  }
  return date;
}

/** commander parser of an ISO date option. */
export function dateOption(value: string): Date {
  const date = parseIsoDate(value);
  if (!date) {
    throw new InvalidArgumentError(
      `"${value}" is not an ISO 8601 date (e.g. 2024-05-01 or 2024-05-01T10:00:00Z; no offset means UTC)`,
    );
  }
  return date;
}

/** commander parser of a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return n;
}

/** commander parser of a non-negative integer option. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  }
  return n;
}

/** commander reducer of a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
