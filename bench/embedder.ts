// Embedder throughput, side by side on the same texts in one run: dqe's `minilm` (f32 and int8, on
// onnxruntime-node), sentence-transformers on PyTorch CPU (the same model, at several batch sizes), and
// `hash`. Each contender runs in a process of its own, so its peak RSS is its own. Tokens are counted
// once, with the model's tokenizer and 256-token window, and the same count divides every contender's time.
//
//   npx tsx bench/embedder.ts [--texts 2000] [--batch-sizes 16,32,64,128] [--out bench/results/embedder.json]
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { createEmbedder } from '../adapters/embedders/index.js';
import { createBertTokenizer } from '../adapters/embedders/bert-tokenizer.js';
import { MINILM_WINDOW } from '../adapters/embedders/minilm.js';
import { writeJsonAtomic } from '../adapters/files.js';
import { parseDqeInput } from '../core/input.js';
import { loadMails, spread } from '../examples/spam-assassin.js';
import { ensureMinilm, readTokenizerFiles } from '../infra/minilm.js';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from '../infra/python-env.js';
import { machine } from './machine.js';

const o = new Command('bench-embedder')
  .option('--texts <n>', 'SpamAssassin mails embedded (spread over the corpus)', Number, 2000)
  .option('--batch-sizes <list>', "sentence-transformers' batch sizes", '16,32,64,128')
  .option('--child <embedder>', 'internal: time one embedder in this process and print JSON')
  .option('--out <file>', 'results file', 'bench/results/embedder.json')
  .parse()
  .opts<{ texts: number; batchSizes: string; child?: string; out: string }>();

const tmp = join(REPO_ROOT, 'bench', 'results', 'tmp', 'embedder');
const textsFile = join(tmp, 'texts.jsonl');

/** The embedders timed in child processes, as workflow inputs would name them. */
const CONTENDERS: Record<string, unknown> = {
  'minilm-f32': { name: 'minilm', precision: 'f32' },
  'minilm-int8': { name: 'minilm', precision: 'int8' },
  hash: { name: 'hash' },
};

if (o.child) {
  const texts = (await readFile(textsFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as string);
  const parsed = parseDqeInput({ dataset: 'x', embedder: CONTENDERS[o.child] });
  if (!parsed.ok) throw new Error(`bad contender ${o.child}`);
  const embedder = createEmbedder(parsed.config.embedder, {});
  await embedder.embed(texts.slice(0, 64)); // warm-up: session creation, first runs
  const cpu = process.cpuUsage();
  const started = performance.now();
  // In calls of the activity's size, as the embed phase makes them.
  for (let i = 0; i < texts.length; i += embedder.batchSize) await embedder.embed(texts.slice(i, i + embedder.batchSize));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ id: embedder.id, seconds, cpuSeconds: (used.user + used.system) / 1e6, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

await mkdir(tmp, { recursive: true });
const texts = spread(loadMails().map((m) => m.text), o.texts);
await writeFile(textsFile, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
await ensurePythonGroup('sentence-transformers', console.error);
const files = await ensureMinilm('f32', console.error);
await ensureMinilm('int8', console.error);
const tok = await readTokenizerFiles(files);
const tokenizer = createBertTokenizer(tok.tokenizer, tok.config, MINILM_WINDOW);
const tokens = texts.reduce((n, t) => n + tokenizer.encode(t).length, 0);
console.error(`${texts.length} texts, ${tokens} tokens in the ${MINILM_WINDOW}-token window (mean ${(tokens / texts.length).toFixed(1)})`);

const loadBefore = loadavg();
const rates = (seconds: number, cpuSeconds: number) => ({
  tokensPerSecond: Math.round(tokens / seconds),
  rowsPerSecond: Math.round(texts.length / seconds),
  tokensPerCpuSecond: Math.round(tokens / cpuSeconds),
});

const dqe: Record<string, unknown> = {};
for (const name of Object.keys(CONTENDERS)) {
  console.error(`== ${name}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/embedder.ts', '--child', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${name} exited with ${r.status}`);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { id: string; seconds: number; cpuSeconds: number; peakRssMiB: number };
  dqe[name] = { ...got, ...rates(got.seconds, got.cpuSeconds), loadAverage1m: loadavg()[0] };
  console.error(JSON.stringify(dqe[name]));
}

console.error('== sentence-transformers');
const timing = join(tmp, 'st-timing.json');
const st = spawnSync(join(VENV_BIN, 'python'), ['tools/minilm_reference.py', '--texts', textsFile, '--batch-sizes', o.batchSizes, '--threads', String(availableParallelism()), '--timing', timing], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, HF_HUB_OFFLINE: '1' },
});
if (st.status !== 0) throw new Error(`sentence-transformers exited with ${st.status}`);
const stResult = JSON.parse(await readFile(timing, 'utf8')) as { runs: Array<{ batchSize: number; seconds: number; cpuSeconds: number }>; peakRssMiB: number };
const stRuns = stResult.runs.map((r) => ({ ...r, ...rates(r.seconds, r.cpuSeconds) }));
const best = stRuns.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
const f32 = dqe['minilm-f32'] as { tokensPerSecond: number; tokensPerCpuSecond: number };
const int8 = dqe['minilm-int8'] as { tokensPerSecond: number; tokensPerCpuSecond: number };

const out = {
  benchmark: 'embedder',
  command: `npx tsx bench/embedder.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machine(),
  loadAverage: { before: loadBefore, after: loadavg() },
  texts: { count: texts.length, source: 'SpamAssassin mails (examples/spam-assassin.ts), spread over the corpus', tokens, window: MINILM_WINDOW },
  dqe,
  sentenceTransformers: { ...stResult, runs: stRuns, best: best.batchSize },
  /** The default (int8) against sentence-transformers at its best batch size, wall-clock. */
  speedupVsSentenceTransformers: +(int8.tokensPerSecond / best.tokensPerSecond).toFixed(2),
  speedupVsSentenceTransformersF32: +(f32.tokensPerSecond / best.tokensPerSecond).toFixed(2),
  /** Per CPU second: robust to other processes on a shared machine. */
  speedupPerCpuSecond: { f32: +(f32.tokensPerCpuSecond / best.tokensPerCpuSecond).toFixed(2), int8: +(int8.tokensPerCpuSecond / best.tokensPerCpuSecond).toFixed(2) },
};
await writeJsonAtomic(o.out, out);
console.log(JSON.stringify({ speedup: out.speedupVsSentenceTransformers, f32: out.speedupVsSentenceTransformersF32, perCpu: out.speedupPerCpuSecond, dqe, st: stRuns }, null, 1));
