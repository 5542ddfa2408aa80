/**
 * Polls `fn` until it returns a truthy value, then returns it. Tests wait with this instead of
 * sleeping, and never assert on timings: the deadline only bounds a test that would hang.
 */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  what: string,
  timeoutMs = 90_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
