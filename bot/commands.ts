/**
 * The one table of the bot's commands: who may use each, what /help lists,
 * what each person's Telegram menu shows (setMyCommands, scoped per role) and
 * what counts as a known command. A command is added here and in its feature;
 * a test checks the two agree, and tests every role against every command.
 */
import { allows, type Role } from '../domain/access/roles';

export interface CommandSpec {
  command: string;
  /** How it is typed, arguments included, for /help. */
  usage: string[];
  /** One line for /help. */
  help: string;
  /** Under 256 characters, for Telegram's command menu. */
  menu: string;
  /** The lowest role that may use it (owner > admin > user > trial). */
  role: Exclude<Role, 'none'>;
  /** Shown in the menu (some commands are only for /help). */
  inMenu: boolean;
}

export const COMMANDS: readonly CommandSpec[] = [
  { command: 'start', usage: ['/start', '/help'], help: 'this message', menu: 'How to use this bot', role: 'trial', inMenu: true },
  { command: 'help', usage: [], help: '', menu: 'How to use this bot', role: 'trial', inMenu: false },
  {
    command: 'dl',
    usage: ['/dl <link> [720p] [mkv]'],
    help: 'download with a quality cap (2160p to 360p, or best) and a container (mp4, mkv, webm)',
    menu: 'Download with options: /dl <link> [720p] [mkv]',
    role: 'trial',
    inMenu: true,
  },
  {
    command: 'audio',
    usage: ['/audio <link> [m4a]'],
    help: 'the sound only, as mp3 (or m4a)',
    menu: 'Download the sound only: /audio <link> [m4a]',
    role: 'trial',
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
    role: 'trial',
    inMenu: true,
  },
  {
    command: 'status',
    usage: ['/status'],
    help: 'the machine (CPU, RAM, the download disk), downloads by state, and what is downloading now',
    menu: 'Machine, downloads by state, progress',
    role: 'user',
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
  {
    command: 'clear',
    usage: ['/clear'],
    help: 'forget the records of ended downloads (completed, failed, cancelled); files and running work stay',
    menu: 'Forget the records of ended downloads',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'whoami',
    usage: ['/whoami'],
    help: 'your role and when it ends, your active downloads and your limits',
    menu: 'Your role, downloads and limits',
    role: 'trial',
    inMenu: true,
  },
  {
    command: 'grant',
    usage: ['/grant <id|@user> <admin|user|trial> [30d]'],
    help: 'give someone a role, for good or for a time (s, m, h, d, w); only owners grant admin',
    menu: 'Give a role: /grant <id|@user> <role> [30d]',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'revoke',
    usage: ['/revoke <id|@user>'],
    help: "take someone's role away",
    menu: 'Take a role away: /revoke <id|@user>',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'ban',
    usage: ['/ban <id|@user> [1h]'],
    help: 'keep someone out, for good or for a time, whatever their role',
    menu: 'Keep someone out: /ban <id|@user> [1h]',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'unban',
    usage: ['/unban <id|@user>'],
    help: 'lift a ban',
    menu: 'Lift a ban: /unban <id|@user>',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'allowchat',
    usage: ['/allowchat [30d]', '/allowchat off'],
    help: 'in a group: everyone in it may use the bot as a user, for good or for a time; off ends it',
    menu: 'Let everyone in this group use the bot: /allowchat [30d]',
    role: 'admin',
    inMenu: true,
  },
  {
    command: 'monitor',
    usage: ['/monitor', '/monitor on|off', '/monitor window|failures|retention <number>', '/monitor downloader|channel <name> on|off'],
    help: 'downloader health alerts: the settings and the last 24 h per downloader; change a setting (/monitor help lists the forms)',
    menu: 'Downloader health and alert settings: /monitor',
    role: 'admin',
    inMenu: true,
  },
];

const KNOWN = new Map(COMMANDS.map((c) => [c.command, c]));

/** The command a message starts with and the bot it names ("/Pause@my_bot 1a2b" -> pause, my_bot), or null. */
export function commandOf(text: string): { command: string; bot: string | null } | null {
  const match = /^\/([A-Za-z0-9_]{1,64})(?:@(\w+))?(?:\s|$)/.exec(text);
  return match ? { command: match[1]!.toLowerCase(), bot: match[2] ?? null } : null;
}

export function isKnownCommand(command: string): boolean {
  return KNOWN.has(command);
}

/** The spec of a known command. */
export function commandSpec(command: string): CommandSpec | undefined {
  return KNOWN.get(command);
}

/** The commands `role` may use. */
export function commandsFor(role: Role): CommandSpec[] {
  return COMMANDS.filter((c) => allows(role, c.role));
}

/** The menu Telegram shows someone of `role` (setMyCommands). */
export function menuFor(role: Role): Array<{ command: string; description: string }> {
  return commandsFor(role)
    .filter((c) => c.inMenu)
    .map((c) => ({ command: c.command, description: c.menu }));
}

/** The commands part of /help, for `role`. */
export function commandHelpLines(role: Role): string[] {
  return commandsFor(role)
    .filter((c) => c.usage.length > 0)
    .map((c) => `${c.usage.join(', ')} - ${c.help}`);
}
