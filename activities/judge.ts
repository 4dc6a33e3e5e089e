// Phase 8, judge: the configured judge decides which labels of the noisy pairs are wrong.
import { resolve } from 'node:path';
import { AtomicWriter, hashKey, readJsonl, runPhaseOnce } from '../adapters/files.js';
import { createJudge, type NoisyPair } from '../adapters/judges/index.js';
import type { JudgeConfig } from '../core/input.js';
import type { RowVerdict, Verdict } from '../core/judging.js';
import { jobContext } from './context.js';
import { keptRowsById, readLabelIds, readSplits } from './read.js';
import type { CategoriseResult, CategoryRow, CleanResult, EmbedResult, JudgeResult, PredictResult, SampleResult } from './refs.js';
import { RUN_FILES, workFile, type FlaggedRowLine } from '../core/run-layout.js';
import { runFile, workDirOf } from '../adapters/run-files.js';

export interface JudgeArgs {
  runDir: string;
  clean: CleanResult;
  embed: EmbedResult;
  sample: SampleResult;
  predict: PredictResult;
  categorise: CategoriseResult;
  judge: JudgeConfig;
  seed: number;
  /** File in the run directory for the pairs with their verdicts (two-fold's second pass writes its own). @default 'noisy-pairs.jsonl' */
  pairsFile?: typeof RUN_FILES.noisyPairs | typeof RUN_FILES.noisyPairsSecondPass;
  /** File in the run directory for the rows flagged outside the pairs. @default 'flagged.jsonl', or 'flagged.second-pass.jsonl' beside the second pass's pairs file */
  flaggedFile?: typeof RUN_FILES.flagged | typeof RUN_FILES.flaggedSecondPass;
}

export interface JudgeDeps {
  env: NodeJS.ProcessEnv;
  cacheDir: string;
}

export async function judgeNoisy(deps: JudgeDeps, args: JudgeArgs): Promise<JudgeResult> {
  const started = performance.now();
  const runDir = resolve(args.runDir);
  const key = hashKey({ categories: args.categorise.categoriesPath, judge: args.judge, seed: args.seed });
  return runPhaseOnce(workDirOf(runDir), 'judge', key, async (prefix) => {
    const judge = createJudge(args.judge, deps.env, deps.cacheDir);
    const noisy: CategoryRow[] = [];
    // Every categorised row is a wrong prediction; the offline judge with scope 'wrong' may flag any of them.
    const wrongIds: number[] | undefined = args.judge.name === 'offline' && args.judge.scope === 'wrong' ? [] : undefined;
    const predicted = new Map<number, string | null>();
    for await (const c of readJsonl<CategoryRow>(args.categorise.categoriesPath)) {
      wrongIds?.push(c.id);
      predicted.set(c.id, c.predicted);
      if (c.category === 'noisy') noisy.push(c);
    }
    const kept = await keptRowsById(args.clean, new Set(noisy.flatMap((c) => [c.id, c.neighbour.id])));
    const pairs: NoisyPair[] = noisy.map((c) => {
      const x = kept.get(c.id)!;
      const n = kept.get(c.neighbour.id)!;
      return {
        x: { id: x.id, row: x.row, text: x.text, label: x.label, split: 'unsampled' },
        neighbour: { id: n.id, row: n.row, text: n.text, label: n.label, split: c.neighbour.split },
        similarity: c.similarity,
      };
    });
    const out = await judge.judge(
      {
        pairs,
        labels: args.clean.labels,
        matrix: args.embed.matrix,
        labelIds: await readLabelIds(args.clean),
        splits: await readSplits(args.sample, args.clean.kept),
        ...(wrongIds === undefined ? {} : { wrongIds }),
        seed: args.seed,
        workDir: workDirOf(runDir),
        ...(args.categorise.nearest ? { nearest: args.categorise.nearest } : {}),
      },
      jobContext(),
    );
    const counts: Record<Verdict, number> = { label_ok: 0, mislabeled: 0, undecided: 0 };
    const verdicts = await AtomicWriter.create(workFile(prefix, 'verdicts.jsonl'));
    for (const v of out.verdicts) {
      counts[v.verdict]++;
      await verdicts.writeLine(v);
    }
    await verdicts.commit();
    const byId = new Map<number, RowVerdict>(out.verdicts.map((v) => [v.id, v]));
    const pairsOut = await AtomicWriter.create(runFile(runDir, args.pairsFile ?? RUN_FILES.noisyPairs));
    for (const p of pairs) {
      await pairsOut.writeLine({
        similarity: p.similarity,
        x: { ...p.x, verdict: byId.get(p.x.id) ?? null },
        neighbour: { ...p.neighbour, verdict: byId.get(p.neighbour.id) ?? null },
      });
    }
    await pairsOut.commit();
    // Rows the judge flagged outside the pairs (offline judge, scope 'wrong' or 'all'), with their texts for review.
    const inPairs = new Set(pairs.flatMap((p) => [p.x.id, p.neighbour.id]));
    const outside = out.verdicts.filter((v) => !inPairs.has(v.id));
    const outsideRows = await keptRowsById(args.clean, new Set(outside.map((v) => v.id)));
    const flaggedOut = await AtomicWriter.create(runFile(runDir, args.flaggedFile ?? (args.pairsFile === RUN_FILES.noisyPairsSecondPass ? RUN_FILES.flaggedSecondPass : RUN_FILES.flagged)));
    for (const v of outside) {
      const r = outsideRows.get(v.id)!;
      await flaggedOut.writeLine({ id: r.id, row: r.row, text: r.text, label: r.label, ...(predicted.has(v.id) ? { predicted: predicted.get(v.id)! } : {}), verdict: v } satisfies FlaggedRowLine);
    }
    await flaggedOut.commit();
    return {
      judge: judge.name,
      verdictsPath: verdicts.path,
      pairsPath: pairsOut.path,
      pairs: pairs.length,
      flaggedPath: flaggedOut.path,
      flagged: outside.length,
      counts,
      ...(out.usage ? { usage: out.usage } : {}),
      ...(out.evidence !== undefined ? { evidence: out.evidence } : {}),
      seconds: (performance.now() - started) / 1000,
    } satisfies JudgeResult;
  });
}
