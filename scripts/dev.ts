// npm run dev: the Temporal dev server, the worker, the bot and the HTTP API in one terminal,
// each line labelled with its process and free of colour codes. Ctrl-C (or
// SIGTERM) stops the bot, the worker and the API first, then Temporal. Without a bot
// token the bot stays off and the rest runs.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { parsePartialConfig, readEnv } from '../lib/config';
import { temporalReady } from '../lib/temporal-client';
import { temporalDevCommand } from './temporal';

const ROOT = path.resolve(__dirname, '..');
// node loads tsx itself (no tsx wrapper process): Ctrl-C reaches each program once,
// so the worker drains instead of being signalled twice.
const TSX_LOADER = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
// More than the worker's 10 s shutdown grace plus yt-dlp's 5 s to stop.
const STOP_GRACE_MS = 25_000;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

interface Piece {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const pieces: Piece[] = [];
let stopping = false;
let stoppingTemporal = false;
const label = (name: string) => `[${name.padEnd(8)}]`;
const say = (text: string) => process.stdout.write(`${label('dev')} ${text}\n`);

function start(name: string, command: string, args: string[]): Piece {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only this script, which stops the
    // pieces in order (bot and worker first, Temporal last).
    detached: true,
  });
  let hidden = 0;
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      // Once Temporal is being stopped, its shutdown chatter (a wall of warnings about
      // pollers and connections closing) is counted rather than shown.
      if (name === 'temporal' && stoppingTemporal) return void (hidden += 1);
      process.stdout.write(`${label(name)} ${line.replace(ANSI, '')}\n`);
    });
  }
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      say(`${name} exited (${signal ?? `code ${code}`})${hidden ? ` (${hidden} shutdown log lines not shown)` : ''}`);
      resolve(code);
      if (!stopping) void stopAll(1);
    }),
  );
  const piece = { name, child, exited };
  pieces.push(piece);
  return piece;
}

/** Signals a piece's whole process group (tsx runs the real program as a child). */
function signalGroup(piece: Piece, signal: NodeJS.Signals): void {
  try {
    process.kill(-piece.child.pid!, signal);
  } catch {
    // Already gone.
  }
}

async function stopPiece(piece: Piece): Promise<void> {
  if (piece.child.exitCode !== null || piece.child.signalCode !== null) return;
  signalGroup(piece, 'SIGINT');
  const timer = setTimeout(() => {
    say(`${piece.name} did not stop in time; killing it`);
    signalGroup(piece, 'SIGKILL');
  }, STOP_GRACE_MS);
  await piece.exited;
  clearTimeout(timer);
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping');
  // The bot and the worker first, while Temporal can still take their last calls.
  await Promise.all(pieces.filter((p) => p.name !== 'temporal').map(stopPiece));
  stoppingTemporal = true;
  await Promise.all(pieces.filter((p) => p.name === 'temporal').map(stopPiece));
  say('stopped');
  process.exit(exitCode);
}

async function waitForTemporal(address: string, namespace: string): Promise<void> {
  for (let i = 0; !stopping && !(await temporalReady(address, namespace)); i++) {
    if (i === 0) say(`waiting for Temporal on ${address}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function main(): Promise<void> {
  // The pieces run in their own process groups, so the terminal's signals reach
  // only this script: every way of closing it must stop them.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => void stopAll(0));
  const env = readEnv(ROOT);
  const { TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } = parsePartialConfig(env, ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']);
  const temporal = temporalDevCommand(env);
  start('temporal', temporal.command, temporal.args);
  await waitForTemporal(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE);
  if (stopping) return;
  say(`Temporal is up on ${TEMPORAL_ADDRESS}; Web UI at ${temporal.uiUrl}`);
  start('worker', process.execPath, ['--import', TSX_LOADER, 'workers/main.ts']);
  // Without a bot token and owners the rest still runs, so a first run shows the product working.
  const bot = parsePartialConfig(env, ['TELEGRAM_BOT_TOKEN', 'ADMIN_IDS']);
  if (bot.TELEGRAM_BOT_TOKEN && bot.ADMIN_IDS?.length) start('bot', process.execPath, ['--import', TSX_LOADER, 'bot/main.ts']);
  else
    say(
      'the Telegram bot is off until TELEGRAM_BOT_TOKEN and ADMIN_IDS are set in .env; meanwhile try: npm run ops -- download <url> --wait',
    );
  start('api', process.execPath, ['--import', TSX_LOADER, 'api/main.ts']);
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  void stopAll(1);
});
