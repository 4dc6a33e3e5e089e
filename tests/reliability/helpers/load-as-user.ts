// Runs the load and clean phases on one dataset in a process of its own and prints the outcome as
// JSON: the bad-input tests start it as an unprivileged user, since root reads any file whatever its mode.
//
//   node --import tsx tests/reliability/helpers/load-as-user.ts '{"dataset": "...", "runDir": "..."}'
import { ApplicationFailure } from '@temporalio/common';
import { cleanDataset } from '../../../activities/clean.js';
import { loadDataset } from '../../../activities/load.js';

export interface LoadAsUserOutcome {
  uid: number;
  ok: boolean;
  kept?: number;
  failure?: { type: string | undefined; message: string; nonRetryable: boolean };
}

const { dataset, runDir } = JSON.parse(process.argv[2] ?? '{}') as { dataset: string; runDir: string };
let outcome: LoadAsUserOutcome;
try {
  const load = await loadDataset({ runDir, dataset, textField: 'text', labelField: 'label' });
  const clean = await cleanDataset({ runDir, load });
  outcome = { uid: process.getuid?.() ?? -1, ok: true, kept: clean.kept };
} catch (err) {
  const failure = err instanceof ApplicationFailure ? { type: err.type ?? undefined, message: err.message, nonRetryable: err.nonRetryable === true } : { type: undefined, message: String(err), nonRetryable: false };
  outcome = { uid: process.getuid?.() ?? -1, ok: false, failure };
}
console.log(JSON.stringify(outcome));
