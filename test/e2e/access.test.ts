import { COMMANDS } from '../../bot/commands';
import { askBot } from '../support/bot-messages';
import { allows, type Role } from '../../domain/access/roles';
import type { RecordedCall } from '../support/fake-bot-api';
import { ADMIN_ID, STRANGER_ID, startStack, type Stack } from '../support/stack';
import { textMessage } from '../support/telegram-updates';
import { eventually } from '../support/eventually';

/**
 * Who may use the bot, through the real bot on PostgreSQL and Redis: roles
 * granted and revoked by command, every role against every command of the
 * command table, expiry of timed roles and bans to the second, the rank rules,
 * and /allowchat in a group. Only Telegram is faked.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const OWNER = ADMIN_ID;
const ADMIN = 3001;
const USER = 3002;
const TRIAL = 3003;

/** Sends `text` as `userId` (in their private chat unless `chatId`) and returns the bot's next message to that chat. */
async function ask(userId: number, text: string, o: { chatId?: number; username?: string } = {}): Promise<string> {
  return String((await askBot(stack.telegram, userId, text, o)).payload.text);
}

/**
 * Sends `text` as `userId` and checks the bot says nothing to that chat: an
 * owner's message sent after it is answered first (updates are handled in
 * order per chat, and chats at once, so a short wait follows too).
 */
async function expectSilence(userId: number, text: string, chatId = userId): Promise<void> {
  const before = stack.telegram.calls.length;
  // The update is handled once its "update received" line is followed by the access decision.
  const handled = () => stack.logs.entries().filter((e) => e.userId === userId && e.msg === 'refused: no access').length;
  const decided = handled();
  stack.telegram.pushUpdate(textMessage({ userId, chatId, text }));
  await eventually(() => handled() > decided, 30_000, `the refusal of ${text} to be decided`);
  // Anything the bot would say comes right after its decision.
  await ask(OWNER, '/whoami');
  const said = stack.telegram.calls
    .slice(before)
    .filter((c: RecordedCall) => c.method === 'sendMessage' && Number(c.payload.chat_id) === chatId);
  expect(said.map((c) => c.payload.text)).toEqual([]);
}

const ROLE_TOO_LOW = /^\/\w+ is for (users|admins|owners) only; you are /;
const REFUSED = /^Sorry, (this bot is private|you are banned)/;

test('an owner grants roles (by ID or by a username the bot has seen); each role may use exactly the commands the table gives it', async () => {
  // A stranger who writes first is refused once, and is then known by username.
  expect(await ask(TRIAL, 'hello', { username: 'Trial_Tester' })).toBe(
    `Sorry, this bot is private. Your Telegram user ID is ${TRIAL}; an admin can let you in with /grant ${TRIAL} user.`,
  );
  expect(await ask(OWNER, `/grant ${ADMIN} admin`)).toBe(`✅ ${ADMIN} is now an admin for good.`);
  expect(await ask(OWNER, `/grant ${USER} user`)).toBe(`✅ ${USER} is now a user for good.`);
  expect(await ask(OWNER, '/grant @trial_tester trial')).toBe(`✅ @trial_tester (${TRIAL}) is now a trial user for good.`);
  // Their menus follow their roles.
  const menuOf = (chatId: number) =>
    stack.telegram
      .callsTo('setMyCommands')
      .filter((c) => (c.payload.scope as { chat_id?: number } | undefined)?.chat_id === chatId)
      .map((c) => (c.payload.commands as Array<{ command: string }>).map((x) => x.command))
      .at(-1);
  expect(menuOf(TRIAL)).toEqual(['start', 'dl', 'audio', 'queue', 'whoami']);
  expect(menuOf(USER)).toEqual(['start', 'dl', 'audio', 'queue', 'status', 'whoami']);
  expect(menuOf(ADMIN)).toContain('grant');

  const people: Array<[Role, number]> = [
    ['trial', TRIAL],
    ['user', USER],
    ['admin', ADMIN],
    ['owner', OWNER],
  ];
  for (const [role, userId] of people) {
    for (const spec of COMMANDS) {
      const answer = await ask(userId, `/${spec.command}`);
      if (allows(role, spec.role)) {
        expect({ role, command: spec.command, answer }).not.toEqual(
          expect.objectContaining({ answer: expect.stringMatching(ROLE_TOO_LOW) }),
        );
        expect(answer).not.toMatch(REFUSED);
        expect(answer).not.toMatch(/Something went wrong/);
      } else {
        expect({ role, command: spec.command, answer }).toEqual(expect.objectContaining({ answer: expect.stringMatching(ROLE_TOO_LOW) }));
      }
    }
  }
  // /queue all is for admins, /queue for everyone with a role.
  expect(await ask(USER, '/queue all')).toBe("Only admins see everyone's downloads; /queue shows yours.");
  expect(await ask(ADMIN, '/queue all')).toMatch(/^Everyone's downloads/);
  expect(await ask(TRIAL, '/whoami')).toMatch(new RegExp(`^You are ${TRIAL}\\.\\nRole: trial user\\n`));

  // Someone without a role: one refusal, then nothing at all, whatever they send.
  expect(await ask(STRANGER_ID, '/status')).toMatch(/^Sorry, this bot is private/);
  for (const spec of COMMANDS.slice(0, 5)) await expectSilence(STRANGER_ID, `/${spec.command}`);
  await expectSilence(STRANGER_ID, 'http://127.0.0.1:1/x.mp4');
});

test('nobody acts on someone as high as themselves; only owners grant admin; owners cannot be changed; bad input changes nothing', async () => {
  await ask(OWNER, `/grant ${ADMIN} admin`);
  expect(await ask(ADMIN, '/grant 4000 admin')).toBe('Only owners can grant admin.');
  expect(await ask(ADMIN, `/ban ${OWNER}`)).toBe(`${OWNER} is an owner (ADMIN_IDS in the configuration); that cannot be changed here.`);
  expect(await ask(ADMIN, `/revoke ${ADMIN}`)).toBe(`${ADMIN} is an admin, as high as you: only an owner can change that.`);
  expect(await ask(ADMIN, '/grant 4000 superuser')).toBe('Usage: /grant <id|@user> <admin|user|trial> [30d]');
  expect(await ask(ADMIN, '/grant 4000 user 5x')).toMatch(/^The duration must be a number and a unit/);
  expect(await ask(ADMIN, '/grant @never_seen user')).toBe(
    'I do not know @never_seen yet: they must send me a message first, or use their numeric ID.',
  );
  expect(await stack.database.db.botUser.findUnique({ where: { userId: 4000n } })).toBeNull();
  // An admin may grant below their own role.
  expect(await ask(ADMIN, '/grant 4000 trial')).toBe('✅ 4000 is now a trial user for good.');
  expect(await ask(ADMIN, '/revoke 4000')).toBe('✅ 4000 has no role any more.');
  expect(await ask(ADMIN, '/revoke 4000')).toBe('4000 had no role; nothing changed.');
});

/** Waits until `at` has passed, by the wall clock. */
async function until(at: Date): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, at.getTime() - Date.now() + 50)));
}

test('a timed role ends on time, a ban overrides any role and a timed ban ends on time; /unban lifts a ban', async () => {
  const TIMED = 4001;
  const BANNED = 4002;
  expect(await ask(OWNER, `/grant ${TIMED} user 3s`)).toMatch(
    new RegExp(`^✅ ${TIMED} is now a user until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(in 3 seconds\\)\\.$`),
  );
  const role = await stack.database.db.botUser.findUniqueOrThrow({ where: { userId: BigInt(TIMED) } });
  expect(await ask(TIMED, '/whoami')).toMatch(/^You are 4001\.\nRole: user, until .+\(in \d seconds?\)/);
  await until(role.roleExpiresAt!);
  // Cached in Redis a moment ago, and still refused the moment it ends.
  expect(await ask(TIMED, '/whoami')).toMatch(/^Sorry, this bot is private/);

  expect(await ask(OWNER, `/grant ${BANNED} user`)).toBe(`✅ ${BANNED} is now a user for good.`);
  expect(await ask(BANNED, '/status')).toMatch(/CPU/);
  expect(await ask(OWNER, `/ban ${BANNED} 3s`)).toMatch(
    new RegExp(`^⛔ ${BANNED} is banned until .+\\. Their downloads already queued go on; /cancel stops them\\.$`),
  );
  const ban = await stack.database.db.botUser.findUniqueOrThrow({ where: { userId: BigInt(BANNED) } });
  expect(await ask(BANNED, '/status')).toMatch(/^Sorry, you are banned from this bot until \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
  await until(ban.banExpiresAt!);
  expect(await ask(BANNED, '/whoami')).toMatch(/^You are 4002\.\nRole: user\n/);

  // A permanent ban of an admin, then lifted.
  await ask(OWNER, `/grant ${ADMIN} admin`);
  expect(await ask(OWNER, `/ban ${ADMIN}`)).toBe(
    `⛔ ${ADMIN} is banned for good. Their downloads already queued go on; /cancel stops them.`,
  );
  expect(await ask(ADMIN, '/status')).toBe('Sorry, you are banned from this bot.');
  expect(await ask(OWNER, `/unban ${ADMIN}`)).toBe(`✅ ${ADMIN} is no longer banned.`);
  expect(await ask(ADMIN, '/whoami')).toMatch(/\nRole: admin\n/);
  expect(await ask(OWNER, `/unban ${ADMIN}`)).toBe(`${ADMIN} was not banned; nothing changed.`);
});

test('/allowchat lets everyone in a group use the bot as a user there (not elsewhere), until it ends or is turned off', async () => {
  const GROUP = -5001;
  const MEMBER = 4100;
  // Not addressed in a group: no answer. Addressed: the one refusal.
  await expectSilence(MEMBER, 'just chatting', GROUP);
  expect(await ask(MEMBER, '/whoami', { chatId: GROUP })).toMatch(/^Sorry, this bot is private/);

  expect(await ask(OWNER, '/allowchat', { chatId: OWNER })).toBe(
    'Send /allowchat in the group whose members should all be able to use me.',
  );
  expect(await ask(OWNER, '/allowchat 1h', { chatId: GROUP })).toMatch(
    /^✅ Everyone in this chat may use me as a user until .+ \(in 1 hour\)\.$/,
  );
  expect(await ask(MEMBER, '/whoami', { chatId: GROUP })).toMatch(/\nRole: user \(everyone in this chat\), until /);
  expect(await ask(MEMBER, '/pause', { chatId: GROUP })).toBe('/pause is for admins only; you are a user. /whoami tells you more.');
  // The group's menu is a user's.
  const groupMenu = stack.telegram
    .callsTo('setMyCommands')
    .filter((c) => (c.payload.scope as { chat_id?: number } | undefined)?.chat_id === GROUP);
  expect((groupMenu.at(-1)?.payload.commands as Array<{ command: string }>).map((c) => c.command)).toEqual([
    'start',
    'dl',
    'audio',
    'queue',
    'status',
    'whoami',
  ]);
  // Only in that group: in private they are still nobody (and already refused once).
  await expectSilence(MEMBER, '/whoami', MEMBER);

  expect(await ask(OWNER, '/allowchat off', { chatId: GROUP })).toBe('✅ Members of this chat no longer get access through it.');
  await expectSilence(MEMBER, '/whoami', GROUP);
  expect(
    stack.telegram.callsTo('deleteMyCommands').some((c) => (c.payload.scope as { chat_id?: number } | undefined)?.chat_id === GROUP),
  ).toBe(true);

  // A timed allowance ends on time.
  await ask(OWNER, '/allowchat 2s', { chatId: GROUP });
  const allowance = await stack.database.db.allowedChat.findUniqueOrThrow({ where: { chatId: BigInt(GROUP) } });
  expect(await ask(MEMBER, '/whoami', { chatId: GROUP })).toMatch(/\nRole: user \(everyone in this chat\)/);
  await until(allowance.expiresAt!);
  await expectSilence(MEMBER, '/whoami', GROUP);
});
