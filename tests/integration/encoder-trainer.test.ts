// The encoder trainer against real PyTorch: a short real fine-tune of all-MiniLM-L6-v2 on a few dozen
// rows, its predictions, and a SIGKILL of its process group mid-training followed by a retry that
// resumes from the last checkpoint and ends with exactly the weights of an uninterrupted run.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { createEncoderTrainer, type EncoderConfig, type EncoderProgress } from '../../adapters/trainers/encoder.js';
import type { JobContext, Prediction } from '../../adapters/trainers/types.js';
import { parseDqeInput } from '../../core/input.js';
import { Rng } from '../../core/random.js';

const GOOD = ['great', 'lovely', 'good', 'happy', 'excellent', 'wonderful'];
const BAD = ['awful', 'bad', 'terrible', 'sad', 'poor', 'dreadful'];
const labels = ['neg', 'pos'];

function config(over: Record<string, unknown>): EncoderConfig {
  const parsed = parseDqeInput({ dataset: 'x.jsonl', trainer: { name: 'encoder', ...over } });
  assert.ok(parsed.ok);
  return parsed.config.trainer as EncoderConfig;
}

/** A job context that records heartbeats; `onBeat` may act on them (e.g. kill the trainer). */
function context(resumeDetails?: unknown, onBeat?: (d: EncoderProgress) => void): JobContext & { beats: EncoderProgress[] } {
  const beats: EncoderProgress[] = [];
  return {
    beats,
    resumeDetails,
    signal: new AbortController().signal,
    heartbeat: (d) => {
      const p = d as EncoderProgress;
      if (p.phase !== 'train') return;
      beats.push(p);
      onBeat?.(p);
    },
    log: () => {},
  };
}

describe('encoder trainer (real fine-tune on PyTorch CPU)', () => {
  let dir: string;
  let keptPath: string;
  const n = 48;
  const labelIds = new Uint32Array(n);
  const trainIds = Array.from({ length: 32 }, (_, i) => i);
  const testIds = Array.from({ length: n - 32 }, (_, i) => 32 + i);
  // 32 rows × 2 epochs / batch 8 = 8 steps; a checkpoint every 3 steps (3, 6, 8).
  const cfg = config({ maxLength: 24, epochs: 2, batchSize: 8, learningRate: 1e-4, saveSteps: 3, threads: 1 });
  const matrix = { path: '', rows: n, dim: 0 };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dqe-encoder-'));
    const rng = new Rng(5);
    const lines: string[] = [];
    for (let id = 0; id < n; id++) {
      const pos = id % 2;
      labelIds[id] = pos;
      const words = pos ? GOOD : BAD;
      lines.push(JSON.stringify({ id, row: id + 1, text: `${Array.from({ length: 4 }, () => words[rng.nextInt(words.length)]).join(' ')} film`, label: labels[pos] }));
    }
    keptPath = join(dir, 'kept.jsonl');
    await writeFile(keptPath, `${lines.join('\n')}\n`);
  });

  const trainReq = (job: string) => ({ jobDir: join(dir, job), keptPath, matrix, trainIds, labelIds, labels, seed: 3 });
  const predictAll = (modelPath: string, job: string): Promise<Prediction[]> =>
    createEncoderTrainer(cfg, { pollMs: 100 }).predict({ jobDir: join(dir, job), keptPath, matrix, modelPath, ids: testIds, labels }, context());

  let uninterrupted: Prediction[];

  test('fine-tunes with heartbeats of step / max_steps / loss, and predicts held-out rows', async () => {
    const ctx = context();
    const out = await createEncoderTrainer(cfg, { pollMs: 100 }).train(trainReq('plain'), ctx);
    assert.match(out.modelPath, /checkpoint-8$/u);
    assert.equal(out.details.steps, 8);
    const last = ctx.beats.at(-1)!;
    assert.deepEqual([last.step, last.maxSteps], [8, 8]);
    assert.equal(typeof last.loss, 'number');
    uninterrupted = await predictAll(out.modelPath, 'plain-predict');
    assert.deepEqual(uninterrupted.map((p) => p.id), testIds);
    for (const p of uninterrupted) assert.ok(Math.abs(p.probs!.reduce((s, x) => s + x, 0) - 1) < 1e-5);
    const right = uninterrupted.filter((p) => p.predicted === labels[labelIds[p.id]!]).length;
    assert.equal(right, testIds.length, 'the words decide the label: every held-out row is predicted right');
    // A second call finds the finished job and does not train again.
    assert.equal((await createEncoderTrainer(cfg).train(trainReq('plain'), context())).trainSeconds, 0);
  });

  test('SIGKILL of the process group mid-training: the retry resumes from the last checkpoint and ends with the same weights', async () => {
    const req = trainReq('killed');
    let killedAt: string | null = null;
    const first = context(undefined, (p) => {
      if (killedAt === null && p.lastCheckpoint !== null && p.step < 8) {
        killedAt = p.lastCheckpoint;
        void readFile(join(req.jobDir, 'encoder.pid.json'), 'utf8').then((s) => process.kill(-(JSON.parse(s) as { pgid: number }).pgid, 'SIGKILL'));
      }
    });
    await assert.rejects(createEncoderTrainer(cfg, { pollMs: 100 }).train(req, first), /encoder train was killed by SIGKILL/u);
    assert.ok(killedAt, 'a checkpoint was reached before the kill');
    const resumed = context(first.beats.at(-1));
    const out = await createEncoderTrainer(cfg, { pollMs: 100 }).train(req, resumed);
    const resumedFrom = out.details.resumedFrom as string | null;
    assert.ok(resumedFrom, 'resumed from a checkpoint');
    assert.ok(Number(/checkpoint-(\d+)$/u.exec(resumedFrom)![1]) >= 3);
    assert.ok(resumed.beats[0]!.step >= 3, 'progress starts at the checkpoint step, not 0');
    const again = await predictAll(out.modelPath, 'killed-predict');
    assert.deepEqual(again, uninterrupted, 'bit-identical probabilities to the uninterrupted run');
  });
});
