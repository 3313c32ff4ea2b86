import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttemptRecord } from '../domain/monitoring/attempts';

/**
 * The worker's own metrics: what its download attempts did, by downloader
 * (yt-dlp's extractor key, or the source's name). Counted as attempts end; the
 * Temporal SDK's runtime metrics are served beside them.
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mediadl_worker_' });
  const registers = [registry];
  const attempts = new Counter({
    name: 'mediadl_download_attempts_total',
    help: 'Download attempts that ended, by downloader, source and result (success, failure, cancelled).',
    labelNames: ['downloader', 'source', 'result'] as const,
    registers,
  });
  const started = new Counter({
    name: 'mediadl_downloads_started_total',
    help: 'Downloads whose first attempt ended (counted then, once the downloader is known), by downloader.',
    labelNames: ['downloader'] as const,
    registers,
  });
  const completed = new Counter({
    name: 'mediadl_downloads_completed_total',
    help: 'Downloads that finished with a file, by downloader.',
    labelNames: ['downloader'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'mediadl_download_failures_total',
    help: 'Failed download attempts, by downloader and error kind.',
    labelNames: ['downloader', 'error_kind'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'mediadl_download_attempt_duration_seconds',
    help: 'How long download attempts took, by downloader and result.',
    labelNames: ['downloader', 'result'] as const,
    buckets: [0.5, 1, 5, 15, 60, 300, 900, 3600, 14400],
    registers,
  });
  const bytes = new Counter({
    name: 'mediadl_downloaded_bytes_total',
    help: 'Bytes of finished files, by downloader.',
    labelNames: ['downloader'] as const,
    registers,
  });
  const active = new Gauge({ name: 'mediadl_active_downloads', help: 'Download attempts running in this worker now.', registers });

  return {
    registry,
    /** Counts one running attempt until the returned function is called. */
    attemptStarted(): () => void {
      active.inc();
      let ended = false;
      return () => {
        if (!ended) active.dec();
        ended = true;
      };
    },
    observe(a: AttemptRecord): void {
      const result = a.success ? 'success' : a.errorKind === 'Cancelled' ? 'cancelled' : 'failure';
      attempts.inc({ downloader: a.downloader, source: a.source ?? 'none', result });
      if (a.attempt === 1) started.inc({ downloader: a.downloader });
      duration.observe({ downloader: a.downloader, result }, (Date.parse(a.finishedAt) - Date.parse(a.startedAt)) / 1000);
      if (a.success) {
        completed.inc({ downloader: a.downloader });
        bytes.inc({ downloader: a.downloader }, a.bytes ?? 0);
      } else if (result === 'failure') failed.inc({ downloader: a.downloader, error_kind: a.errorKind ?? 'Unknown' });
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
