import { cpus } from 'node:os';

/** Seconds taken by `fn`, measured with the monotonic clock. */
export async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Times two variants of the same work alternately (a, b, a, b, …) after one warm-up of each,
 * so that load from other jobs on a shared machine falls on both; returns the median seconds.
 */
export async function timeAlternating(
  a: () => Promise<void> | void,
  b: () => Promise<void> | void,
  rounds: number,
): Promise<{ a: number; b: number }> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ta.push(await timeIt(a));
    tb.push(await timeIt(b));
  }
  return { a: median(ta), b: median(tb) };
}

export function cpuModel(): string {
  return cpus()[0]?.model.trim() ?? 'unknown';
}
