import fs from 'node:fs';
import path from 'node:path';
import { BOT_COMMANDS, COMMANDS, commandOf, isKnownCommand } from '../../bot/commands';
import { HELP_TEXT, unknownCommandText } from '../../bot/replies';

const FEATURES = path.resolve(__dirname, '..', '..', 'bot', 'features');

/** The commands the features register (`.command('x', ...)` or `.command(['x', 'y'], ...)`), read from their source. */
function registered(): string[] {
  const names: string[] = [];
  for (const file of fs.readdirSync(FEATURES)) {
    const text = fs.readFileSync(path.join(FEATURES, file), 'utf8');
    for (const m of text.matchAll(/\.command\(\s*(\[[^\]]*\]|'[^']*')/g))
      names.push(...[...m[1]!.matchAll(/'([^']+)'/g)].map((n) => n[1]!));
  }
  return names.sort();
}

test('the command table and the commands the features handle are the same list', () => {
  expect(COMMANDS.map((c) => c.command).sort()).toEqual(registered());
});

test('/help and the Telegram menu come from the table, within Telegram limits', () => {
  for (const c of COMMANDS) for (const usage of c.usage) expect(HELP_TEXT).toContain(usage);
  expect(BOT_COMMANDS.map((c) => c.command)).toEqual(COMMANDS.filter((c) => c.inMenu).map((c) => c.command));
  for (const c of BOT_COMMANDS) {
    expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
    expect(c.description.length).toBeGreaterThanOrEqual(3);
    expect(c.description.length).toBeLessThanOrEqual(256);
  }
});

test('a command is read with its bot name and any case; other text is not a command', () => {
  expect(commandOf('/Pause@My_Bot 1a2b3c')).toEqual({ command: 'pause', bot: 'My_Bot' });
  expect(commandOf('/dl https://example.com/a.mp4')).toEqual({ command: 'dl', bot: null });
  expect(commandOf('/status')).toEqual({ command: 'status', bot: null });
  expect(commandOf('/ nothing')).toBeNull();
  expect(commandOf('https://example.com/a.mp4')).toBeNull();
  expect(isKnownCommand('pause')).toBe(true);
  expect(isKnownCommand('frobnicate')).toBe(false);
  expect(unknownCommandText('frobnicate')).toBe('I do not know /frobnicate. Send /help for the commands I know.');
});
