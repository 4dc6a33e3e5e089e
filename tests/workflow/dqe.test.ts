// The whole pipeline on a real Temporal dev server, over a few hundred real SpamAssassin mails.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { readFloat64, readInt32, readJsonlAll, readMatrix, readUint32 } from '../../adapters/files.js';
import { nearestOtherRows } from '../../adapters/vector-stores/exact-knn.js';
import { readFinalRowIds } from '../../adapters/run-files.js';
import { classThresholds, confidentVerdict, mixEvidence, neighbourEvidenceName, neighbourLabelShares, type RowVerdict } from '../../core/judging.js';
import { WORK_DIR, type FlaggedRowLine, type KeptRow, type NoisyPairLine, type Report } from '../../core/run-layout.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { PHASES, progressQuery, type DqeResult } from '../../workflows/index.js';
import { SECOND_PASS_PHASES } from '../../workflows/dqe.js';
import { createCpuWorker, workflowBundle } from '../../workers/cpu-worker.js';
import { flippedSpamJsonl } from '../helpers/flipped.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** The activity type of each phase, in order, as the history must show them. */
const ACTIVITY_TYPES = [
  'claimRunDir', 'loadDataset', 'cleanDataset', 'embedShard', 'mergeEmbeddings', 'sampleRows', 'trainModel', 'predictShard', 'mergePredictions',
  'indexVectors', 'categoriseWrong',
  // two-fold (the default): the second pass, with the halves swapped, before the index is dropped
  'swapHalves', 'trainModel', 'predictShard', 'mergePredictions', 'categoriseWrong',
  'dropVectors', 'judgeNoisy', 'judgeNoisy', 'assembleRun', 'writeReport', 'releaseRunDir',
];

describe('dqe workflow on the dev server', () => {
  let t: TestTemporal;
  let dir: string;
  let dataset: string;
  let inputLines: string[];
  const taskQueue = uniqueId('dqe-test');

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-wf-'));
    dataset = join(dir, 'spam.jsonl');
    const mails = spamAssassinJsonl({ limit: 300 }).trim().split('\n');
    const first = JSON.parse(mails[0]!) as { text: string; label: string };
    // Real mails plus one of each kind of trouble: a duplicate, a conflict, a bad line, a missing label.
    inputLines = [
      ...mails,
      JSON.stringify({ id: 'dup', text: first.text, label: first.label }),
      JSON.stringify({ id: 'conflict', text: first.text, label: first.label === 'ham' ? 'spam' : 'ham' }),
      '{"text": "unterminated',
      JSON.stringify({ id: 'nolabel', text: 'a mail without a label' }),
    ];
    await writeFile(dataset, `${inputLines.join('\n')}\n`);
  });
  after(async () => t.close());

  test('runs every phase as its own activity and writes consistent outputs', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const workflowId = uniqueId('dqe-e2e');
    const outputDir = join(dir, 'run');
    const [result, progress] = await worker.runUntil(async () => {
      const r = (await t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [{ dataset, outputDir, seed: 1 }] })) as DqeResult;
      // Queries are answered by a worker, so ask while it runs.
      return [r, await t.client.workflow.getHandle(workflowId).query(progressQuery)] as const;
    });

    const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    const c = report.counts;
    assert.equal(c.rowsIn, 304);
    assert.equal(c.kept + c.rejected, c.rowsIn);
    assert.equal(c.rejectedByReason.invalid_json, 1);
    assert.equal(c.rejectedByReason.missing_label, 1);
    // The first mail, its duplicate and its conflicting twin all share one text: all three leave as conflicting.
    assert.equal(c.rejectedByReason.conflicting_labels, 3);
    assert.equal(c.sampled, Math.ceil(0.5 * c.kept));
    assert.equal(c.sampled + c.unsampled, c.kept);
    assert.equal(c.predicted, c.unsampled);
    assert.equal(c.wrong, c.predicted - c.correct);
    assert.equal(c.uncovered + c.difficult + c.noisy, c.wrong);
    assert.equal(c.noisyPairs, c.noisy);
    assert.equal(c.final, c.finalBySource.sampled! + c.finalBySource.uncovered! + c.finalBySource.difficult! + c.finalBySource.noisy!);
    assert.ok(c.final >= c.sampled - c.verdicts.mislabeled && c.final <= c.kept);
    assert.deepEqual(result.counts, {
      rowsIn: c.rowsIn, kept: c.kept, rejected: c.rejected, sampled: c.sampled, unsampled: c.unsampled, wrong: c.wrong,
      uncovered: c.uncovered, difficult: c.difficult, noisy: c.noisy, mislabeled: c.verdicts.mislabeled, final: c.final,
    });
    const tf = report.twoFold!;
    assert.deepEqual(result.secondPass, { wrong: tf.wrong, uncovered: tf.uncovered, difficult: tf.difficult, noisy: tf.noisy, mislabeled: tf.verdicts.mislabeled });
    assert.equal(tf.predicted, c.sampled, 'the second pass predicts every sampled row');
    for (const [label, v] of Object.entries(report.perLabel)) assert.ok(v.final <= v.kept, label);

    // Every final row is a kept input row, unchanged (noisy: drop relabels nothing).
    const inputs = new Set(inputLines.map((l) => { try { return JSON.stringify(JSON.parse(l)); } catch { return l; } }));
    const final = await readJsonlAll<Record<string, unknown>>(join(outputDir, 'final.jsonl'));
    assert.equal(final.length, c.final);
    for (const row of final) assert.ok(inputs.has(JSON.stringify(row)), `final row not in input: ${JSON.stringify(row).slice(0, 80)}`);
    assert.equal(new Set(final.map((r) => r.id)).size, final.length);
    // final.rows.jsonl links each final line to its kept row and input row, line for line; final.jsonl
    // itself holds only the user's rows, each byte for byte its input line (no blank lines here: row n is line n).
    const finalLines = (await readFile(join(outputDir, 'final.jsonl'), 'utf8')).split('\n').slice(0, -1);
    const ids = await readFinalRowIds(outputDir);
    assert.equal(ids.length, finalLines.length);
    assert.equal(report.outputs.finalRows, 'final.rows.jsonl');
    const kept = await readJsonlAll<KeptRow>(join(outputDir, report.work.kept));
    ids.forEach(({ id, row }, i) => {
      assert.deepEqual(Object.keys(ids[i]!), ['id', 'row']);
      if (i > 0) assert.ok(id > ids[i - 1]!.id, 'ids ascend: final rows keep input order');
      assert.equal(kept[id]!.row, row);
      assert.equal(finalLines[i], inputLines[row - 1], `final line ${i + 1} is input row ${row}, byte for byte`);
    });
    const swift = await readJsonlAll<{ messages: Array<{ role: string; content: string }> }>(join(outputDir, 'final.swift.jsonl'));
    assert.equal(swift.length, c.final);
    swift.forEach((s, i) => {
      assert.deepEqual(s.messages.map((m) => m.role), ['system', 'user', 'assistant']);
      assert.equal(s.messages[2]!.content, final[i]!.label);
    });
    const rejects = await readJsonlAll<{ row: number; reason: string }>(join(outputDir, 'rejects.jsonl'));
    assert.equal(rejects.length, c.rejected);
    assert.match(await readFile(join(outputDir, 'report.md'), 'utf8'), /## Funnel/);

    // Each phase is its own activity, in order, visible in the history (and so in the Web UI).
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    assert.deepEqual(scheduled, ACTIVITY_TYPES);

    assert.equal(progress.status, 'completed');
    assert.deepEqual(progress.done.map((d) => d.phase), ['load', 'clean', 'embed', 'sample', 'train', 'predict', 'index', 'categorise', ...SECOND_PASS_PHASES.slice(0, 4), 'judge', 'judge2', 'assemble', 'report']);
    assert.deepEqual([...PHASES], ['load', 'clean', 'embed', 'sample', 'train', 'predict', 'index', 'categorise', 'judge', 'assemble', 'report']);

    // The same history replays deterministically against the current workflow code.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });

  /** The 300 mails with every 10th label flipped: label errors for the judge to find. */
  const writeFlipped = async (): Promise<string> => {
    const flipped = join(dir, 'flipped.jsonl');
    await writeFile(flipped, flippedSpamJsonl(300));
    return flipped;
  };

  test("judge scope 'wrong' flags exactly what 'all' flags among the noisy pairs and the wrongly predicted rows, and those rows leave the set", async () => {
    const flipped = await writeFlipped();
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const run = (scope: 'wrong' | 'all') =>
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId(`dqe-scope-${scope}`), args: [{ dataset: flipped, outputDir: join(dir, `scope-${scope}`), seed: 1, judge: { name: 'offline', scope } }] });
    await worker.runUntil(async () => {
      await run('all');
      await run('wrong');
    });
    /** Ids in every file of the run's work folder named `<phase>.<key>.<suffix>` (both passes'). */
    const idsIn = async (scope: string, phase: string, suffix: string, keep: (line: { id: number; verdict?: string; category?: string; neighbour?: { id: number } }) => number[]) => {
      const work = join(dir, `scope-${scope}`, WORK_DIR);
      const files = (await readdir(work)).filter((f) => f.startsWith(`${phase}.`) && f.endsWith(`.${suffix}`));
      assert.equal(files.length, 2, `${phase}: one ${suffix} per pass`);
      const ids = new Set<number>();
      for (const f of files) for (const line of await readJsonlAll<{ id: number; verdict?: string; neighbour?: { id: number } }>(join(work, f))) for (const id of keep(line)) ids.add(id);
      return ids;
    };
    const flaggedBy = (scope: string) => idsIn(scope, 'judge', 'verdicts.jsonl', (v) => (v.verdict === 'mislabeled' ? [v.id] : []));
    // The wrongly predicted rows of both passes, and the rows of their noisy pairs.
    const candidates = await idsIn('wrong', 'categorise', 'categories.jsonl', (c) => (c.category === 'noisy' ? [c.id, c.neighbour!.id] : [c.id]));
    const all = await flaggedBy('all');
    const wrong = await flaggedBy('wrong');
    assert.deepEqual([...wrong].sort((a, b) => a - b), [...all].filter((id) => candidates.has(id)).sort((a, b) => a - b));
    const pairRows = await idsIn('wrong', 'categorise', 'categories.jsonl', (c) => (c.category === 'noisy' ? [c.id, c.neighbour!.id] : []));
    assert.ok([...wrong].some((id) => !pairRows.has(id)), 'some flagged rows are uncovered or difficult rows, outside the pairs');
    assert.ok(wrong.size < all.size, "'all' flags rows that were never mispredicted");
    const finalIds = new Set((await readFinalRowIds(join(dir, 'scope-wrong'))).map((r) => r.id));
    for (const id of wrong) assert.ok(!finalIds.has(id), `flagged row ${id} is not in the final set`);

    // Each pass's flagged file holds that pass's verdicts outside its pairs, with the input row's text and label:
    // its pairs' rows and its flagged rows are exactly the rows of one of the judge's verdict files.
    const work = join(dir, 'scope-wrong', WORK_DIR);
    const verdictFiles = await Promise.all(
      (await readdir(work)).filter((f) => f.startsWith('judge.') && f.endsWith('.verdicts.jsonl')).map((f) => readJsonlAll<RowVerdict>(join(work, f))),
    );
    const input = (await readFile(flipped, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });
    let outside = 0;
    for (const [pairsFile, flaggedFile] of [['noisy-pairs.jsonl', 'flagged.jsonl'], ['noisy-pairs.second-pass.jsonl', 'flagged.second-pass.jsonl']] as const) {
      const pairs = await readJsonlAll<NoisyPairLine>(join(dir, 'scope-wrong', pairsFile));
      const flagged = await readJsonlAll<FlaggedRowLine>(join(dir, 'scope-wrong', flaggedFile));
      const ids = [...new Set([...pairs.flatMap((p) => [p.x.id, p.neighbour.id]), ...flagged.map((f) => f.id)])].sort((a, b) => a - b);
      const verdicts = verdictFiles.find((vs) => JSON.stringify(vs.map((v) => v.id)) === JSON.stringify(ids));
      assert.ok(verdicts, `${pairsFile} and ${flaggedFile} name the rows of one verdicts file`);
      assert.deepEqual(flagged.map((f) => f.verdict), verdicts.filter((v) => flagged.some((f) => f.id === v.id)));
      for (const f of flagged) assert.deepEqual([f.text, f.label, f.verdict.verdict], [input[f.row - 1]!.text, input[f.row - 1]!.label, 'mislabeled']);
      outside += flagged.length;
    }
    assert.ok(outside > 0, 'the passes flagged rows outside their pairs');
  });

  test('maxShare: the returned rows over the cap leave the set, counted as over_share, in the report and a warning', async () => {
    const flipped = await writeFlipped();
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const outputDir = join(dir, 'share-cap');
    // At maxShare = ratio the sampled rows fill the cap: only slots freed by sampled rows judged mislabeled remain.
    const result = (await worker.runUntil(
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-share-cap'), args: [{ dataset: flipped, outputDir, seed: 1, maxShare: 0.5 }] }),
    )) as DqeResult;
    const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    const c = report.counts;
    const over = c.excludedFromFinal.over_share!;
    assert.ok(over > 0, 'the cap left returned rows out');
    // floor(0.5 × kept) rows, unless the sampled rows alone are more (ceil(0.5 × kept) of an odd count, none judged mislabeled).
    assert.equal(c.final, Math.max(Math.floor(0.5 * c.kept), c.finalBySource.sampled!));
    assert.equal(c.final + Object.values(c.excludedFromFinal).reduce((a, b) => a + b, 0), c.kept);
    assert.equal((await readFinalRowIds(outputDir)).length, c.final);
    const warning = `${over} wrongly predicted rows that DQE returns were left out by the share cap (maxShare 0.5): the final set holds ${c.final} of ${c.kept} kept rows.`;
    assert.ok(report.warnings.some((w) => w.startsWith(warning)), report.warnings.join('\n'));
    assert.ok(result.warnings.some((w) => w.startsWith(warning)), 'the run result carries the warning');
    assert.ok((await readFile(join(outputDir, 'report.md'), 'utf8')).includes(`| over the share cap (maxShare 0.5) | ${over} |`));
  });

  test('judge neighbours: the run keeps each row\'s label shares among its 5 nearest rows and flags exactly what the rule flags on the mixed evidence', async () => {
    const flipped = await writeFlipped();
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const outputDir = join(dir, 'neighbours');
    await worker.runUntil(
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-neighbours'), args: [{ dataset: flipped, outputDir, seed: 1, judge: { name: 'offline', scope: 'all', neighbours: 5 } }] }),
    );
    const work = join(outputDir, WORK_DIR);
    const files = await readdir(work);
    const one = (suffix: string) => {
      const found = files.filter((f) => f.endsWith(suffix));
      assert.equal(found.length, 1, suffix);
      return join(work, found[0]!);
    };
    const { labels, judge } = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    assert.equal(judge.evidence, 'cross-fitted probabilities (5 folds) + label shares of the 5 nearest rows (from the vector store)');
    const labelIdsPath = one('.label-ids.u32');
    const n = (await stat(labelIdsPath)).size / 4;
    const labelIds = await readUint32(labelIdsPath, n);
    const k = labels.length;
    const matrixPath = one('.matrix.f32');
    const dim = (await stat(matrixPath)).size / 4 / n;
    const matrix = await readMatrix({ path: matrixPath, rows: n, dim });
    // The store found the neighbours while its index was up: scope 'all' asks about every row, the same rows in both
    // passes, so one `neighbours` phase (300 rows: exact search); the evidence mixes their label shares in.
    assert.deepEqual([...(await readUint32(one('.nearest-ids.u32'), n))], Array.from({ length: n }, (_, i) => i));
    const nearest = await readInt32(one('.nearest.i32'), n * 5);
    assert.deepEqual(nearest, await nearestOtherRows(matrix, n, dim, 5));
    const evidence = mixEvidence(await readFloat64(join(work, 'cross-fit-probs-k5-s1.f64'), n * k), neighbourLabelShares(nearest, 5, labelIds, k));
    // The judge's defaults: each class threshold 0.95 × the class mean (thresholdScale), minSuggested 0.6.
    const thresholds = classThresholds(evidence, labelIds, k).map((t) => 0.95 * t);
    const expected = [];
    for (let id = 0; id < n; id++) {
      const v = confidentVerdict(id, labels[labelIds[id]!]!, evidence.subarray(id * k, (id + 1) * k), labels, thresholds, 0.6, neighbourEvidenceName(5));
      if (v.verdict === 'mislabeled') expected.push(v);
    }
    assert.ok(expected.length > 0);
    // Scope 'all': each pass (two-fold: two verdict files) flags every row the rule calls mislabeled, with the same reason.
    const verdictFiles = files.filter((f) => f.startsWith('judge.') && f.endsWith('.verdicts.jsonl'));
    assert.equal(verdictFiles.length, 2);
    for (const f of verdictFiles) {
      const flagged = (await readJsonlAll<RowVerdict>(join(work, f))).filter((v) => v.verdict === 'mislabeled').sort((a, b) => a.id - b.id);
      assert.deepEqual(flagged, expected);
    }
    const finalIds = new Set((await readFinalRowIds(outputDir)).map((r) => r.id));
    for (const v of expected) assert.ok(!finalIds.has(v.id), `flagged row ${v.id} is not in the final set`);
  });

  test('an invalid input fails at once, non-retryable, naming every bad field', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const err = await worker.runUntil(
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-bad'), args: [{ dataset: '', ratio: 3, trainer: 'svm' }] }).then(
        () => assert.fail('should have failed'),
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'DqeInvalidInput');
    assert.equal(err.cause.nonRetryable, true);
    assert.equal(err.cause.message, 'invalid dqe input: dataset: Too small: expected string to have >=1 characters; ratio: Too big: expected number to be <1; trainer.name: unknown trainer; valid: linear, encoder, swift');
  });

  test('a missing dataset fails the run with a clear non-retryable error', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const missing = join(dir, 'nope.jsonl');
    const err = await worker.runUntil(
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-missing'), args: [{ dataset: missing, outputDir: join(dir, 'run-missing') }] }).then(
        () => assert.fail('should have failed'),
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WorkflowFailedError);
    const cause = err.cause?.cause;
    assert.ok(cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(cause.type, 'DqeDatasetNotFound');
    assert.equal(cause.message, `dataset ${missing}: no such file`);
  });
});
