/**
 * Fails unless `run` finishes within `limitMs` on at least one of five tries.
 * A complexity guard, not a speed target: on 1 MB of adversarial input a linear
 * parser takes a few milliseconds and a quadratic one seconds, so the generous
 * limit separates them even on a loaded machine; the best of five rules out a
 * garbage-collection pause.
 */
export function expectLinearTime(what: string, run: () => unknown, limitMs = 100): void {
  let best = Infinity;
  for (let i = 0; i < 5 && best > limitMs; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  if (best > limitMs)
    throw new Error(`${what} took ${best.toFixed(0)} ms at best (limit ${limitMs} ms): super-linear on adversarial input`);
}

/** One megabyte of `unit` repeated (cut to exactly 1 MiB characters). */
export function megabyteOf(unit: string): string {
  const size = 1024 * 1024;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}
