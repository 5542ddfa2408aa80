/** Test-only helpers of the example (not part of the package). */

/**
 * Whether this run selected the services a test file needs. `MLTRACE_TEST_SERVICES=none` (or a
 * list without one of them) skips the file; otherwise a missing service fails it loudly.
 */
export function servicesSelected(...needed: Array<'temporal' | 'postgres' | 'mlflow'>): boolean {
  const raw = process.env.MLTRACE_TEST_SERVICES?.trim();
  if (!raw || raw === 'all') return true;
  const selected = raw.split(',').map((name) => name.trim().toLowerCase());
  return needed.every((name) => selected.includes(name));
}
