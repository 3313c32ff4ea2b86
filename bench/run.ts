// npm run bench: the product against its baselines, side by side in one run.
// Starts the whole stack as it runs in production (Temporal dev server, PostgreSQL,
// Redis, the worker and the bot as processes of their own, on a fake Bot API) and
// loopback media servers, runs each scenario
// with its baseline (plain curl, plain yt-dlp), prints a table and writes
// bench/results/<timestamp>.json. Not part of npm test: it takes minutes and
// its figures are for people to read, never for assertions.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadWorkflowId } from '../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../domain/downloads/links';
import { findExecutable } from '../lib/executables';
import type { RecordedCall } from '../test/support/fake-bot-api';
import { ADMIN_ID } from '../test/support/stack';
import { startBenchStack, type BenchStack } from './stack';
import { documentMessage, textMessage } from '../test/support/telegram-updates';

const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 200);
const CLIPS = Number(process.env.BENCH_CLIPS ?? 200);
const CLIPS_PER_MESSAGE = 50;
const FEED_ENTRIES = Number(process.env.BENCH_FEED_ENTRIES ?? 300);
const PARALLEL = 8; // xargs -P 8, and MAX_CONCURRENT for the pipeline
const ROUNDS = 5;
/** Unmeasured rounds before those: a worker runs for days, so its warm code is the one to measure (every side gets them). */
const WARMUP_ROUNDS = 1;
/**
 * BENCH_ONLY=<group> runs one group of scenarios alone, for a quick check after a change:
 * large (the direct source), clip, many, feed (the pipeline), intake (the bot).
 */
const GROUPS = ['large', 'clip', 'many', 'feed', 'intake'] as const;
const ONLY = process.env.BENCH_ONLY ?? '';
if (ONLY && !(GROUPS as readonly string[]).includes(ONLY)) throw new Error(`BENCH_ONLY must be one of ${GROUPS.join(', ')}`);
const wanted = (group: (typeof GROUPS)[number]): boolean => !ONLY || ONLY === group;
const TXT_LINKS = Number(process.env.BENCH_TXT_LINKS ?? 1000);
const INTAKE_ROUNDS = 5;
const COMMAND_SAMPLES = 20;
const OUT = path.resolve(__dirname, 'results');

interface Row {
  scenario: string;
  baseline: string;
  baselineSeconds: number;
  pipelineSeconds: number;
  /** pipeline / baseline time (lower is better), or the figure the target names. */
  ratio: number;
  target: string;
  met: boolean;
  notes?: string;
}

const rows: Row[] = [];
const details: Record<string, unknown> = {};
let peakRss = 0;
const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);

let workerPeakRss: number | null = null;
let botPeakRss: number | null = null;

/** A process's peak resident memory in MB (Linux: VmHWM), or null when it cannot be read. */
function peakRssOf(pid: number): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The value below which `p` of the values lie (nearest rank). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Runs a command to completion; its wall time in ms. */
function timed(command: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

function freshDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mediadl-bench-${name}-`));
  return dir;
}

function keyOf(url: string): string {
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error(url);
  return contentKeyFor(parsed.url, 'video');
}

function version(command: string, args = ['--version']): string {
  const found = findExecutable(command);
  if (!found) return 'not installed';
  try {
    return execFileSync(found, args, { encoding: 'utf8', timeout: 30_000 }).trim().split('\n')[0]!;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const ytDlp = findExecutable('yt-dlp');
  const curl = findExecutable('curl');
  if (!ytDlp || !curl) throw new Error('the benchmark needs yt-dlp and curl on PATH (npm run setup installs yt-dlp)');
  const settings: Record<string, string> = {
    MAX_CONCURRENT: String(PARALLEL),
    DIRECT_SOURCE: 'true',
    // The baselines only download: the pipeline's completion message is text, as theirs would be.
    TELEGRAM_UPLOAD_LIMIT_MB: '0',
    LOG_LEVEL: 'warn',
    MAX_PLAYLIST_VIDEOS: String(Math.max(300, FEED_ENTRIES)),
  };
  console.log(`bench: starting the stack (${JSON.stringify(settings)})`);
  const stack = await startBenchStack(settings);
  let sent = 0;
  const send = (text: string): number => {
    const update = textMessage({ userId: ADMIN_ID, text, messageId: 500_000 + ++sent });
    stack.telegram.pushUpdate(update);
    return update.message.message_id;
  };
  const replyTo = (messageId: number, pattern: RegExp) => (c: RecordedCall) =>
    c.method === 'sendMessage' &&
    (c.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId &&
    pattern.test(String(c.payload.text));

  try {
    // Warm-up: the worker bundles its workflows and connects; the first download waits for it.
    const warm = send(stack.media.route('/bench/warm-up.mp4'));
    await stack.telegram.waitForCall(replyTo(warm, /Downloaded/), 180_000, 'the warm-up download');

    await downloadScenarios(stack, send, replyTo);
    if (wanted('intake')) await intakeScenarios(stack, send);
    workerPeakRss = peakRssOf(stack.pids.worker);
    botPeakRss = peakRssOf(stack.pids.bot);
  } finally {
    clearInterval(rssSampler);
    await stack.stop();
  }
  report();
}

type Send = (text: string) => number;
type ReplyTo = (messageId: number, pattern: RegExp) => (c: RecordedCall) => boolean;

/** Downloads against curl and yt-dlp: one large file, one clip, many clips, a feed. */
async function downloadScenarios(stack: BenchStack, send: Send, replyTo: ReplyTo): Promise<void> {
  const ytDlp = findExecutable('yt-dlp')!;
  const curl = findExecutable('curl')!;
  if (wanted('large')) {
    // --- One large file ---------------------------------------------------------
    // Served by a process of its own (bench/file-server.mjs), as a real server would be.
    const bigFile = path.join(stack.media.dir, 'big.mp4');
    execFileSync('head', ['-c', String(BIG_MB * 1024 * 1024), '/dev/urandom'], { stdio: ['ignore', fs.openSync(bigFile, 'w'), 'inherit'] });
    const bigBytes = fs.statSync(bigFile).size;
    const server = spawn(process.execPath, [path.join(__dirname, 'file-server.mjs'), bigFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const requestsAt = new Map<string, number>();
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      server.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = JSON.parse(buffered.slice(0, nl)) as { port?: number; path?: string; at?: number };
          buffered = buffered.slice(nl + 1);
          if (line.port) resolve(line.port);
          if (line.path && line.at && !requestsAt.has(line.path)) requestsAt.set(line.path, line.at);
        }
      });
      server.on('error', reject);
    });
    try {
      const mbps = (ms: number) => Math.round((bigBytes / 1024 / 1024 / (ms / 1000)) * 10) / 10;
      const bigUrl = (name: string) => `http://127.0.0.1:${port}/${name}.mp4`;
      requestsAt.clear();
      // Each side runs WARMUP_ROUNDS unmeasured, then ROUNDS times, alternating, and the median counts: loopback figures on a shared machine are noisy.
      const curlRuns: number[] = [];
      const ytRuns: number[] = [];
      const pipeRuns: number[] = [];
      const transferRuns: number[] = [];
      // Before each timed run the disk's dirty pages are flushed (sync), so no run is slowed by
      // writing back the one before it.
      const warmup = { curlMs: [] as number[], ytDlpMs: [] as number[], pipelineMs: [] as number[], directTransferMs: [] as number[] };
      for (let round = -WARMUP_ROUNDS; round < ROUNDS; round++) {
        const measured = round >= 0;
        const curlDir = freshDir('curl');
        execFileSync('sync');
        (measured ? curlRuns : warmup.curlMs).push(await timed(curl, ['-sS', '-o', 'big.mp4', bigUrl(`curl-${round}`)], curlDir));
        fs.rmSync(curlDir, { recursive: true, force: true });
        const ytDir = freshDir('ytdlp');
        execFileSync('sync');
        (measured ? ytRuns : warmup.ytDlpMs).push(
          await timed(ytDlp, ['--ignore-config', '-q', '-o', 'big.%(ext)s', bigUrl(`ytdlp-${round}`)], ytDir),
        );
        fs.rmSync(ytDir, { recursive: true, force: true });
        execFileSync('sync');
        const started = Date.now();
        const done = await stack.telegram.waitForCall(replyTo(send(bigUrl(`pipeline-${round}`)), /Downloaded/), 600_000, 'the large file');
        (measured ? pipeRuns : warmup.pipelineMs).push(done.at - started);
        const saved = path.join(stack.downloadDir, /Saved as: (.+)/.exec(String(done.payload.text))![1]!);
        // The direct source's own transfer: from the server seeing the request to the file's last write.
        (measured ? transferRuns : warmup.directTransferMs).push(fs.statSync(saved).mtimeMs - requestsAt.get(`/pipeline-${round}.mp4`)!);
        fs.rmSync(saved, { force: true });
      }
      const [curlMs, ytMs, pipeMs, transferMs] = [curlRuns, ytRuns, pipeRuns, transferRuns].map(median) as [number, number, number, number];
      details.largeFile = {
        bytes: bigBytes,
        rounds: ROUNDS,
        warmup,
        curlMs: curlRuns,
        ytDlpMs: ytRuns,
        pipelineMs: pipeRuns,
        directTransferMs: transferRuns,
        medianMBps: { curl: mbps(curlMs), ytDlp: mbps(ytMs), pipeline: mbps(pipeMs), directTransfer: mbps(transferMs) },
      };
      rows.push({
        scenario: `${BIG_MB} MB file: the direct source's transfer`,
        baseline: 'curl',
        baselineSeconds: seconds(curlMs),
        pipelineSeconds: seconds(transferMs),
        ratio: Math.round((curlMs / transferMs) * 100) / 100,
        target: 'throughput >= 0.9x curl',
        met: curlMs / transferMs >= 0.9,
        notes: `median of ${ROUNDS} after ${WARMUP_ROUNDS} unmeasured: curl ${mbps(curlMs)} MB/s, direct source ${mbps(transferMs)} MB/s (request to last byte on disk); ratio is throughput`,
      });
      rows.push({
        scenario: `${BIG_MB} MB file, message to completion message`,
        baseline: 'yt-dlp',
        baselineSeconds: seconds(ytMs),
        pipelineSeconds: seconds(pipeMs),
        ratio: Math.round((pipeMs / ytMs) * 100) / 100,
        target: '<= raw yt-dlp + 0.2 s',
        met: pipeMs <= ytMs + 200,
        notes: `plain yt-dlp ${mbps(ytMs)} MB/s, the whole pipeline ${mbps(pipeMs)} MB/s`,
      });
    } finally {
      server.kill('SIGTERM');
    }
    fs.rmSync(stack.downloadDir, { recursive: true, force: true });
    fs.mkdirSync(stack.downloadDir, { recursive: true });
    fs.rmSync(bigFile, { force: true });
  }

  if (wanted('clip')) {
    // --- One small clip -----------------------------------------------------------
    const clipRaw = freshDir('clip');
    const rawClipMs = await timed(
      ytDlp,
      ['--ignore-config', '-q', '-o', 'clip.%(ext)s', stack.media.route('/bench/clip-raw.mp4')],
      clipRaw,
    );
    fs.rmSync(clipRaw, { recursive: true, force: true });
    const clipRoute = '/bench/clip-pipeline.mp4';
    const clipUrl = stack.media.route(clipRoute);
    const clipSent = Date.now();
    const clipMessage = send(clipUrl);
    const ack = await stack.telegram.waitForCall(replyTo(clipMessage, /Queued 1 download/), 60_000, 'the acknowledgement');
    const clipDone = await stack.telegram.waitForCall(replyTo(clipMessage, /Downloaded/), 60_000, 'the clip');
    const savedAs = /Saved as: (.+)/.exec(String(clipDone.payload.text))![1]!;
    const fileAt = fs.statSync(path.join(stack.downloadDir, savedAs)).mtimeMs;
    const latency = {
      messageToAck: seconds(ack.at - clipSent),
      messageToDownloadStart: seconds(stack.media.firstRequestAt.get(clipRoute)! - clipSent),
      fileCompleteToMessage: seconds(clipDone.at - fileAt),
      total: seconds(clipDone.at - clipSent),
    };
    details.smallClipLatency = latency;
    rows.push({
      scenario: 'one small clip, message to completion message',
      baseline: 'yt-dlp',
      baselineSeconds: seconds(rawClipMs),
      pipelineSeconds: latency.total,
      ratio: Math.round((latency.total / seconds(rawClipMs)) * 100) / 100,
      target: '<= raw yt-dlp + 0.2 s',
      met: latency.total <= seconds(rawClipMs) + 0.2,
      notes: `ack ${latency.messageToAck} s, download start ${latency.messageToDownloadStart} s, file on disk to message ${latency.fileCompleteToMessage} s`,
    });
  }

  if (wanted('many')) {
    // --- Many small clips -----------------------------------------------------------
    const rawUrls = Array.from({ length: CLIPS }, (_, i) => stack.media.route(`/bench/many-raw-${i}.mp4`));
    const manyRaw = freshDir('many');
    fs.writeFileSync(path.join(manyRaw, 'urls.txt'), rawUrls.join('\n'));
    const manyRawMs = await timed(
      'sh',
      ['-c', `xargs -P ${PARALLEL} -n 1 '${ytDlp}' --ignore-config -q -o '%(title)s-%(id)s.%(ext)s' < urls.txt`],
      manyRaw,
    );
    fs.rmSync(manyRaw, { recursive: true, force: true });
    const pipeUrls = Array.from({ length: CLIPS }, (_, i) => stack.media.route(`/bench/many-pipe-${i}.mp4`));
    const manyStarted = Date.now();
    const messages: number[] = [];
    for (let i = 0; i < CLIPS; i += CLIPS_PER_MESSAGE) messages.push(send(pipeUrls.slice(i, i + CLIPS_PER_MESSAGE).join('\n')));
    const manyDone = async () => {
      for (;;) {
        const doneCalls = stack.telegram.calls.filter((c) => messages.some((m) => replyTo(m, /Downloaded/)(c)));
        if (doneCalls.length >= CLIPS) return Math.max(...doneCalls.map((c) => c.at));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const manyPipeMs = (await manyDone()) - manyStarted;
    rows.push({
      scenario: `${CLIPS} small clips, ${CLIPS_PER_MESSAGE} per message`,
      baseline: `xargs -P ${PARALLEL} yt-dlp`,
      baselineSeconds: seconds(manyRawMs),
      pipelineSeconds: seconds(manyPipeMs),
      ratio: Math.round((manyPipeMs / manyRawMs) * 100) / 100,
      target: '<= 1.05x raw',
      met: manyPipeMs <= manyRawMs * 1.05,
    });
  }

  if (wanted('feed')) {
    // --- A feed of many entries -------------------------------------------------------
    const entries = Array.from({ length: FEED_ENTRIES }, (_, i) => stack.media.route(`/bench/feed-${i}.mp4`));
    const items = entries.map((u, i) => `<item><title>Entry ${i}</title><enclosure url="${u}" type="video/mp4" length="1"/></item>`);
    const feedUrl = stack.media.page(
      '/bench/feed.rss',
      `<?xml version="1.0"?><rss version="2.0"><channel><title>Bench Feed</title><link>${stack.media.origin}/</link><description>d</description>${items.join('')}</channel></rss>`,
      'application/rss+xml',
    );
    const feedSent = Date.now();
    const feedMessage = send(feedUrl);
    // "All started": every entry's download has asked the media server for its file.
    let allStartedAt = 0;
    const watcher = setInterval(() => {
      if (!allStartedAt && entries.every((u) => stack.media.firstRequestAt.has(new URL(u).pathname))) allStartedAt = Date.now();
    }, 50);
    const summary = await stack.telegram.waitForCall(replyTo(feedMessage, /Playlist .* finished/), 900_000, 'the feed summary');
    clearInterval(watcher);
    const runs: Array<{ type: string; events: number }> = [];
    const workflowId = downloadWorkflowId(keyOf(feedUrl));
    for await (const info of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      const history = await stack.client.workflow.getHandle(workflowId, info.runId).fetchHistory();
      runs.push({ type: info.type, events: history.events?.length ?? 0 });
    }
    const startedS = seconds((allStartedAt || summary.at) - feedSent);
    details.feed = {
      entries: FEED_ENTRIES,
      allStartedSeconds: startedS,
      allDoneSeconds: seconds(summary.at - feedSent),
      runs,
      summary: String(summary.payload.text).split('\n')[1],
    };
    rows.push({
      scenario: `${FEED_ENTRIES}-entry feed: message to all entries started`,
      baseline: '-',
      baselineSeconds: 0,
      pipelineSeconds: startedS,
      ratio: startedS,
      target: '< 30 s',
      met: startedS < 30,
      notes: `all done in ${seconds(summary.at - feedSent)} s; playlist history: ${runs.map((r) => `${r.type} ${r.events} events`).join(', ')}`,
    });
  }
}

/** The bot's answer to the message `messageId`, whatever it says; its arrival time. */
async function answerAt(stack: BenchStack, messageId: number, what: string): Promise<number> {
  const call = await stack.telegram.waitForCall(
    (c) => c.method === 'sendMessage' && (c.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId,
    120_000,
    what,
  );
  return call.at;
}

/**
 * Telegram intake: a message of 50 new links answered, a .txt of TXT_LINKS new
 * links answered with every workflow started, and /status and /queue while
 * MAX_CONCURRENT downloads run and the rest of those links wait. The links are
 * slow (about 2 KB/s), so the downloads keep running while the commands are timed.
 */
async function intakeScenarios(stack: BenchStack, send: Send): Promise<void> {
  let n = 0;
  const slowLink = () => stack.media.route(`/bench/intake-${++n}.mp4`, { bytesPerSecond: 2_000 });
  const messageMs: number[] = [];
  for (let round = 0; round < INTAKE_ROUNDS; round++) {
    const links = Array.from({ length: CLIPS_PER_MESSAGE }, slowLink);
    const sentAt = Date.now();
    const id = send(links.join('\n'));
    messageMs.push((await answerAt(stack, id, 'the answer to 50 links')) - sentAt);
  }
  details.intakeMessageMs = messageMs;
  rows.push({
    scenario: `a message of ${CLIPS_PER_MESSAGE} new links, to its answer`,
    baseline: '-',
    baselineSeconds: 0,
    pipelineSeconds: seconds(median(messageMs)),
    ratio: seconds(median(messageMs)),
    target: '< 0.3 s',
    met: median(messageMs) < 300,
    notes: `median of ${INTAKE_ROUNDS}: ${messageMs.map((ms) => seconds(ms)).join(', ')} s`,
  });

  const txt = Array.from({ length: TXT_LINKS }, slowLink).join('\n');
  const file = stack.telegram.addFile(Buffer.from(txt));
  const upload = documentMessage({ userId: ADMIN_ID, file, fileName: 'links.txt', mimeType: 'text/plain' });
  const txtSentAt = Date.now();
  stack.telegram.pushUpdate(upload);
  const txtMs = (await answerAt(stack, upload.message.message_id, 'the answer to the .txt')) - txtSentAt;
  details.intakeTxtMs = txtMs;
  rows.push({
    scenario: `a .txt of ${TXT_LINKS} new links, to its answer (every workflow started)`,
    baseline: '-',
    baselineSeconds: 0,
    pipelineSeconds: seconds(txtMs),
    ratio: seconds(txtMs),
    target: '< 10 s',
    met: txtMs < 10_000,
  });

  for (const command of ['/status', '/queue']) {
    const samples: number[] = [];
    for (let i = 0; i < COMMAND_SAMPLES; i++) {
      const sentAt = Date.now();
      const id = send(command);
      samples.push((await answerAt(stack, id, `the answer to ${command}`)) - sentAt);
    }
    const running = await stack.client.workflow.count(`ExecutionStatus = 'Running' AND DownloadState = 'downloading'`);
    const queued = await stack.client.workflow.count(`ExecutionStatus = 'Running' AND DownloadState = 'queued'`);
    details[`intake${command.slice(1)}Ms`] = samples;
    rows.push({
      scenario: `${command} p95, while downloads run and more wait`,
      baseline: '-',
      baselineSeconds: 0,
      pipelineSeconds: seconds(percentile(samples, 0.95)),
      ratio: seconds(percentile(samples, 0.95)),
      target: '< 0.5 s',
      met: percentile(samples, 0.95) < 500,
      notes: `${COMMAND_SAMPLES} in a row, median ${seconds(median(samples))} s; afterwards ${running.count} downloading and ${queued.count} queued`,
    });
  }
}

function report(): void {
  const result = {
    at: new Date().toISOString(),
    machine: {
      platform: `${os.type()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    },
    versions: {
      node: process.version,
      ytDlp: version('yt-dlp'),
      curl: version('curl'),
      ffmpeg: version('ffmpeg', ['-version']),
      temporal: version('temporal', ['--version']),
    },
    settings: {
      bigFileMb: BIG_MB,
      clips: CLIPS,
      clipsPerMessage: CLIPS_PER_MESSAGE,
      feedEntries: FEED_ENTRIES,
      maxConcurrent: PARALLEL,
      directSource: true,
      txtLinks: TXT_LINKS,
      only: ONLY || null,
    },
    peakRssMb: { worker: workerPeakRss, bot: botPeakRss, benchProcess: Math.round(peakRss / 1024 / 1024) },
    rows,
    details,
  };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${result.at.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  console.log('');
  console.log('| Scenario | Baseline | Baseline (s) | Pipeline (s) | Ratio | Target | Met |');
  console.log('| --- | --- | ---: | ---: | ---: | --- | --- |');
  for (const r of rows)
    console.log(
      `| ${r.scenario} | ${r.baseline} | ${r.baseline === '-' ? '-' : r.baselineSeconds} | ${r.pipelineSeconds} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'NO'} |`,
    );
  for (const r of rows) if (r.notes) console.log(`- ${r.scenario}: ${r.notes}`);
  console.log(
    `- peak RSS: worker ${workerPeakRss} MB, bot ${botPeakRss} MB (the bench process, with the small-file media server: ${result.peakRssMb.benchProcess} MB)`,
  );
  console.log(`\nbench: results written to ${path.relative(process.cwd(), file)}`);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
