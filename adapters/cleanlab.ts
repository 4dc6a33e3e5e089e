// cleanlab's find_label_issues, run in the project venv through tools/cleanlab_find_issues.py: the
// label-noise baseline `dqe eval` and bench/method.ts score DQE against.
import { join } from 'node:path';
import { execa } from 'execa';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from '../infra/python-env.js';
import { readJson, writeTypedAtomic } from './files.js';

/** cleanlab's default rule for which rows are issues. */
export const CLEANLAB_FILTER_BY = 'prune_by_noise_rate';
const CLEANLAB_SCRIPT = join(REPO_ROOT, 'tools', 'cleanlab_find_issues.py');

export interface CleanlabIssues {
  cleanlab_version: string;
  filter_by: string;
  /** Row indices (into `labelIds`) cleanlab flags. */
  issues: number[];
  seconds: number;
}

/**
 * cleanlab's find_label_issues on labels and out-of-fold probabilities (`probs`: shape (rows, k), row
 * major). Its inputs and `cleanlab.issues.json` are written to `dir`.
 */
export async function runCleanlab(dir: string, labelIds: Uint32Array, probs: Float64Array, k: number, log: (l: string) => void): Promise<CleanlabIssues> {
  await ensurePythonGroup('cleanlab', log);
  const labelsPath = join(dir, 'cleanlab.labels.u32');
  const probsPath = join(dir, 'cleanlab.pred-probs.f64');
  const outPath = join(dir, 'cleanlab.issues.json');
  await writeTypedAtomic(labelsPath, labelIds);
  await writeTypedAtomic(probsPath, probs);
  await execa(join(VENV_BIN, 'python'), [CLEANLAB_SCRIPT, '--labels', labelsPath, '--pred-probs', probsPath, '--rows', String(labelIds.length), '--classes', String(k), '--filter-by', CLEANLAB_FILTER_BY, '--out', outPath], { stdio: ['ignore', 'inherit', 'inherit'] });
  return readJson<CleanlabIssues>(outPath);
}
