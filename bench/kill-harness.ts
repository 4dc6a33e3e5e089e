// The full crash drill: a dqe run SIGKILLed at 28 seeded random moments spread over every phase (the
// CPU worker restarted each time), then again with the Temporal dev server SIGKILLed and restarted on
// its SQLite file; prints what each kill hit and whether the outputs match an uninterrupted run, and
// writes bench/results/kill-harness.json.
//
//   npx tsx bench/kill-harness.ts [--kills 28] [--server-kills 4] [--rows 1500] [--seed 11] [--heartbeat 3]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { writeJsonAtomic } from '../adapters/files.js';
import { REPO_ROOT } from '../infra/python-env.js';
import { runKillHarness, type DrillRun } from '../tests/reliability/kill-harness.js';
import { machine } from './machine.js';

const o = new Command('kill-harness')
  .option('--kills <n>', 'SIGKILLs of the CPU worker during one run (28: two per activity type)', (v) => Number(v), 28)
  .option('--server-kills <n>', 'SIGKILLs and restarts of the dev server during another run', (v) => Number(v), 4)
  .option('--rows <n>', 'SpamAssassin mails in the dataset', (v) => Number(v), 1500)
  .option('--seed <n>', 'seeds the run and the kill plan', (v) => Number(v), 11)
  .option('--heartbeat <s>', "the runs' heartbeatTimeoutSeconds (above the longest event-loop block at this size)", (v) => Number(v), 3)
  .option('--out <file>', 'results file', 'bench/results/kill-harness.json')
  .parse()
  .opts<{ kills: number; serverKills: number; rows: number; seed: number; heartbeat: number; out: string }>();

const tmpRoot = join(REPO_ROOT, 'bench', 'results', 'tmp');
await mkdir(tmpRoot, { recursive: true });
const workDir = await mkdtemp(join(tmpRoot, 'kill-harness-'));
const started = performance.now();
const result = await runKillHarness({
  workerKills: o.kills,
  serverKills: o.serverKills,
  rows: o.rows,
  seed: o.seed,
  heartbeatTimeoutSeconds: o.heartbeat,
  workDir,
  log: (line) => console.error(`[drill] ${line}`),
});
const wallSeconds = (performance.now() - started) / 1000;

/** The DQE phase each activity type belongs to (workflows/dqe.ts). */
const PHASE_OF: Record<string, string> = {
  loadDataset: 'load', cleanDataset: 'clean', embedShard: 'embed', mergeEmbeddings: 'embed', sampleRows: 'sample', trainModel: 'train',
  predictShard: 'predict', mergePredictions: 'predict', indexVectors: 'index', categoriseWrong: 'categorise', dropVectors: 'categorise',
  judgeNoisy: 'judge', assembleRun: 'assemble', writeReport: 'report',
};
const phaseCount = new Set(Object.values(PHASE_OF)).size;

function phasesHit(d: DrillRun): string[] {
  return [...new Set(d.kills.flatMap((k) => (k.inFlight ? [PHASE_OF[k.inFlight] ?? k.inFlight] : [])))];
}

function summary(name: string, d: DrillRun) {
  const inFlight = d.kills.filter((k) => k.inFlight !== null);
  const passed = d.comparison.differing.length === 0 && d.comparison.reportDifferences.length === 0 && d.comparison.embeddedTotal.reference === d.comparison.embeddedTotal.drilled;
  console.log(`\n${name}: ${d.kills.length} kills survived, run took ${d.seconds.toFixed(1)} s, ${d.workerProcesses} worker processes${d.notReached.length ? `; ${d.notReached.length} planned kills not reached (the run finished first)` : ''}`);
  console.log(`  kills inside an activity: ${inFlight.length}; activity types hit: ${[...new Set(inFlight.map((k) => k.inFlight))].length}; phases hit inside their activity: ${phasesHit(d).length} of ${phaseCount} (${phasesHit(d).join(', ')})`);
  for (const k of d.kills) console.log(`  ${String(k.atSeconds).padStart(6)} s  aimed at ${k.aimedAt.padEnd(17)} in flight: ${k.inFlight ? `${k.inFlight} (attempt ${k.attempt})` : '-'}`);
  console.log(`  byte-identical: ${d.comparison.identical.join(', ') || 'none'}; differing: ${d.comparison.differing.join(', ') || 'none'}`);
  console.log(`  report.json differences outside timings and cache accounting: ${d.comparison.reportDifferences.join(', ') || 'none'}`);
  const e = d.comparison.embedding;
  console.log(`  embedding cache split (left out of the comparison): reference ${e.reference.reused} reused + ${e.reference.embedded} embedded, drilled ${e.drilled.reused} + ${e.drilled.embedded}`);
  console.log(`  temporary files left by killed attempts: ${d.comparison.leftoverTempFiles}`);
  console.log(`  => ${passed ? 'PASS' : 'FAIL'}`);
  return passed;
}

console.log(`reference run (${result.rows} mails, seed ${result.seed}): ${result.reference.seconds.toFixed(1)} s`);
console.log(`  longest event-loop block per activity (ms), heartbeat timeout ${result.heartbeatTimeoutSeconds * 1000} ms: ${Object.entries(result.reference.maxBlockMs).map(([t, ms]) => `${t} ${ms}`).join(', ')}`);
const ok = [summary('worker kills', result.workerKills), ...(result.serverKills ? [summary('dev-server kills', result.serverKills)] : [])].every(Boolean);
await writeJsonAtomic(join(REPO_ROOT, o.out), {
  benchmark: 'kill-harness',
  phasesHitInsideActivity: { worker: phasesHit(result.workerKills), server: result.serverKills ? phasesHit(result.serverKills) : [] }, command: `npx tsx bench/kill-harness.ts --kills ${o.kills} --server-kills ${o.serverKills} --rows ${o.rows} --seed ${o.seed} --heartbeat ${o.heartbeat}`, machine: machine(), wallSeconds, passed: ok, ...result });
console.log(`\nwrote ${o.out} (${wallSeconds.toFixed(0)} s wall)`);
await rm(workDir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
