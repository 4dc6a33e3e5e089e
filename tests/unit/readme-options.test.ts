// README.md and the CLI agree: every option of every `dqe` command (as commander builds them for
// --help) is documented in the README where that command is, and every option the README gives a
// command exists. Where a command is: a line naming `dqe <command>` (flags after it on that line), a
// table under a heading naming it, or a row of the command reference table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../client/cli.js';
import { REPO_ROOT } from '../../infra/python-env.js';

/** Every command's full name (`schedule create`) with its long flags, from the program --help prints. */
function commandOptions(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const walk = (c: Command, prefix: string[]) => {
    for (const sub of c.commands) {
      const name = [...prefix, sub.name()];
      out.set(name.join(' '), new Set(sub.options.map((o) => o.long!).filter(Boolean)));
      walk(sub, name);
    }
  };
  walk(buildProgram(), []);
  return out;
}

const FLAG = /(?<![\w-])--[a-z][a-z0-9-]*/gu;

/** Flags the README gives each command, by where they appear. */
function readmeOptions(readme: string, commands: string[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>(commands.map((c) => [c, new Set<string>()]));
  const add = (command: string, text: string) => {
    for (const f of text.match(FLAG) ?? []) found.get(command)!.add(f);
  };
  // Longest names first, so `schedule create` wins over `schedule`.
  const byLength = [...commands].sort((a, b) => b.length - a.length);
  const mention = new RegExp(`\\bdqe (${byLength.map((c) => c.replace(/ /gu, ' ')).join('|')})(?![\\w-])`, 'gu');
  let headingCommand: string | undefined;
  for (const line of readme.split('\n')) {
    if (/^#{1,6} /u.test(line)) {
      headingCommand = [...line.matchAll(mention)][0]?.[1];
      continue;
    }
    const cells = line.startsWith('|') ? line.split(/(?<!\\)\|/u).slice(1, -1) : [];
    const rowCommands = cells.length > 1 ? [...cells[0]!.matchAll(mention)].map((m) => m[1]!) : [];
    if (rowCommands.length > 0) {
      // A row of the command reference: `dqe <command>`, `dqe <other>` | their options.
      for (const c of rowCommands) add(c, cells.slice(1).join('|'));
    } else if (cells.length > 1 && headingCommand && !/^ *-+ *$/u.test(cells[0]!)) {
      // An options table under a heading that names the command: flags in its first column.
      add(headingCommand, cells[0]!);
    } else {
      // A line naming commands: each flag belongs to the nearest command named before it.
      const hits = [...line.matchAll(mention)];
      hits.forEach((m, i) => add(m[1]!, line.slice(m.index + m[0].length, hits[i + 1]?.index ?? line.length)));
    }
  }
  return found;
}

test('every CLI option is in the README under its command, and the README names no option a command lacks', () => {
  const cli = commandOptions();
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const documented = readmeOptions(readme, [...cli.keys()]);
  const missing: string[] = [];
  const unknown: string[] = [];
  for (const [command, flags] of cli) {
    for (const f of flags) if (!documented.get(command)!.has(f)) missing.push(`dqe ${command} ${f}`);
    for (const f of documented.get(command)!) if (!flags.has(f)) unknown.push(`dqe ${command} ${f}`);
  }
  assert.deepEqual({ missing, unknown }, { missing: [], unknown: [] });
});

test('the README check sees through a wrong README', () => {
  const commands = ['run', 'worker', 'schedule', 'schedule create'];
  const found = readmeOptions(
    ['## `dqe run` options', '| option | meaning |', '| --- | --- |', '| `--ratio` | x |', '', '## Other', '', '`dqe worker --concurrency 4` then `dqe schedule create x --cron "0 3 * * *"`', '| `dqe schedule`, `dqe worker` | `--nope` |'].join('\n'),
    commands,
  );
  assert.deepEqual(Object.fromEntries([...found].map(([c, s]) => [c, [...s]])), { run: ['--ratio'], worker: ['--concurrency', '--nope'], schedule: ['--nope'], 'schedule create': ['--cron'] });
});
