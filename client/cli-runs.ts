// The CLI commands for starting and following runs beyond `dqe run`: `dqe schedule ...`, `dqe list`,
// `dqe review` and `dqe setup`.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { NO_SHARED_FEATURE_NOTE, NO_SHARED_FEATURE_SIMILARITY } from '../core/categorise.js';
import { MAX_INLINE_DECISIONS, type ReviewDecision, type ReviewSubmission } from '../core/review.js';
import { RUN_STATUSES } from '../workflows/visibility.js';
import { PHASES } from '../workflows/index.js';
import { DEFAULT_TASK_QUEUE } from './api.js';
import { addDqeInputOptions, CURATION_FLAGS, dqeInputFromFlags, number, readInputOption, type DqeInputFlags } from './input-flags.js';
import { getDqeReview, readReviewFlagged, readReviewPairs, submitDqeReview, type ReviewFlaggedRow, type ReviewPairSide } from './review.js';
import { DEFAULT_LIST_LIMIT, ensureDqeSearchAttributes, listDqeRuns } from './runs.js';
import {
  createDqeSchedule,
  DEFAULT_CATCHUP_WINDOW,
  deleteDqeSchedule,
  describeDqeSchedule,
  listDqeSchedules,
  OVERLAP_POLICIES,
  pauseDqeSchedule,
  triggerDqeSchedule,
  unpauseDqeSchedule,
} from './schedules.js';

type WithClient = <T>(fn: (client: Client) => Promise<T>) => Promise<T>;

/** Characters of each text `dqe review` shows. */
const TEXT_PREVIEW = 160;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function overlapOption(description: string, withDefault: boolean): Option {
  const o = new Option('--overlap <policy>', description).choices(Object.keys(OVERLAP_POLICIES));
  return withDefault ? o.default('skip') : o;
}

function json(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

interface ScheduleCreateOptions extends DqeInputFlags {
  cron: string[];
  every?: string;
  offset?: string;
  timeZone: string;
  overlap: keyof typeof OVERLAP_POLICIES;
  catchupWindow: string;
  pauseOnFailure?: boolean;
  paused?: boolean;
  note?: string;
  outputRoot?: string;
  input?: string;
  taskQueue: string;
}

function addScheduleCommands(program: Command, withClient: WithClient): void {
  const schedule = program.command('schedule').description('Temporal Schedules that re-run dqe on a dataset as it grows; each run writes to <output root>/<schedule id>/<scheduled time>/');

  const create = schedule
    .command('create')
    .description('Create a schedule (cron or interval). Fails if the id exists.')
    .argument('<schedule-id>', 'the schedule id; its runs get workflow ids <schedule-id>-<scheduled time>')
    .argument('[dataset]', 'path of the dataset, as the workers see it; may come from --input instead')
    .option('--cron <expr>', 'cron expression, e.g. "0 3 * * *" (repeatable)', collect, [])
    .option('--every <duration>', 'interval between runs, e.g. 1d, 6h, "1 day"')
    .option('--offset <duration>', 'shift of interval runs, e.g. --every 1d --offset 3h runs at 03:00')
    .option('--time-zone <tz>', 'IANA time zone the cron expressions are read in', 'UTC')
    .addOption(overlapOption('what a run due while the previous one still runs does', true))
    .option('--catchup-window <duration>', 'how late a run missed during an outage may still start', DEFAULT_CATCHUP_WINDOW)
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .option('--output-root <dir>', 'runs go to <dir>/<schedule id>/<scheduled time>/ (default: ./runs, resolved now); an outputDir in --input wins')
    .option('--input <file|json>', 'the whole workflow input as JSON (a file or inline); flags override its fields');
  addDqeInputOptions(create, [...CURATION_FLAGS, 'gpuTaskQueue', 'review'], { review: { description: 'each run waits for `dqe review` after judging' } })
    .option('--task-queue <name>', 'task queue of the runs', DEFAULT_TASK_QUEUE)
    .action((id: string, dataset: string | undefined, o: ScheduleCreateOptions) =>
      withClient(async (client) => {
        const input = dqeInputFromFlags(dataset, o, readInputOption(o.input));
        await createDqeSchedule(client, {
          scheduleId: id,
          input,
          ...(input.outputDir === undefined ? { outputRoot: resolve(o.outputRoot ?? 'runs') } : {}),
          ...(o.cron.length > 0 ? { cron: o.cron } : {}),
          ...(o.every !== undefined ? { every: o.every } : {}),
          ...(o.offset !== undefined ? { offset: o.offset } : {}),
          timeZone: o.timeZone,
          overlap: OVERLAP_POLICIES[o.overlap],
          catchupWindow: o.catchupWindow,
          pauseOnFailure: o.pauseOnFailure ?? false,
          paused: o.paused ?? false,
          ...(o.note !== undefined ? { note: o.note } : {}),
          taskQueue: o.taskQueue,
        });
        const d = await describeDqeSchedule(client, id);
        console.log(`created schedule ${id}; next runs: ${d.nextRuns.slice(0, 3).map((t) => t.toISOString()).join(', ') || '(none)'}`);
      }),
    );

  schedule
    .command('list')
    .description('List the schedules that start dqe runs')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withClient(async (client) => {
        const list = await listDqeSchedules(client);
        if (o.json) return json(list);
        if (list.length === 0) return console.log('no dqe schedules');
        for (const s of list) {
          const next = s.nextRuns[0]?.toISOString() ?? '-';
          console.log(`${s.scheduleId.padEnd(30)} ${s.paused ? 'paused ' : 'active '} next ${next.padEnd(24)} ${s.dataset ?? ''}`);
        }
      }),
    );

  schedule
    .command('describe')
    .description('Show a schedule: spec, policies, state, next and recent runs')
    .argument('<schedule-id>')
    .option('--json', 'print JSON')
    .action((id: string, o: { json?: boolean }) =>
      withClient(async (client) => {
        const d = await describeDqeSchedule(client, id);
        if (o.json) return json(d);
        const spec = d.cron ? `cron ${d.cron.map((c) => JSON.stringify(c)).join(', ')}` : `every ${String(d.every)}${d.offset !== undefined ? ` offset ${String(d.offset)}` : ''}`;
        console.log(`schedule ${d.scheduleId}: ${spec} (${d.timeZone ?? 'UTC'}), ${d.paused ? 'PAUSED' : 'active'}${d.note ? ` — ${d.note}` : ''}`);
        console.log(`  dataset        ${d.dataset ?? '-'}`);
        console.log(`  output         ${d.input.outputDir ?? '-'}`);
        console.log(`  overlap        ${d.overlap}; catch-up window ${d.catchupWindowMs / 1000}s; pause on failure ${d.pauseOnFailure}`);
        console.log(`  task queue     ${d.taskQueue}`);
        console.log(`  runs started   ${d.runsStarted} (skipped for overlap ${d.skippedOverlap}, missed catch-up window ${d.missedCatchupWindow})`);
        console.log(`  running        ${d.running.join(', ') || '-'}`);
        console.log(`  next runs      ${d.nextRuns.slice(0, 5).map((t) => t.toISOString()).join(', ') || '-'}`);
        for (const r of d.recentRuns) console.log(`  recent         ${r.scheduledAt.toISOString()}  ${r.workflowId}`);
      }),
    );

  schedule
    .command('pause')
    .description('Pause a schedule (runs in progress go on)')
    .argument('<schedule-id>')
    .option('--note <text>', 'why')
    .action((id: string, o: { note?: string }) =>
      withClient(async (client) => {
        await pauseDqeSchedule(client, id, o.note);
        console.log(`paused schedule ${id}`);
      }),
    );

  schedule
    .command('unpause')
    .description('Unpause a schedule')
    .argument('<schedule-id>')
    .option('--note <text>', 'why')
    .action((id: string, o: { note?: string }) =>
      withClient(async (client) => {
        await unpauseDqeSchedule(client, id, o.note);
        console.log(`unpaused schedule ${id}`);
      }),
    );

  schedule
    .command('trigger')
    .description("Start a run now. Applies the schedule's overlap policy (the Temporal SDK's default would be allow_all): under skip, a trigger while a run is in progress is dropped")
    .argument('<schedule-id>')
    .addOption(overlapOption("overlap policy for this run (default: the schedule's)", false))
    .action((id: string, o: { overlap?: keyof typeof OVERLAP_POLICIES }) =>
      withClient(async (client) => {
        const r = await triggerDqeSchedule(client, id, o.overlap ? { overlap: OVERLAP_POLICIES[o.overlap] } : {});
        console.log(`triggered schedule ${id} (overlap ${r.overlap})`);
        if (r.running.length > 0 && r.overlap === 'SKIP') {
          console.error(`note: ${r.running.join(', ')} is still running, so under SKIP this trigger starts nothing; use --overlap allow_all to run anyway`);
        }
      }),
    );

  schedule
    .command('delete')
    .description('Delete a schedule (runs it started go on)')
    .argument('<schedule-id>')
    .action((id: string) =>
      withClient(async (client) => {
        await deleteDqeSchedule(client, id);
        console.log(`deleted schedule ${id}`);
      }),
    );
}

function addListCommand(program: Command, withClient: WithClient): void {
  program
    .command('list')
    .description('List dqe runs, newest first, filtered by their search attributes')
    .option('--dataset <path>', 'only runs of this dataset (as given in the input)')
    .addOption(new Option('--status <status>', 'only runs in this status').choices([...RUN_STATUSES]))
    .option('--phase <phase>', `only runs in (or last in) this phase: ${PHASES.join(', ')}, ...`)
    .option('--schedule <id>', 'only runs this schedule started')
    .option('--query <filter>', 'extra Temporal list filter, e.g. "DqeFinalSize > 1000"')
    .option('--limit <n>', `at most this many runs (default: ${DEFAULT_LIST_LIMIT})`, number('--limit'))
    .option('--json', 'print JSON')
    .action((o: { dataset?: string; status?: string; phase?: string; schedule?: string; query?: string; limit?: number; json?: boolean }) =>
      withClient(async (client) => {
        const runs = await listDqeRuns(client, {
          ...(o.dataset !== undefined ? { dataset: o.dataset } : {}),
          ...(o.status !== undefined ? { status: o.status } : {}),
          ...(o.phase !== undefined ? { phase: o.phase } : {}),
          ...(o.schedule !== undefined ? { scheduleId: o.schedule } : {}),
          ...(o.query !== undefined ? { query: o.query } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
        });
        if (o.json) return json(runs);
        if (runs.length === 0) return console.log('no dqe runs match');
        console.log(`${'workflow id'.padEnd(44)} ${'status'.padEnd(16)} ${'phase'.padEnd(11)} ${'final'.padStart(7)}  started                   dataset`);
        for (const r of runs) {
          console.log(
            `${r.workflowId.padEnd(44)} ${(r.status ?? r.execution.toLowerCase()).padEnd(16)} ${(r.phase ?? '-').padEnd(11)} ${String(r.finalSize ?? '-').padStart(7)}  ${r.startTime.toISOString().padEnd(25)} ${r.dataset ?? ''}`,
          );
        }
      }),
    );
}

interface ReviewOptions {
  accept?: boolean;
  ok?: string;
  mislabeled?: string;
  undecided?: string;
  decisions?: string;
  reviewer?: string;
  json?: boolean;
}

function rowList(flag: string, v: string): number[] {
  return v.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: ${JSON.stringify(s)} is not a row number`);
    return n;
  });
}

/** The decisions the flags of `dqe review` give; undefined when none were given (list mode). */
function reviewSubmission(o: ReviewOptions): ReviewSubmission | undefined {
  const decisions: ReviewDecision[] = [];
  for (const row of o.ok ? rowList('--ok', o.ok) : []) decisions.push({ row, verdict: 'label_ok' });
  for (const row of o.undecided ? rowList('--undecided', o.undecided) : []) decisions.push({ row, verdict: 'undecided' });
  for (const part of o.mislabeled ? o.mislabeled.split(',') : []) {
    const [row, label] = part.split(':');
    decisions.push({ row: rowList('--mislabeled', row!)[0]!, verdict: 'mislabeled', ...(label ? { label: label.trim() } : {}) });
  }
  const reviewer = o.reviewer ?? userInfo().username;
  if (o.decisions !== undefined) {
    if (decisions.length > 0) throw new InvalidArgumentError('--decisions cannot be combined with --ok, --mislabeled or --undecided');
    const text = o.decisions.trim();
    if (text.startsWith('[')) return { decisions: JSON.parse(text) as ReviewDecision[], reviewer };
    const path = resolve(o.decisions);
    const lines = readFileSync(path, 'utf8').split(/\r?\n/u).filter((l) => l.trim() !== '');
    // Small files go inline (the workers need not see them); large ones by path, which the workers must see.
    if (lines.length <= MAX_INLINE_DECISIONS) return { decisions: lines.map((l) => JSON.parse(l) as ReviewDecision), reviewer };
    return { decisionsFile: path, reviewer };
  }
  if (decisions.length > 0) return { decisions, reviewer };
  return o.accept ? { reviewer } : undefined;
}

/** One flagged row as `dqe review` lists it. */
function flaggedSide(f: ReviewFlaggedRow): string {
  const v = f.verdict;
  const verdict = v.verdict === 'mislabeled' ? `mislabeled → ${v.suggested ?? '?'}` : v.verdict;
  return `row ${String(f.row).padEnd(7)} label ${f.label.padEnd(12)} judge: ${verdict.padEnd(24)} “${f.text.replace(/\s+/gu, ' ').slice(0, TEXT_PREVIEW)}”`;
}

function side(s: ReviewPairSide): string {
  const v = s.verdict;
  const verdict = !v ? 'no verdict' : v.verdict === 'mislabeled' ? `mislabeled → ${v.suggested ?? '?'}` : v.verdict;
  const text = s.text.replace(/\s+/gu, ' ').slice(0, TEXT_PREVIEW);
  return `row ${String(s.row).padEnd(7)} ${s.split.padEnd(9)} label ${s.label.padEnd(12)} judge: ${verdict.padEnd(24)} “${text}”`;
}

function addReviewCommand(program: Command, withClient: WithClient): void {
  program
    .command('review')
    .description('List the noisy pairs of a run waiting for review (input review: true) and the rows the judge flagged outside them, or send decisions; rows not decided keep the judge\'s verdict')
    .argument('<workflow-id>')
    .option('--accept', "accept every verdict as the judge gave it")
    .option('--ok <rows>', 'rows (input row numbers, comma-separated) whose label is right')
    .option('--mislabeled <row[:label],...>', "rows whose label is wrong, optionally with the right label (default: the pair partner's)")
    .option('--undecided <rows>', 'rows to leave undecided (kept or dropped by the undecided setting)')
    .option('--decisions <file|json>', 'decisions as a JSON array or a JSONL file of {row, verdict, label?, reason?}')
    .option('--reviewer <name>', 'who reviewed (default: your user name)')
    .option('--json', 'print JSON')
    .action((id: string, o: ReviewOptions) =>
      withClient(async (client) => {
        const submission = reviewSubmission(o);
        if (submission) {
          const summary = await submitDqeReview(client, id, submission);
          if (o.json) return json(summary);
          console.log(`review applied to ${id}: ${summary.decisions} rows decided, ${summary.changed} changed from the judge's verdict; details in ${summary.reviewPath}`);
          return;
        }
        const state = await getDqeReview(client, id);
        const pairs = state.pairsPath ? await readReviewPairs(state) : [];
        const flagged = await readReviewFlagged(state);
        if (o.json) return json({ ...state, pairList: pairs, flaggedList: flagged });
        const files = [state.pairsPath, state.secondPassPairsPath, state.flaggedPath, state.secondPassFlaggedPath].filter((f) => f !== undefined);
        const counts = [state.pairs !== undefined ? `${state.pairs} noisy pairs` : '', state.flagged !== undefined ? `${state.flagged} rows flagged outside them` : ''].filter((c) => c !== '');
        console.log(`review of ${id}: ${[state.state, ...counts].join(', ')}${files.length > 0 ? ` (${files.join(', ')})` : ''}`);
        pairs.forEach((p, i) => {
          const pass = p.pass === 2 ? '  second pass' : '';
          console.log(`#${i + 1}${pass}  similarity ${p.similarity.toFixed(3)}${p.similarity <= NO_SHARED_FEATURE_SIMILARITY ? ` (${NO_SHARED_FEATURE_NOTE})` : ''}`);
          console.log(`  x          ${side(p.x)}`);
          console.log(`  neighbour  ${side(p.neighbour)}`);
        });
        if (flagged.length > 0) console.log('\nflagged outside the pairs:');
        for (const f of flagged) {
          const predicted = f.predicted !== undefined ? `predicted ${f.predicted ?? '(no label)'}` : '';
          const pass = f.pass === 2 ? 'second pass' : '';
          console.log(`  ${flaggedSide(f)}${[predicted, pass].filter((x) => x !== '').map((x) => `  ${x}`).join('')}`);
        }
        if (state.state === 'waiting') console.log(`\nsend: dqe review ${id} --accept | --ok ROWS --mislabeled ROW[:LABEL],... | --decisions FILE`);
      }),
    );
}

function addSetupCommand(program: Command, withClient: WithClient): void {
  program
    .command('setup')
    .description("Register dqe's search attributes (DqeDataset, DqePhase, DqeStatus, DqeFinalSize) on the namespace; needed once per namespace before the first run")
    .action(() =>
      withClient(async (client) => {
        const added = await ensureDqeSearchAttributes(client);
        console.log(added.length > 0 ? `registered ${added.join(', ')} on namespace ${client.options.namespace}` : `namespace ${client.options.namespace} already has dqe's search attributes`);
      }),
    );
}

/** Adds `schedule`, `list`, `review` and `setup` to the `dqe` program. */
export function addRunCommands(program: Command, withClient: WithClient): void {
  addScheduleCommands(program, withClient);
  addListCommand(program, withClient);
  addReviewCommand(program, withClient);
  addSetupCommand(program, withClient);
}
