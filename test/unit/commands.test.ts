import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS, commandOf, commandsFor, isKnownCommand, menuFor } from '../../bot/commands';
import { helpText, unknownCommandText } from '../../bot/replies';
import { ROLES } from '../../domain/access/roles';

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

test("each role's /help and Telegram menu come from the table: exactly the commands that role may use, within Telegram limits", () => {
  const expected: Record<string, string[]> = {
    none: [],
    trial: ['start', 'help', 'dl', 'audio', 'queue', 'whoami'],
    user: ['start', 'help', 'dl', 'audio', 'queue', 'status', 'whoami'],
    admin: COMMANDS.map((c) => c.command),
    owner: COMMANDS.map((c) => c.command),
  };
  for (const role of ROLES) {
    expect(
      commandsFor(role)
        .map((c) => c.command)
        .sort(),
    ).toEqual([...expected[role]!].sort());
    const help = helpText(role);
    for (const c of COMMANDS)
      for (const usage of c.usage) {
        if (expected[role]!.includes(c.command)) expect(help).toContain(usage);
        else expect(help).not.toContain(`${usage} -`);
      }
    const menu = menuFor(role);
    expect(menu.map((c) => c.command)).toEqual(
      commandsFor(role)
        .filter((c) => c.inMenu)
        .map((c) => c.command),
    );
    for (const c of menu) {
      expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThanOrEqual(3);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
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
