import { isTextFile, textOf } from '../../bot/features/documents';
import { parseTarget } from '../../bot/features/access';
import { neededFor } from '../../bot/middleware/access';
import { allows, describeSpan, effectiveAccess, parseDuration, ROLES, type UserRecord } from '../../domain/access/roles';
import { mapWithLimit } from '../../lib/concurrency';
import { sentKindOf } from '../../domain/downloads/sent-files';

const NOW = new Date('2026-11-24T12:00:00Z');
const later = (s: number) => new Date(NOW.getTime() + s * 1000);
const record = (o: Partial<UserRecord>): UserRecord => ({
  userId: 5,
  username: null,
  role: null,
  roleExpiresAt: null,
  banned: false,
  banExpiresAt: null,
  ...o,
});

describe('effectiveAccess', () => {
  test('owners come from ADMIN_IDS and no ban or record changes that', () => {
    expect(effectiveAccess(5, [5], record({ banned: true }), null, NOW)).toEqual({ role: 'owner', expiresAt: null, via: 'owner' });
  });
  test('a role holds until its expiry, to the millisecond', () => {
    const r = record({ role: 'user', roleExpiresAt: later(1) });
    expect(effectiveAccess(5, [], r, null, NOW).role).toBe('user');
    expect(effectiveAccess(5, [], r, null, new Date(later(1).getTime() - 1)).role).toBe('user');
    expect(effectiveAccess(5, [], r, null, later(1)).role).toBe('none');
  });
  test('a ban overrides any role until it ends; a permanent ban never ends', () => {
    const r = record({ role: 'admin', banned: true, banExpiresAt: later(60) });
    expect(effectiveAccess(5, [], r, null, NOW)).toEqual({ role: 'none', expiresAt: null, via: 'none', bannedUntil: later(60) });
    expect(effectiveAccess(5, [], r, null, later(60)).role).toBe('admin');
    expect(effectiveAccess(5, [], record({ role: 'admin', banned: true }), null, later(10 ** 8)).bannedUntil).toBe('forever');
  });
  test('an allowed chat makes anyone a user there; a higher own role wins; of equal roles the longer one is reported', () => {
    const chat = { chatId: -1, expiresAt: later(3600) };
    expect(effectiveAccess(5, [], null, chat, NOW)).toEqual({ role: 'user', expiresAt: later(3600), via: 'chat' });
    expect(effectiveAccess(5, [], record({ role: 'admin' }), chat, NOW).via).toBe('grant');
    expect(effectiveAccess(5, [], record({ role: 'user', roleExpiresAt: later(10) }), chat, NOW)).toEqual({
      role: 'user',
      expiresAt: later(3600),
      via: 'chat',
    });
    expect(effectiveAccess(5, [], record({ role: 'user' }), chat, NOW)).toEqual({ role: 'user', expiresAt: null, via: 'grant' });
    expect(effectiveAccess(5, [], record({ banned: true }), chat, NOW).role).toBe('none');
    expect(effectiveAccess(5, [], null, { chatId: -1, expiresAt: NOW }, NOW).role).toBe('none');
  });
  test('roles are ordered owner > admin > user > trial > none', () => {
    expect(ROLES.filter((r) => allows(r, 'user'))).toEqual(['user', 'admin', 'owner']);
  });
});

test('durations: a number and one unit, at most ten years; anything else is refused', () => {
  expect(parseDuration('45s')).toBe(45);
  expect(parseDuration('90m')).toBe(5400);
  expect(parseDuration('12H')).toBe(43_200);
  expect(parseDuration('30d')).toBe(2_592_000);
  expect(parseDuration('2w')).toBe(1_209_600);
  for (const bad of ['', '0d', '5', 'd', '1.5h', '5x', '-1d', '3651d', '1d2h', '99999999d']) expect(parseDuration(bad)).toBeNull();
  expect(describeSpan(1)).toBe('1 second');
  expect(describeSpan(42)).toBe('42 seconds');
  expect(describeSpan(3600)).toBe('1 hour');
  expect(describeSpan(2_592_000)).toBe('30 days');
});

test('targets are numeric IDs or @usernames', () => {
  expect(parseTarget('12345')).toEqual({ userId: 12345 });
  expect(parseTarget('@Some_User')).toEqual({ username: 'Some_User' });
  for (const bad of [undefined, '', '@', '@ab', 'someone', '12a', '@bad-name', '1234567890123456']) expect(parseTarget(bad)).toBeNull();
});

test('what an update needs: the command table for commands, admin for buttons other than the queue pages, trial for links and files', () => {
  const me = { username: 'test_downloader_bot' } as never;
  const msg = (text: string) => ({ msg: { text } as never, callbackQuery: undefined, me });
  expect(neededFor(msg('/pause 1a2b'))).toEqual({ command: 'pause', role: 'admin' });
  expect(neededFor(msg('/status@test_downloader_bot'))).toEqual({ command: 'status', role: 'user' });
  expect(neededFor(msg('/pause@other_bot'))).toEqual({ command: null, role: 'trial' });
  expect(neededFor(msg('/frobnicate'))).toEqual({ command: null, role: 'trial' });
  expect(neededFor(msg('https://example.com/a.mp4'))).toEqual({ command: null, role: 'trial' });
  const button = (data: string) => ({ msg: undefined, callbackQuery: { data } as never, me });
  expect(neededFor(button('queue:mine:2')).role).toBe('trial');
  expect(neededFor(button('queue:all:2')).role).toBe('admin');
  expect(neededFor(button('cancel-all:confirm:1')).role).toBe('admin');
});

test('.txt files: by name or type; text is UTF-8 without NUL bytes; a file cut at the cap loses its partial last line', () => {
  expect(isTextFile({ file_name: 'LINKS.TXT' })).toBe(true);
  expect(isTextFile({ file_name: 'list', mime_type: 'text/plain' })).toBe(true);
  expect(isTextFile({ file_name: 'photo.jpg', mime_type: 'image/jpeg' })).toBe(false);
  expect(textOf(Buffer.from('a\nb\n'), false)).toBe('a\nb\n');
  expect(textOf(Buffer.from('https://a.example/x\nhttps://b.exa'), true)).toBe('https://a.example/x');
  expect(textOf(Buffer.from('no newline at all'), true)).toBe('');
  expect(textOf(Buffer.from([0x61, 0x00, 0x62]), false)).toBeNull();
  expect(textOf(Buffer.from([0xff, 0xfe, 0x41]), false)).toBeNull();
  // A multi-byte character cut at the cap is on the dropped line.
  expect(textOf(Buffer.concat([Buffer.from('ok\nmün'), Buffer.from('ü').subarray(0, 1)]), true)).toBe('ok');
});

test('mapWithLimit keeps order and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const out = await mapWithLimit([5, 1, 4, 2, 3], 2, async (n, i) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, n * 3));
    running--;
    return `${i}:${n}`;
  });
  expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3']);
  expect(most).toBe(2);
  expect(await mapWithLimit([], 4, async () => 1)).toEqual([]);
});

test('files are sent back as audio, playable video (MP4) or documents', () => {
  expect(sentKindOf('Show/episode-1a2b3c4d5e6f.mp3')).toBe('audio');
  expect(sentKindOf('song.M4A')).toBe('audio');
  expect(sentKindOf('clip-1a2b3c4d5e6f.mp4')).toBe('video');
  expect(sentKindOf('clip-1a2b3c4d5e6f.mkv')).toBe('document');
  expect(sentKindOf('clip.webm')).toBe('document');
});
