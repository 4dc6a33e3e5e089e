// Phase 9, assemble: final.jsonl (the input's own schema) and final.swift.jsonl (ms-swift messages).
import { resolve } from 'node:path';
import { AtomicWriter, copyFileAtomic, hashKey, readJsonl, readJsonlAll, runPhaseOnce } from '../adapters/files.js';
import { assembleFinal } from '../core/assemble.js';
import type { Category } from '../core/categorise.js';
import type { RowVerdict } from '../core/judging.js';
import { scanObjectLine, spliceField } from '../core/json-line.js';
import { swiftMessagesRow } from '../core/labels.js';
import { mergeVerdicts } from '../core/two-fold.js';
import { jobContext } from './context.js';
import { readLabelIds, readSplits } from './read.js';
import type { AssembleResult, CategoriseResult, CategoryRow, CleanResult, JudgeResult, KeptRow, SampleResult } from './refs.js';
import { RUN_FILES, type FinalRowId } from '../core/run-layout.js';
import { runFile, workDirOf } from '../adapters/run-files.js';

export interface AssembleArgs {
  runDir: string;
  labelField: string;
  clean: CleanResult;
  sample: SampleResult;
  categorise: CategoriseResult;
  judge: JudgeResult;
  noisy: 'drop' | 'relabel';
  undecided: 'keep' | 'drop';
  /** The final set's largest share of the kept rows (core/assemble.ts); absent: 1, no cap (inputs of runs started before it). */
  maxShare?: number;
  /** Seed of the thinning draw over the cap: the run's seed. */
  seed?: number;
  /** Two-fold DQE: the second pass's verdicts; a row judged mislabeled by either pass leaves. */
  judge2?: JudgeResult | undefined;
}

/** A row's own text with its label's value replaced, every other byte as it was. */
function relabelled(source: string, labelField: string, label: string): string {
  const span = scanObjectLine(source).fields.get(labelField);
  if (!span) throw new Error(`kept row has no field "${labelField}": ${source.slice(0, 200)}`);
  return spliceField(source, span, JSON.stringify(label));
}

export async function assembleRun(args: AssembleArgs): Promise<AssembleResult> {
  const started = performance.now();
  const runDir = resolve(args.runDir);
  const key = hashKey({ verdicts: args.judge.verdictsPath, noisy: args.noisy, undecided: args.undecided, labelField: args.labelField, ...(args.judge2 ? { verdicts2: args.judge2.verdictsPath } : {}), ...(args.maxShare !== undefined && args.maxShare < 1 ? { maxShare: args.maxShare, seed: args.seed ?? 0 } : {}) });
  const ctx = jobContext();
  return runPhaseOnce(workDirOf(runDir), 'assemble', key, async () => {
    const splits = await readSplits(args.sample, args.clean.kept);
    const labelIds = await readLabelIds(args.clean);
    const labels = Array.from(labelIds, (i) => args.clean.labels[i]!);
    const categories = new Map<number, Category>();
    for await (const c of readJsonl<CategoryRow>(args.categorise.categoriesPath)) categories.set(c.id, c.category);
    const first = await readJsonlAll<RowVerdict>(args.judge.verdictsPath);
    const verdicts = mergeVerdicts(first, args.judge2 ? await readJsonlAll<RowVerdict>(args.judge2.verdictsPath) : []);
    const result = assembleFinal(labels, splits, categories, verdicts, { noisy: args.noisy, undecided: args.undecided, maxShare: args.maxShare ?? 1, seed: args.seed ?? 0 });
    ctx.heartbeat({ final: result.rows.length });

    const final = await AtomicWriter.create(runFile(runDir, RUN_FILES.final));
    const finalRows = await AtomicWriter.create(runFile(runDir, RUN_FILES.finalRows));
    const swift = await AtomicWriter.create(runFile(runDir, RUN_FILES.finalSwift));
    const perLabel: Record<string, number> = Object.fromEntries(args.clean.labels.map((l) => [l, 0]));
    const bySource: Record<string, number> = { sampled: 0, uncovered: 0, difficult: 0, noisy: 0 };
    let next = 0;
    for await (const r of readJsonl<KeptRow>(args.clean.keptPath)) {
      const f = result.rows[next];
      if (!f || f.id !== r.id) continue;
      next++;
      perLabel[f.label] = (perLabel[f.label] ?? 0) + 1;
      bySource[f.source] = (bySource[f.source] ?? 0) + 1;
      await final.write(`${f.relabelled ? relabelled(r.source, args.labelField, f.label) : r.source}\n`);
      // final.jsonl stays the user's own rows; their ids go beside it, line for line.
      await finalRows.writeLine({ id: r.id, row: r.row } satisfies FinalRowId);
      await swift.writeLine(swiftMessagesRow(r.text, f.label, args.clean.labels));
    }
    await final.commit();
    await finalRows.commit();
    await swift.commit();
    await copyFileAtomic(args.categorise.categoriesPath, runFile(runDir, RUN_FILES.categories));
    return {
      finalPath: final.path,
      finalRowsPath: finalRows.path,
      finalSwiftPath: swift.path,
      final: result.rows.length,
      perLabel,
      bySource,
      excluded: result.excluded,
      relabelled: result.relabelled,
      seconds: (performance.now() - started) / 1000,
    } satisfies AssembleResult;
  });
}
