// How the int8 `minilm` graph is quantised, measured: for each SmoothQuant strength α (and none), the
// lowest and mean cosine to sentence-transformers (original f32 weights) over the vector test's texts,
// with the shipped calibration texts (infra/minilm-calibration.ts), and the throughput on those texts.
// Picks MINILM_SMOOTHING_ALPHA in infra/minilm.ts.
//
//   npx tsx bench/minilm-int8.ts [--alphas none,0.3,0.5,0.6,0.7] [--out bench/results/minilm-int8.json]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { execa } from 'execa';
import ort from 'onnxruntime-node';
import { createBertTokenizer } from '../adapters/embedders/bert-tokenizer.js';
import { MINILM_WINDOW } from '../adapters/embedders/minilm.js';
import { writeJsonAtomic } from '../adapters/files.js';
import { bertSentenceGraph } from '../adapters/onnx/bert.js';
import { bertFeeds } from '../adapters/onnx/bert-feeds.js';
import { activationRanges } from '../adapters/onnx/calibration.js';
import { onnxModel } from '../adapters/onnx/model.js';
import { readSafetensors } from '../adapters/onnx/safetensors.js';
import { planTokenBatches } from '../core/token-batches.js';
import { calibrationTexts } from '../infra/minilm-calibration.js';
import { ensureMinilm, ensureMinilmSource, MINILM_SHAPE, readTokenizerFiles } from '../infra/minilm.js';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from '../infra/python-env.js';
import { variedTexts } from '../tests/helpers/varied-texts.js';
import { machine } from './machine.js';

const o = new Command('bench-minilm-int8')
  .option('--alphas <list>', "SmoothQuant strengths ('none': no migration)", 'none,0.3,0.5,0.6,0.7')
  .option('--out <file>', 'results file', 'bench/results/minilm-int8.json')
  .parse()
  .opts<{ alphas: string; out: string }>();

const DIM = MINILM_SHAPE.hidden;
const tmp = join(REPO_ROOT, 'bench', 'results', 'tmp', 'minilm-int8');
await mkdir(tmp, { recursive: true });
const texts = variedTexts();
await writeFile(join(tmp, 'texts.jsonl'), texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
await ensurePythonGroup('sentence-transformers', console.error);
await execa(join(VENV_BIN, 'python'), [join(REPO_ROOT, 'tools', 'minilm_reference.py'), '--texts', join(tmp, 'texts.jsonl'), '--out', join(tmp, 'ref.f32')], { env: { HF_HUB_OFFLINE: '1' } });
const buf = await readFile(join(tmp, 'ref.f32'));
const reference = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);

const dir = await ensureMinilmSource(console.error);
const files = await ensureMinilm('f32', console.error);
const { tokenizer, config } = await readTokenizerFiles(files);
const tok = createBertTokenizer(tokenizer, config, MINILM_WINDOW);
const weights = await readSafetensors(join(dir, 'model.safetensors'));
const ranges = await activationRanges(weights, MINILM_SHAPE, calibrationTexts().map((t) => tok.encode(t)));
const ids = texts.map((t) => tok.encode(t));
const tokens = ids.reduce((s, x) => s + x.length, 0);

const results = [];
for (const a of o.alphas.split(',')) {
  const alpha = a === 'none' ? undefined : Number(a);
  const graph = bertSentenceGraph(weights, MINILM_SHAPE, 'int8', alpha === undefined ? {} : { smoothing: { alpha, activationMax: ranges } });
  const session = await ort.InferenceSession.create(onnxModel(graph), { graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
  const started = performance.now();
  const out = new Array<Float32Array>(texts.length);
  for (const batch of planTokenBatches(ids.map((x) => x.length), 2048)) {
    const { rows } = batch;
    const res = await session.run(bertFeeds(ids, batch));
    const data = res.embedding!.data as Float32Array;
    rows.forEach((row, r) => (out[row] = data.slice(r * DIM, (r + 1) * DIM)));
  }
  const seconds = (performance.now() - started) / 1000;
  const cosines = out.map((v, i) => v.reduce((s, x, j) => s + x * reference[i * DIM + j]!, 0));
  const worst = cosines.map((c, i) => ({ c, i })).sort((x, y) => x.c - y.c).slice(0, 3);
  const r = {
    alpha: a,
    minCosine: Math.min(...cosines),
    meanCosine: cosines.reduce((s, c) => s + c, 0) / cosines.length,
    rowsBelow099: cosines.filter((c) => c < 0.99).length,
    worst: worst.map(({ c, i }) => ({ cosine: c, text: texts[i]!.slice(0, 40) })),
    tokensPerSecond: Math.round(tokens / seconds),
    loadAverage1m: loadavg()[0],
  };
  console.log(JSON.stringify(r));
  results.push(r);
  await session.release();
}
await writeJsonAtomic(o.out, { benchmark: 'minilm-int8', command: `npx tsx bench/minilm-int8.ts --alphas ${o.alphas}`, machine: machine(), texts: { count: texts.length, tokens, source: 'tests/helpers/varied-texts.ts (the vector test)' }, calibrationTexts: calibrationTexts().length, results });
