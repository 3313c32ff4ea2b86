import fs from 'node:fs';
import path from 'node:path';
import { searchAttributes } from '../../domain/downloads/definitions';
import { configSchema } from '../../lib/config';
import { COMMANDS } from '../../ops/commands';

/**
 * docs/runbook.md is followed by people under pressure: every command it shows
 * must exist as written. These checks keep it in step with the ops CLI's command
 * table, the registered search attributes and the configuration schema.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const runbook = fs.readFileSync(path.join(ROOT, 'docs', 'runbook.md'), 'utf8');

/** Fenced code blocks (also those indented inside list items), with their language. */
function codeBlocks(markdown: string): Array<{ lang: string; text: string }> {
  const blocks: Array<{ lang: string; text: string }> = [];
  let open: { lang: string; lines: string[] } | null = null;
  for (const line of markdown.split('\n')) {
    const fence = /^\s*```(\S*)\s*$/.exec(line);
    if (fence && !open) open = { lang: fence[1]!, lines: [] };
    else if (fence && open) {
      blocks.push({ lang: open.lang, text: open.lines.join('\n') });
      open = null;
    } else if (open) open.lines.push(line);
  }
  expect(open).toBeNull(); // every fence is closed
  return blocks;
}

/** The markdown outside code blocks. */
function prose(markdown: string): string {
  return markdown.replace(/^\s*```\S*\s*\n[\s\S]*?^\s*```\s*$/gm, '');
}

/** Inline code spans of the prose and tables. */
function inlineCode(markdown: string): string[] {
  return [...prose(markdown).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
}

const blocks = codeBlocks(runbook);
const shellBlocks = blocks.filter((b) => b.lang === 'sh');
const spans = inlineCode(runbook);
/** Every piece of code the runbook shows: code blocks (commands and their output) and inline code. */
const code = [...blocks.map((b) => b.text), ...spans];

/** Splits a command line into words, dropping shell quotes (enough for the commands a runbook shows). */
function words(text: string): string[] {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('docs/runbook.md', () => {
  test('has the procedures the on-call issue asks for, each with commands', () => {
    for (const heading of [
      'Find a stuck or failed download',
      'What each state means',
      'Replay or reset a download',
      'Drain a worker',
      'Recover from a full disk',
      'Rotate the bot token',
      'Rotate the API token',
      'Upgrade yt-dlp',
      'A monitoring alert arrived',
    ]) {
      const at = runbook.indexOf(`. ${heading}\n`);
      expect({ heading, found: at >= 0 }).toEqual({ heading, found: true });
      const section = runbook.slice(at).split(/\n## /)[0]!;
      expect({ heading, hasCommands: /```sh\n/.test(section) }).toEqual({ heading, hasCommands: true });
    }
    // Every state of a download is explained in the states table.
    const states = runbook.slice(runbook.indexOf('. What each state means'));
    for (const state of ['queued', 'waiting_for_disk', 'downloading', 'paused', 'completed', 'failed', 'cancelled'])
      expect(states).toContain(`| \`${state}\` |`);
  });

  test('every `npm run ops` command (also with -s) names a command of the ops CLI, with options and arguments it accepts', () => {
    const invocations = code.flatMap((text) =>
      [...text.matchAll(/npm run (?:-s |--silent )?ops -- ([^\n]*)/g)].map((m) => m[1]!.split(/\s(?:\||&&|;|#)|\)|`/)[0]!.trim()),
    );
    expect(invocations.length).toBeGreaterThan(30);
    const names = new Set(COMMANDS.map((c) => c.name));
    const used = new Set<string>();
    for (const invocation of invocations) {
      const [name, ...rest] = words(invocation);
      if (name === '--help' || name === '<command>') continue; // the command list, or any command
      expect({ invocation, known: names.has(name!) }).toEqual({ invocation, known: true });
      const spec = COMMANDS.find((c) => c.name === name)!;
      used.add(spec.name);
      const options: Record<string, { type: string }> = { ...spec.options, json: { type: 'boolean' }, help: { type: 'boolean' } };
      const positionals: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        const word = rest[i]!;
        if (!word.startsWith('--')) {
          positionals.push(word);
          continue;
        }
        const [option, inlineValue] = word.slice(2).split('=', 2) as [string, string | undefined];
        expect({ invocation, option, accepted: option in options }).toEqual({ invocation, option, accepted: true });
        if (options[option]?.type === 'string' && inlineValue === undefined) {
          const value = rest[++i];
          expect({ invocation, option, value: value !== undefined && !value.startsWith('--') }).toEqual({
            invocation,
            option,
            value: true,
          });
        }
      }
      if (!rest.includes('--help')) {
        const { min, max } = spec.positionals;
        expect({ invocation, positionals: positionals.length >= min && positionals.length <= max }).toEqual({
          invocation,
          positionals: true,
        });
      }
    }
    // The commands the procedures rely on are all shown.
    expect([...used].sort()).toEqual(expect.arrayContaining(['cancel', 'failed', 'inspect', 'pause', 'replay', 'resume', 'status']));
  });

  test('every search attribute in a query is registered or one of Temporal’s own', () => {
    const builtIn = ['WorkflowType', 'ExecutionStatus', 'WorkflowId', 'StartTime', 'CloseTime'];
    const allowed = new Set([...Object.values(searchAttributes).map((key) => key.name), ...builtIn]);
    const queries = [
      // temporal ... --query '...' (or "..." with escaped quotes) in the code blocks
      ...blocks.flatMap((b) =>
        [...b.text.matchAll(/--query\s+(?:'([^']*)'|"((?:[^"\\]|\\.)*)")/g)].map((m) => m[1] ?? m[2]!.replace(/\\"/g, '"')),
      ),
      // queries written inline, for the Web UI's search box
      ...spans.filter((s) => /[A-Za-z]\s*(?:!=|=|<|>)\s*"|\bSTARTS_WITH\b/.test(s)),
      // Web UI links carrying a query
      ...[...runbook.matchAll(/[?&]query=([^\s`)>&]+)/g)].map((m) => decodeURIComponent(m[1]!)),
    ];
    expect(queries.length).toBeGreaterThan(10);
    expect(queries).toContain('DownloadState="failed" AND Platform="youtube"');
    for (const query of queries) {
      const withoutValues = query.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '""');
      const names = [
        ...withoutValues.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*(?:!=|<=|>=|=|<|>|\s(?:NOT\s+)?(?:STARTS_WITH|IN|BETWEEN|IS)\b)/g),
      ].map((m) => m[1]!);
      expect({ query, hasAttribute: names.length > 0 }).toEqual({ query, hasAttribute: true });
      for (const name of names) expect({ query, name, known: allowed.has(name) }).toEqual({ query, name, known: true });
    }
  });

  test('every environment variable the runbook names is one the configuration reads, or a well-known one', () => {
    const wellKnown = ['PATH', 'HOME'];
    const allowed = new Set([...Object.keys(configSchema.shape), ...wellKnown]);
    // Upper-case names in the runbook that are not environment variables, each with where it comes from.
    const notVariables: Record<string, () => boolean> = {
      // Temporal's cancellation reasons, as `inspect` shows an interrupted attempt.
      WORKER_SHUTDOWN: () => runbook.includes('Cancelled: WORKER_SHUTDOWN'),
      NOT_FOUND: () => runbook.includes('Cancelled: NOT_FOUND'),
      // A visibility query operator.
      STARTS_WITH: () => runbook.includes('STARTS_WITH "'),
      // A build argument of the Dockerfile, not read at run time.
      YTDLP_VERSION: () => /^ARG YTDLP_VERSION\b/m.test(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')),
    };
    const named = new Set<string>([
      // $NAME and ${NAME...} wherever they appear
      ...[...runbook.matchAll(/\$\{?([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1]!),
      // NAME=value in commands
      ...code.flatMap((text) => [...text.matchAll(/(?:^|[\s;(])(?:export\s+)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!)),
      // and any UPPER_SNAKE_CASE name at all
      ...[...runbook.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)].map((m) => m[0]),
    ]);
    expect(named.size).toBeGreaterThan(15);
    for (const name of named) {
      const known = allowed.has(name) || (name in notVariables && notVariables[name]!());
      expect({ name, known }).toEqual({ name, known: true });
    }
    for (const [name, check] of Object.entries(notVariables)) {
      expect({ name, inSchema: name in configSchema.shape }).toEqual({ name, inSchema: false });
      expect({ name, explained: check() }).toEqual({ name, explained: true });
    }
  });

  test('every Temporal CLI command names the address and namespace it talks to', () => {
    const lines = shellBlocks.flatMap((b) => b.text.split('\n')).filter((line) => /^\s*temporal\s/.test(line));
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) {
      expect({ line, address: line.includes('--address "$TEMPORAL_ADDRESS"') }).toEqual({ line, address: true });
      expect({ line, namespace: line.includes('--namespace "$TEMPORAL_NAMESPACE"') }).toEqual({ line, namespace: true });
    }
    // Both reset points the runbook explains are shown as commands.
    for (const type of ['LastWorkflowTask', 'FirstWorkflowTask'])
      expect(lines.some((line) => line.includes('workflow reset') && line.includes(`--type ${type}`) && line.includes('--reason'))).toBe(
        true,
      );
  });
});
