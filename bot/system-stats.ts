import fs from 'node:fs/promises';
import os from 'node:os';

export interface SystemStats {
  /** Busy share of all cores over a short sample, 0-100. */
  cpuPercent: number;
  /** Used share of memory, 0-100. */
  ramPercent: number;
  /** DOWNLOAD_DIR's file system, or null when it cannot be read. */
  disk: { usedPercent: number; freeBytes: number } | null;
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, irq, idle } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + irq + idle;
  }
  return { busy, total };
}

function busyPercent(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  const total = after.total - before.total;
  return total > 0 ? Math.round(((after.busy - before.busy) / total) * 100) : 0;
}

/** Once /status has been asked for, the CPU is sampled every second in the background, so it answers at once. */
const SAMPLE_EVERY_MS = 1_000;
let sampler: NodeJS.Timeout | null = null;
let lastSample: number | null = null;

function startSampler(): void {
  if (sampler) return;
  let previous = cpuTimes();
  sampler = setInterval(() => {
    const now = cpuTimes();
    lastSample = busyPercent(previous, now);
    previous = now;
  }, SAMPLE_EVERY_MS);
  // Never what keeps a process running.
  sampler.unref();
}

/** CPU, memory and DOWNLOAD_DIR's disk of the machine the bot runs on (the worker's, when they share it). */
export async function systemStats(downloadDir: string, sampleMs = 200): Promise<SystemStats> {
  startSampler();
  let cpuPercent = lastSample;
  if (cpuPercent === null) {
    // The first time: a short sample of its own.
    const before = cpuTimes();
    await new Promise((r) => setTimeout(r, sampleMs));
    cpuPercent = busyPercent(before, cpuTimes());
  }
  const ramPercent = Math.round((1 - os.freemem() / os.totalmem()) * 100);
  const disk = await fs.statfs(downloadDir).then(
    (s) => ({ usedPercent: Math.round((1 - s.bavail / s.blocks) * 100), freeBytes: s.bavail * s.bsize }),
    () => null,
  );
  return { cpuPercent, ramPercent, disk };
}
