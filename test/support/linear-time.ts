/**
 * Fails unless `run` takes at most `limitMs` of CPU time on at least one of up
 * to twenty tries. A complexity guard, not a speed target: on 1 MB of
 * adversarial input a linear parser needs a few milliseconds and a quadratic one
 * seconds, so the generous limit separates them. CPU time rather than wall time,
 * and the best of several tries, because on a small virtual machine busy with
 * the rest of the test suite (two vCPUs here) a single linear call has been
 * measured at 110 ms of CPU; a try past twenty times the limit is super-linear
 * beyond doubt, and ends the tries at once.
 */
export function expectLinearTime(what: string, run: () => unknown, limitMs = 100): void {
  let best = Infinity;
  for (let i = 0; i < 20 && best > limitMs; i++) {
    const started = process.cpuUsage();
    run();
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    best = Math.min(best, ms);
    if (ms > 20 * limitMs) break;
  }
  if (best > limitMs)
    throw new Error(`${what} took ${best.toFixed(0)} ms of CPU at best (limit ${limitMs} ms): super-linear on adversarial input`);
}

/** One megabyte of `unit` repeated (cut to exactly 1 MiB characters). */
export function megabyteOf(unit: string): string {
  const size = 1024 * 1024;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}
