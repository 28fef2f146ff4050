/**
 * The delay before retry number `attempt` (1 after the first failure):
 * base × 2^(attempt−1), at most max, then "equal jitter": a random point in
 * its upper half, so that retries of a burst spread out yet never come
 * sooner than half the nominal delay.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + (nominal / 2) * random());
}
