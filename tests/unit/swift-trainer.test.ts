// The swift trainer's parts that need no swift: its argument arrays, reading logging.jsonl, the
// meaning of swift's error output, mapping result lines to rows, and a worker without swift.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { inferArgs, sftArgs, type SwiftConfig } from '../../adapters/trainers/swift/args.js';
import { classifyFailure, parseLoggingEntry } from '../../adapters/trainers/swift/logs.js';
import { OutputTail } from '../../adapters/trainers/swift/process.js';
import { mapResults, resolveSwiftBin, swiftFailure } from '../../adapters/trainers/swift.js';
import { parseDqeInput } from '../../core/input.js';
import { REPO_ROOT } from '../../infra/python-env.js';

function config(trainer: Record<string, unknown>): SwiftConfig {
  const parsed = parseDqeInput({ dataset: 'x.jsonl', trainer: { name: 'swift', ...trainer } });
  assert.ok(parsed.ok);
  return parsed.config.trainer as SwiftConfig;
}

/** The value after a flag in an argument array. */
function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('swift argument arrays', () => {
  const cfg = config({ model: '/m', modelType: 'qwen2', template: 'qwen2_5', tunerType: 'full', epochs: 2, saveSteps: 5, extraArgs: ['--lora_rank', '16'] });
  const paths = { model: '/m', dataset: '/job/train.jsonl', outputDir: '/job/output' };

  test('sft passes every training choice, and a resumed run differs only by --resume_from_checkpoint', () => {
    const fresh = sftArgs(cfg, 7, paths);
    assert.equal(fresh[0], 'sft');
    for (const [name, value] of [
      ['--model', '/m'], ['--model_type', 'qwen2'], ['--template', 'qwen2_5'], ['--tuner_type', 'full'], ['--dataset', '/job/train.jsonl'],
      ['--output_dir', '/job/output'], ['--add_version', 'false'], ['--num_train_epochs', '2'], ['--per_device_train_batch_size', '1'],
      ['--gradient_accumulation_steps', '16'], ['--learning_rate', '0.0001'], ['--save_steps', '5'], ['--save_total_limit', '2'],
      ['--logging_steps', '1'], ['--check_model', 'false'], ['--seed', '7'], ['--data_seed', '7'], ['--split_dataset_ratio', '0'],
    ] as const) assert.equal(flag(fresh, name), value, name);
    assert.equal(flag(fresh, '--deepspeed'), undefined);
    assert.equal(flag(fresh, '--lora_rank'), '16');
    const resumed = sftArgs(cfg, 7, { ...paths, resumeFrom: '/job/output/checkpoint-9' });
    assert.deepEqual(resumed, [...fresh, '--resume_from_checkpoint', '/job/output/checkpoint-9']);
    assert.equal(flag(sftArgs(config({ deepspeed: 'zero3' }), 0, paths), '--deepspeed'), 'zero3');
  });

  test('infer loads a full checkpoint as the model, a LoRA one as adapters on the base model', () => {
    const p = { modelPath: '/job/output/checkpoint-9', baseModel: '/m', dataset: '/p/infer.jsonl', resultPath: '/p/result.jsonl' };
    const full = inferArgs(cfg, p);
    assert.equal(flag(full, '--model'), '/job/output/checkpoint-9');
    assert.equal(flag(full, '--adapters'), undefined);
    for (const [name, value] of [['--temperature', '0'], ['--strict', 'true'], ['--result_path', '/p/result.jsonl'], ['--val_dataset', '/p/infer.jsonl'], ['--infer_backend', 'vllm'], ['--max_new_tokens', '16']] as const) {
      assert.equal(flag(full, name), value, name);
    }
    // --max_batch_size is the transformers engine's; vLLM batches by itself.
    assert.equal(flag(full, '--max_batch_size'), undefined);
    const lora = inferArgs(config({ model: 'Qwen/Qwen2.5-7B-Instruct', inferBackend: 'transformers', inferBatchSize: 4 }), p);
    assert.equal(flag(lora, '--model'), '/m');
    assert.equal(flag(lora, '--adapters'), '/job/output/checkpoint-9');
    assert.equal(flag(lora, '--max_batch_size'), '4');
  });

  test('extra arguments may not override a flag dqe sets', () => {
    const r = parseDqeInput({ dataset: 'x.jsonl', trainer: { name: 'swift', extraArgs: ['--lora_rank', '8', '--output_dir', '/elsewhere'], inferExtraArgs: ['--result-path=/x'] } });
    assert.ok(!r.ok);
    assert.deepEqual(r.problems.map((p) => p.field), ['trainer.extraArgs.2', 'trainer.inferExtraArgs.0']);
    assert.match(r.problems[0]!.message, /^--output_dir is set by dqe/u);
    assert.match(r.problems[1]!.message, /^--result_path is set by dqe/u);
  });
});

describe('swift output', () => {
  test('logging.jsonl lines: steps, the runtime line, and the final summary', () => {
    assert.deepEqual(
      parseLoggingEntry({ loss: 6.96089554, grad_norm: 7.07, learning_rate: 8.536e-5, token_acc: 0, epoch: 0.5, 'global_step/max_steps': '2/8', elapsed_time: '1s' }),
      { kind: 'step', entry: { step: 2, maxSteps: 8, loss: 6.96089554 } },
    );
    assert.deepEqual(parseLoggingEntry({ train_runtime: 3.19, train_loss: 6.87, epoch: 2, 'global_step/max_steps': '8/8' }), { kind: 'other' });
    assert.deepEqual(
      parseLoggingEntry({ train_dataset: '42.625000±3.772847, min=35.000000, max=51.000000, size=16', last_model_checkpoint: '/o/checkpoint-8', best_model_checkpoint: null, global_step: 8 }),
      { kind: 'final', summary: { lastModelCheckpoint: '/o/checkpoint-8', globalStep: 8, trainRows: 16 } },
    );
  });

  // PyTorch 2.x's own message, as a training that does not fit the GPU prints it.
  const oom = [
    'Traceback (most recent call last):',
    '  File "/venv/lib/python3.11/site-packages/torch/nn/modules/linear.py", line 125, in forward',
    '    return F.linear(input, self.weight, self.bias)',
    'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.32 GiB. GPU 0 has a total capacity of 44.42 GiB of which 1.06 GiB is free. Including non-PyTorch memory, this process has 43.35 GiB memory in use.',
  ];

  test('CUDA out of memory, a broken install and bad arguments are recognised; anything else is a plain failure', () => {
    assert.equal(classifyFailure(oom), 'cuda_oom');
    assert.equal(classifyFailure(["ModuleNotFoundError: No module named 'swift'"]), 'not_installed');
    assert.equal(classifyFailure(["ValueError: remaining_argv: ['--check_model', 'false']"]), 'invalid_config');
    assert.equal(classifyFailure(["ValueError: Failed to automatically match 'model_type' for '/tmp/m'. Multiple possible types found: ['qwen2', 'qwen2_gte']"]), 'invalid_config');
    assert.equal(classifyFailure(['RuntimeError: NCCL error in: ProcessGroupNCCL.cpp:1970, unhandled system error']), 'other');
  });

  test('a failed run becomes a typed failure carrying its last output lines', () => {
    const f = swiftFailure('sft', { exitCode: 1, signal: undefined, cancelled: false, tail: oom }, '/job/swift-sft.log');
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.type, 'DqeCudaOutOfMemory');
    assert.equal(f.nonRetryable, true);
    assert.ok(f.message.includes(oom[3]!));
    const tail = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    const other = swiftFailure('infer', { exitCode: undefined, signal: 'SIGKILL', cancelled: false, tail }, '/job/swift-infer.log');
    assert.equal(other.type, 'DqeSwiftFailed');
    assert.equal(other.nonRetryable, false);
    assert.match(other.message, /^swift infer was killed by SIGKILL\. full log: \/job\/swift-infer\.log\nlast 50 lines of its output:\nline 0\n/u);
  });

  test('a bfloat16 model on a device without bf16 fails once, non-retryably, with the fix (it was DqeSwiftFailed, retried)', () => {
    // The line transformers prints when swift sft starts a bf16 model on a CPU worker.
    const tail = ['[INFO:swift] Loading the model...', "ValueError: Your setup doesn't support bf16/gpu. You need to assign use_cpu if you want to train the model on CPU."];
    assert.equal(classifyFailure(tail), 'unsupported_dtype');
    const f = swiftFailure('sft', { exitCode: 1, signal: undefined, cancelled: false, tail }, '/job/swift-sft.log');
    assert.equal(f.type, 'DqeSwiftInvalidConfig');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /^swift sft exited with code 1: the model runs in bfloat16, which .* cannot .*"--torch_dtype", "float16"\] \(float32 on a CPU\)/u);
  });

  test('the output tail keeps the last 50 lines as a terminal shows them', () => {
    const t = new OutputTail();
    t.push('Train:   0%|  | 0/8\rTrain:  50%|  | 4/8\rTrain: 100%|  | 8/8\n');
    assert.deepEqual(t.get(), ['Train: 100%|  | 8/8']);
    for (let i = 0; i < 60; i++) t.push(`line ${i}\n`);
    t.push('unfinished');
    const lines = t.get();
    assert.equal(lines.length, 50);
    assert.equal(lines[0], 'line 11');
    assert.equal(lines.at(-1), 'unfinished');
  });
});

describe('mapping swift infer results to rows', () => {
  let dir: string;
  const labels = ['ham', 'spam'];
  const row = (text: string) => ({ messages: [{ role: 'system', content: 'Classify' }, { role: 'user', content: text }] });
  const result = (text: string, response: string) => ({ response, labels: null, logprobs: null, messages: [...row(text).messages, { role: 'assistant', content: response }] });
  const jsonl = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dqe-swift-map-'));
    await writeFile(join(dir, 'in.jsonl'), jsonl([row('a'), row('b'), row('c')]));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('line i answers row i; answers map exactly, then loosely, else to null', async () => {
    await writeFile(join(dir, 'ok.jsonl'), jsonl([result('a', 'spam'), result('b', ' HAM \n'), result('c', 'maybe spam')]));
    assert.deepEqual(await mapResults(join(dir, 'in.jsonl'), join(dir, 'ok.jsonl'), [4, 7, 9], labels), [
      { id: 4, predicted: 'spam', answer: 'spam' },
      { id: 7, predicted: 'ham', answer: ' HAM \n' },
      { id: 9, predicted: null, answer: 'maybe spam' },
    ]);
  });

  test('a missing or foreign result line fails instead of shifting answers', async () => {
    await writeFile(join(dir, 'short.jsonl'), jsonl([result('a', 'spam'), result('b', 'ham')]));
    await assert.rejects(mapResults(join(dir, 'in.jsonl'), join(dir, 'short.jsonl'), [4, 7, 9], labels), (e: ApplicationFailure) => e.type === 'DqeSwiftResultMismatch' && /2 result lines for 3 rows/u.test(e.message));
    await writeFile(join(dir, 'shifted.jsonl'), jsonl([result('a', 'spam'), result('c', 'ham'), result('c', 'ham')]));
    await assert.rejects(mapResults(join(dir, 'in.jsonl'), join(dir, 'shifted.jsonl'), [4, 7, 9], labels), (e: ApplicationFailure) => e.type === 'DqeSwiftResultMismatch' && /line 2 does not echo line 2/u.test(e.message));
  });
});

describe('without swift', () => {
  test('the trainer fails non-retryably and says how to install it', async () => {
    const err = await resolveSwiftBin({ bin: '/nonexistent/bin/swift' }).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'DqeSwiftNotInstalled');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /no executable \/nonexistent\/bin\/swift; install ms-swift 4\.6\.0 on the GPU worker: `python3 -m venv \.venv && \.venv\/bin\/pip install -r infra\/requirements\/swift\.txt`/u);
  });

  test('`dqe gpu-worker` refuses to start', async () => {
    const r = await execa(process.execPath, [join(REPO_ROOT, 'bin', 'dqe.js'), 'gpu-worker', '--swift-bin', '/nonexistent/bin/swift'], {
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1', PATH: process.env.PATH },
      reject: false,
    });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^dqe: ms-swift not found on GPU worker .*: no executable \/nonexistent\/bin\/swift; install ms-swift/mu);
  });
});
