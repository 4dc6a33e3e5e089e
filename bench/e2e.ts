// The SpamAssassin example end to end on the embedded defaults: through Temporal (local dev server,
// in-process worker) and with the same phases called in-process without Temporal, to show what
// Temporal adds. Prints a table and writes bench/results/e2e.json.
//
//   npx tsx bench/e2e.ts [--limit N] [--repeat K]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { parseDqeInput } from '../core/input.js';
import { shardsOf } from '../core/shards.js';
import { spamAssassinJsonl } from '../examples/spam-assassin.js';
import { startDevServer } from '../infra/temporal.js';
import { createCpuWorker, workflowBundle } from '../workers/cpu-worker.js';
import { writeJsonAtomic } from '../adapters/files.js';
import { machine } from './machine.js';
import { median } from './stats.js';

const o = new Command('bench-e2e')
  .option('--limit <n>', 'mails (default: the whole corpus)', (v) => Number(v))
  .option('--repeat <k>', 'runs of each kind; the median is reported', (v) => Number(v), 3)
  .option('--out <file>', 'results file', 'bench/results/e2e.json')
  .parse()
  .opts<{ limit?: number; repeat: number; out: string }>();

Runtime.install({ logger: new DefaultLogger('WARN') });
const dir = await mkdtemp(join(tmpdir(), 'dqe-bench-e2e-'));
const dataset = join(dir, 'spam-assassin.jsonl');
await writeFile(dataset, spamAssassinJsonl(o.limit ? { limit: o.limit } : {}));

/** The workflow's phase sequence, called directly: no Temporal, same activity code. */
async function inProcess(runDir: string, cacheDir: string): Promise<void> {
  const parsed = parseDqeInput({ dataset, outputDir: runDir });
  if (!parsed.ok) throw new Error('bad input');
  const c = parsed.config;
  const a = createActivities({ cacheDir, env: {} });
  const load = await a.loadDataset({ runDir, dataset: c.dataset, textField: c.textField, labelField: c.labelField });
  const clean = await a.cleanDataset({ runDir, load });
  const shards = await Promise.all(shardsOf(clean.kept, c.shardSize).map((shard) => a.embedShard({ runDir, clean, embedder: c.embedder, shard })));
  const embed = await a.mergeEmbeddings({ runDir, clean, shards });
  const sample = await a.sampleRows({ runDir, embed, ratio: c.ratio, seed: c.seed, rule: c.sampling });
  const trainArgs = { runDir, clean, embed, sample, trainer: c.trainer, seed: c.seed };
  const train = await a.trainModel(trainArgs);
  const pshards = await Promise.all(shardsOf(clean.kept, c.shardSize).map((shard) => a.predictShard({ ...trainArgs, train, shard })));
  const predict = await a.mergePredictions({ runDir, shards: pshards });
  const indexArgs = { runDir, runId: 'bench', clean, embed, sample, vectorStore: c.vectorStore };
  const index = await a.indexVectors(indexArgs);
  const categorise = await a.categoriseWrong({ ...indexArgs, predict });
  await a.dropVectors({ runId: 'bench', vectorStore: c.vectorStore });
  const judge = await a.judgeNoisy({ runDir, clean, embed, sample, predict, categorise, judge: c.judge, seed: c.seed });
  const assemble = await a.assembleRun({ runDir, labelField: c.labelField, clean, sample, categorise, judge, noisy: c.noisy, undecided: c.undecided });
  await a.writeReport({ runDir, runId: 'bench', config: c, load, clean, embed, sample, train, predict, index, categorise, judge, assemble, timings: {} });
}

const server = await startDevServer({ dbFile: join(dir, 'temporal.db') });
await workflowBundle();
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const workerConnection = await NativeConnection.connect({ address: server.address });
const temporal: number[] = [];
const direct: number[] = [];
try {
  for (let i = 0; i < o.repeat; i++) {
    // Fresh run and cache directories each time, so no phase is skipped as already done.
    let t = performance.now();
    await inProcess(join(dir, `direct-${i}`), join(dir, `cache-direct-${i}`));
    direct.push((performance.now() - t) / 1000);
    const taskQueue = `bench-${i}`;
    const worker = await createCpuWorker({ connection: workerConnection, taskQueue, deps: { cacheDir: join(dir, `cache-temporal-${i}`), env: {} } });
    t = performance.now();
    await worker.runUntil(client.workflow.execute('dqe', { taskQueue, workflowId: `bench-e2e-${i}`, args: [{ dataset, outputDir: join(dir, `temporal-${i}`) }] }));
    temporal.push((performance.now() - t) / 1000);
    console.error(`run ${i + 1}/${o.repeat}: in-process ${direct[i]!.toFixed(1)} s, Temporal ${temporal[i]!.toFixed(1)} s`);
  }
} finally {
  await connection.close();
  await workerConnection.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
const result = {
  machine: machine(),
  rows: o.limit ?? 'all (6046)',
  repeat: o.repeat,
  inProcessSeconds: { runs: direct, median: median(direct) },
  temporalSeconds: { runs: temporal, median: median(temporal) },
  temporalOverhead: median(temporal) / median(direct) - 1,
  targets: { wallSecondsMax: 60, overheadMax: 0.1 },
};
console.log(`SpamAssassin end to end (${result.rows} mails), median of ${o.repeat}:`);
console.log(`  in-process phases   ${result.inProcessSeconds.median.toFixed(1)} s`);
console.log(`  through Temporal    ${result.temporalSeconds.median.toFixed(1)} s   (target ≤ 60 s)`);
console.log(`  Temporal overhead   ${(100 * result.temporalOverhead).toFixed(1)} %   (target ≤ 10 %)`);
await writeJsonAtomic(o.out, result);
