/**
 * The one table of the bot's commands: what /help lists, what the Telegram menu
 * shows (setMyCommands) and what counts as a known command. A command is added
 * here and in its feature; a test checks the two agree.
 */

export type Role = 'admin';

export interface CommandSpec {
  command: string;
  /** How it is typed, arguments included, for /help. */
  usage: string[];
  /** One line for /help. */
  help: string;
  /** Under 256 characters, for Telegram's command menu. */
  menu: string;
  /** Who may use it. Today everyone allowed in (ADMIN_IDS) is an admin; roles come with their issue. */
  role: Role;
  /** Shown in the menu (some commands are only for /help). */
  inMenu: boolean;
}

export const COMMANDS: readonly CommandSpec[] = [
  { command: 'start', usage: ['/start', '/help'], help: 'this message', menu: 'How to use this bot', role: 'admin', inMenu: true },
  { command: 'help', usage: [], help: '', menu: 'How to use this bot', role: 'admin', inMenu: false },
  {
    command: 'dl',
    usage: ['/dl <link> [720p] [mkv]'],
    help: 'download with a quality cap (2160p to 360p, or best) and a container (mp4, mkv, webm)',
    menu: 'Download with options: /dl <link> [720p] [mkv]',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'audio',
    usage: ['/audio <link> [m4a]'],
    help: 'the sound only, as mp3 (or m4a)',
    menu: 'Download the sound only: /audio <link> [m4a]',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'retry',
    usage: ['/retry <id>', '/retry all'],
    help: 'a new run of a failed download (you are told how it ends), or of every recent failed one',
    menu: 'Run a failed download again: /retry <id> (or all)',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'queue',
    usage: ['/queue', '/queue all'],
    help: "your downloads not yet ended (or everyone's), newest first, with state, percent and ETA",
    menu: 'Downloads not yet ended: /queue (or all)',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'status',
    usage: ['/status'],
    help: 'the machine (CPU, RAM, the download disk), downloads by state, and what is downloading now',
    menu: 'Machine, downloads by state, progress',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'pause',
    usage: ['/pause', '/pause <id>'],
    help: 'pause every download (running ones keep their partial files), or one',
    menu: 'Pause everything, or one download: /pause <id>',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'resume',
    usage: ['/resume', '/resume <id>'],
    help: 'continue everything, or one',
    menu: 'Continue everything, or one download: /resume <id>',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'cancel',
    usage: ['/cancel <id>', '/cancel all'],
    help: 'stop one download for good and remove its partial files, or every download (asks first)',
    menu: 'Stop a download for good: /cancel <id> (or all)',
    role: 'admin',
    inMenu: true,
  },
];

const KNOWN = new Set(COMMANDS.map((c) => c.command));

/** The command a message starts with and the bot it names ("/Pause@my_bot 1a2b" -> pause, my_bot), or null. */
export function commandOf(text: string): { command: string; bot: string | null } | null {
  const match = /^\/([A-Za-z0-9_]{1,64})(?:@(\w+))?(?:\s|$)/.exec(text);
  return match ? { command: match[1]!.toLowerCase(), bot: match[2] ?? null } : null;
}

export function isKnownCommand(command: string): boolean {
  return KNOWN.has(command);
}

/** The menu Telegram shows (setMyCommands). */
export const BOT_COMMANDS = COMMANDS.filter((c) => c.inMenu).map((c) => ({ command: c.command, description: c.menu }));

/** The commands part of /help. */
export function commandHelpLines(): string[] {
  return COMMANDS.filter((c) => c.usage.length > 0).map((c) => `${c.usage.join(', ')} - ${c.help}`);
}
