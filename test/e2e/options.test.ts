import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadWorkflowId } from '../../domain/downloads/definitions';
import { keyOf } from '../support/bot-messages';
import { findExecutable } from '../../lib/executables';
import type { RecordedCall } from '../support/fake-bot-api';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';
import { textMessage } from '../support/telegram-updates';

/**
 * Options per request, through the real bot, worker, yt-dlp and ffmpeg: /dl with
 * a quality and a container, /audio with a format. yt-dlp runs through a wrapper
 * that writes down its arguments, then runs the real one.
 */

let stack: Stack;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-options-'));
const argsLog = path.join(dir, 'args.log');

beforeAll(async () => {
  const wrapper = path.join(dir, 'yt-dlp');
  fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "---" "$@" >> '${argsLog}'\nexec '${findExecutable('yt-dlp')}' "$@"\n`, {
    mode: 0o755,
  });
  stack = await startStack({ YTDLP_PATH: wrapper, MAX_VIDEO_QUALITY: '1080', PREFERRED_FORMAT: 'mp4' });
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function replyTo(messageId: number, pattern: RegExp) {
  return (call: RecordedCall) =>
    call.method === 'sendMessage' &&
    (call.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId &&
    pattern.test(String(call.payload.text));
}

function send(text: string): number {
  const update = textMessage({ userId: ADMIN_ID, text });
  stack.telegram.pushUpdate(update);
  return update.message.message_id;
}

/** The arguments of each yt-dlp download run whose URL is `url`. */
function runsFor(url: string): string[][] {
  const runs = fs
    .readFileSync(argsLog, 'utf8')
    .split('---\n')
    .slice(1)
    .map((r) => r.trimEnd().split('\n'));
  return runs.filter((args) => args.at(-1) === url);
}

function ffprobe(file: string): { format: string; streams: string[] } {
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file], { encoding: 'utf8' }),
  );
  return { format: out.format.format_name, streams: out.streams.map((s: { codec_type: string }) => s.codec_type) };
}

async function savedFile(messageId: number): Promise<string> {
  const done = await stack.telegram.waitForCall(replyTo(messageId, /Downloaded/), 90_000, 'the completion message');
  return path.join(stack.config.DOWNLOAD_DIR, /Saved as: (.+)/.exec(String(done.payload.text))![1]!);
}

test('/dl <link> 720p mkv: the quality and container reach yt-dlp and the content key; the configured defaults apply otherwise', async () => {
  const url = stack.media.route('/options/clip.mp4');
  const plain = send(url);
  const plainFile = await savedFile(plain);
  const withOptions = send(`/dl ${url} 720p mkv`);
  const ack = await stack.telegram.waitForCall(replyTo(withOptions, /Queued 1 download \(720p, mkv\)/), 30_000, 'the intake reply');
  expect(String(ack.payload.text)).toContain(`[${keyOf(url, 'video', { maxHeight: 720, container: 'mkv' }).slice(0, 8)}]`);
  const optionFile = await savedFile(withOptions);

  // Two downloads: the defaults (1080p cap, mp4) and the request's (720p, mkv), each under its own key.
  const [first, second] = runsFor(url);
  expect(first).toEqual(expect.arrayContaining(['bv*[height<=1080]+ba/b[height<=1080]/b', '--merge-output-format', 'mp4']));
  expect(second).toEqual(
    expect.arrayContaining(['-f', 'bv*[height<=720]+ba/b[height<=720]/b', '--merge-output-format', 'mkv', '--remux-video', 'mkv']),
  );
  expect(plainFile).toMatch(/\.mp4$/);
  expect(optionFile).toMatch(/\.mkv$/);
  expect(ffprobe(optionFile).format).toContain('matroska');
  // The workflow of the options' content key is the one that downloaded it (the message comes just before it closes).
  const outcome = await stack.client.workflow
    .getHandle(downloadWorkflowId(keyOf(url, 'video', { maxHeight: 720, container: 'mkv' })))
    .result();
  expect(outcome).toMatchObject({ status: 'completed', filePath: path.relative(stack.config.DOWNLOAD_DIR, optionFile) });
  expect(keyOf(url, 'video', { maxHeight: 720, container: 'mkv' })).not.toBe(keyOf(url, 'video', { maxHeight: 1080, container: 'mp4' }));
});

test('/audio <link> gives an mp3, /audio <link> m4a an m4a: sound only (ffprobe)', async () => {
  const url = stack.media.route('/options/song.mp4');
  const mp3 = await savedFile(send(`/audio ${url}`));
  const m4a = await savedFile(send(`/audio ${url} m4a`));
  expect(mp3).toMatch(/\.mp3$/);
  expect(ffprobe(mp3)).toEqual({ format: 'mp3', streams: ['audio'] });
  expect(m4a).toMatch(/\.m4a$/);
  expect(ffprobe(m4a).streams).toEqual(['audio']);
  expect(runsFor(url).map((args) => args[args.indexOf('--audio-format') + 1])).toEqual(['mp3', 'm4a']);
});

test('a word that is not an option is named, and nothing is queued', async () => {
  const url = stack.media.route('/options/typo.mp4');
  const messageId = send(`/dl ${url} 721p`);
  const reply = await stack.telegram.waitForCall(replyTo(messageId, /Nothing was queued/), 30_000, 'the refusal');
  expect(String(reply.payload.text)).toContain('"721p" is not a quality this server offers');
  const noLink = send('/audio m4a');
  await stack.telegram.waitForCall(replyTo(noLink, /Send \/audio with a link/), 30_000, 'the usage reply');
  await new Promise((r) => setTimeout(r, 1_000));
  expect(stack.media.count('/options/typo.mp4')).toBe(0);
  await expect(
    stack.client.workflow.getHandle(downloadWorkflowId(keyOf(url, 'video', { maxHeight: 1080, container: 'mp4' }))).describe(),
  ).rejects.toThrow();
});

test('/audio sent as a reply to a message with links takes those links', async () => {
  const url = stack.media.route('/options/replied.mp4');
  const original = send(`have a look: ${url}`);
  await savedFile(original); // the link itself was queued as a video
  const reply = textMessage({ userId: ADMIN_ID, text: '/audio m4a' });
  reply.message.reply_to_message = {
    ...textMessage({ userId: ADMIN_ID, text: `have a look: ${url}`, messageId: original }).message,
    reply_to_message: undefined,
  };
  stack.telegram.pushUpdate(reply);
  const ack = await stack.telegram.waitForCall(
    replyTo(reply.message.message_id, /Queued 1 download \(audio, m4a\)/),
    30_000,
    'the intake reply',
  );
  expect(String(ack.payload.text)).toContain(url);
  expect(await savedFile(reply.message.message_id)).toMatch(/\.m4a$/);
});
