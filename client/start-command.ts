// What a person pastes to start a dqe run without dqe's CLI: the Web UI's Start Workflow form fields
// and the equivalent `temporal workflow start` command line, with every path absolute (the workers
// read them, whatever directory the person starts from).
import { isAbsolute } from 'node:path';
import type { DqeInput } from '../core/input.js';

export interface StartCommandOptions {
  /** The `temporal` CLI, as an absolute path (a fresh clone has it only in the project venv). */
  temporalCli: string;
  /** Temporal frontend, `host:port`. */
  address: string;
  /** @default 'default' */
  namespace?: string;
  /** @default 'dqe-cpu' */
  taskQueue?: string;
  workflowId: string;
  /** `dataset` and `outputDir` must be absolute. */
  input: DqeInput;
}

export interface StartCommand {
  /** The Web UI form's Input (JSON), pretty-printed. */
  inputJson: string;
  /** One shell line (POSIX quoting) that starts the run. */
  shellLine: string;
  /** The same as an argument vector, for programs. */
  argv: string[];
}

/** Quotes one word for a POSIX shell: inside single quotes everything is literal but `'` itself. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/u.test(word) ? word : `'${word.replace(/'/gu, `'\\''`)}'`;
}

export function startCommand(o: StartCommandOptions): StartCommand {
  for (const [field, path] of [['dataset', o.input.dataset], ['outputDir', o.input.outputDir]] as const) {
    if (path !== undefined && !isAbsolute(path)) throw new Error(`${field} must be an absolute path (workers resolve relative paths from their own directory): ${path}`);
  }
  const argv = [
    o.temporalCli,
    'workflow', 'start',
    '--address', o.address,
    '--namespace', o.namespace ?? 'default',
    '--type', 'dqe',
    '--task-queue', o.taskQueue ?? 'dqe-cpu',
    '--workflow-id', o.workflowId,
    '--input', JSON.stringify(o.input),
  ];
  return { inputJson: JSON.stringify(o.input, null, 2), shellLine: argv.map(shellQuote).join(' '), argv };
}
