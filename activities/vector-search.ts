// Phases 7a and 7b: index every kept row in the vector store, then categorise the wrong predictions
// by their nearest neighbour.
import { createHash } from 'node:crypto';
import { AtomicWriter, hashKey, readInt32, readJsonl, readUint32, runPhaseOnce, writeTypedAtomic } from '../adapters/files.js';
import { withSharedMatrix } from '../adapters/shared-matrix.js';
import type { Prediction } from '../adapters/trainers/types.js';
import { createVectorStore, nearestInBatches, nearestKInBatches, nearestWithKInBatches, type StorePoint } from '../adapters/vector-stores/index.js';
import { categorise, type Category, type Neighbour } from '../core/categorise.js';
import { neighbourThresholdRows, type JudgeScope } from '../core/judging.js';
import type { VectorStoreConfig } from '../core/input.js';
import { jobContext } from './context.js';
import { keptRowsById, readLabelIds, readSplits } from './read.js';
import type { CategoriseResult, CategoryRow, CleanResult, EmbedResult, IndexResult, PredictResult, SampleResult } from './refs.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

export interface IndexArgs {
  runDir: string;
  runId: string;
  clean: CleanResult;
  embed: EmbedResult;
  sample: SampleResult;
  vectorStore: VectorStoreConfig;
}

export interface CategoriseArgs extends IndexArgs {
  predict: PredictResult;
  /**
   * The offline judge's `neighbours` (rule 'confident') and its scope: the k nearest other rows of the rows it will
   * judge — every kept row with scope 'all'; else the pass's noisy pairs (and with 'wrong' its wrong rows) and the
   * rows the class thresholds are taken over (core/judging.ts neighbourThresholdRows) — are asked of the store
   * while its index is up. @default none
   */
  neighbours?: { k: number; scope: JudgeScope };
  /**
   * Neighbours an earlier pass of the run found (two-fold: the first pass's `nearest`): a row answered there is read,
   * not asked again. A row's k nearest other rows do not depend on the pass (no split filter, the same index).
   * @default none
   */
  knownNearest?: NonNullable<CategoriseResult['nearest']>;
}

export interface VectorSearchDeps {
  env: NodeJS.ProcessEnv;
}

async function points(args: IndexArgs): Promise<StorePoint[]> {
  const splits = await readSplits(args.sample, args.clean.kept);
  const labelIds = await readLabelIds(args.clean);
  return splits.map((split, id) => ({ id, label: args.clean.labels[labelIds[id]!]!, split }));
}

export async function indexVectors(deps: VectorSearchDeps, args: IndexArgs): Promise<IndexResult> {
  const started = performance.now();
  const store = createVectorStore(args.vectorStore, deps.env);
  const ctx = jobContext();
  const pts = await points(args);
  const res = await withSharedMatrix(args.embed.matrix, (vectors) =>
    store.index({
      runId: args.runId,
      workDir: workDirOf(args.runDir),
      vectors,
      dim: args.embed.matrix.dim,
      points: pts,
      onProgress: (done, total) => ctx.heartbeat({ done, total }),
    }),
  );
  return { store: store.name, ...res, seconds: (performance.now() - started) / 1000 };
}

/** Answers for ascending rows: `nearest` holds rows × k ids. */
export interface KnownAnswers {
  ids: Uint32Array;
  nearest: Int32Array;
}

/**
 * The `k` nearest other rows of `rows` (ascending kept-row ids), rows × k: those `known` answered (ascending
 * `known.ids`, `known.nearest` ids × k) copied from it, the rest asked of `ask` in one call, in ascending order.
 */
export async function withKnownNearest(
  rows: Uint32Array,
  k: number,
  known: KnownAnswers | undefined,
  ask: (rows: Uint32Array) => Promise<Int32Array>,
): Promise<Int32Array> {
  const at = new Int32Array(rows.length).fill(-1);
  if (known) {
    // Both ascending: one merge finds each row's place in `known`.
    for (let i = 0, j = 0; i < rows.length && j < known.ids.length; ) {
      if (known.ids[j]! < rows[i]!) j++;
      else if (known.ids[j]! > rows[i]!) i++;
      else at[i++] = j++;
    }
  }
  const missing = rows.filter((_, i) => at[i]! < 0);
  const asked = missing.length > 0 ? await ask(missing) : new Int32Array(0);
  const out = new Int32Array(rows.length * k);
  for (let i = 0, m = 0; i < rows.length; i++) {
    const from = at[i]! >= 0 ? known!.nearest.subarray(at[i]! * k, (at[i]! + 1) * k) : asked.subarray(m * k, ++m * k);
    out.set(from, i * k);
  }
  return out;
}

/** The answers of `a` and `b` (each ascending) for their union of rows, ascending; a row in both is taken from `a`. */
export function unionAnswers(a: KnownAnswers, b: KnownAnswers, k: number): KnownAnswers {
  const ids: number[] = [];
  const from: Array<[KnownAnswers, number]> = [];
  for (let i = 0, j = 0; i < a.ids.length || j < b.ids.length; ) {
    const x = i < a.ids.length ? a.ids[i]! : Infinity;
    const y = j < b.ids.length ? b.ids[j]! : Infinity;
    if (x <= y) {
      ids.push(x);
      from.push([a, i++]);
      if (x === y) j++;
    } else {
      ids.push(y);
      from.push([b, j++]);
    }
  }
  const nearest = new Int32Array(ids.length * k);
  from.forEach(([src, at], i) => nearest.set(src.nearest.subarray(at * k, (at + 1) * k), i * k));
  return { ids: Uint32Array.from(ids), nearest };
}

/**
 * The `k` nearest other rows of `rows` (ascending kept-row ids) through the run's store (the `neighbours` phase:
 * `nearest-ids.u32` the rows, `nearest.i32` their ids, rows × k, nearest first, −1 where fewer), once per
 * matrix, store, k and rows; rows that `known` (an earlier pass's answers) or `fresh` (this pass's, found with its
 * wrong rows' top-1) holds are read from there.
 */
async function nearestOf(
  deps: VectorSearchDeps,
  args: CategoriseArgs,
  k: number,
  rows: Uint32Array,
  pts: readonly StorePoint[],
  fresh?: KnownAnswers,
): Promise<NonNullable<CategoriseResult['nearest']>> {
  const known = args.knownNearest?.k === k ? args.knownNearest : undefined;
  const knownIds = known && (await readUint32(known.idsPath, known.rows));
  // The same rows as the earlier pass (scope 'all', or below 20,000 rows): its answers as they are.
  if (known && knownIds!.length === rows.length && knownIds!.every((id, i) => id === rows[i])) return known;
  const key = hashKey({ matrix: args.embed.matrix.path, store: args.vectorStore, k, rows: createHash('sha256').update(rows).digest('hex'), ...(known ? { known: known.path } : {}) });
  const ctx = jobContext();
  return runPhaseOnce(workDirOf(args.runDir), 'neighbours', key, async (prefix) => {
    const store = createVectorStore(args.vectorStore, deps.env);
    const earlier = known && { ids: knownIds!, nearest: await readInt32(known.path, known.rows * k) };
    const knownAnswers = earlier && fresh ? unionAnswers(earlier, fresh, k) : (earlier ?? fresh);
    const nearest = await withKnownNearest(rows, k, knownAnswers, (missing) =>
      withSharedMatrix(args.embed.matrix, (vectors) =>
        nearestKInBatches(store, { runId: args.runId, vectors, dim: args.embed.matrix.dim, points: pts, workDir: workDirOf(args.runDir) }, [...missing], k, (done, total) =>
          ctx.heartbeat({ neighbours: done, total, known: rows.length - missing.length }),
        ),
      ),
    );
    const idsPath = workFile(prefix, 'nearest-ids.u32');
    const path = workFile(prefix, 'nearest.i32');
    await writeTypedAtomic(idsPath, rows);
    await writeTypedAtomic(path, nearest);
    return { path, idsPath, rows: rows.length, k };
  });
}

/** `ids` (distinct) with their answers (ids × k), reordered by ascending id. */
export function ascendingAnswers(ids: readonly number[], nearest: Int32Array, k: number): KnownAnswers {
  const order = ids.map((_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
  const out = new Int32Array(ids.length * k);
  order.forEach((from, i) => out.set(nearest.subarray(from * k, (from + 1) * k), i * k));
  return { ids: Uint32Array.from(order, (i) => ids[i]!), nearest: out };
}

/** The rows a judge of `scope` decides in this pass, and the threshold rows, ascending (every row with scope 'all'). */
export function rowsToJudge(n: number, scope: JudgeScope, wrong: readonly number[], pairRows: readonly number[]): Uint32Array {
  if (scope === 'all') return Uint32Array.from({ length: n }, (_, i) => i);
  const set = new Set<number>([...neighbourThresholdRows(n), ...pairRows, ...(scope === 'wrong' ? wrong : [])]);
  return Uint32Array.from([...set].sort((a, b) => a - b));
}

export async function categoriseWrong(deps: VectorSearchDeps, args: CategoriseArgs): Promise<CategoriseResult> {
  const started = performance.now();
  // The whole store config: its search settings (exact or ANN, Qdrant's hnswEf) can change the neighbours.
  const key = hashKey({
    predictions: args.predict.predictionsPath,
    store: args.vectorStore,
    ...(args.neighbours ? { neighbours: args.neighbours } : {}),
    ...(args.neighbours && args.knownNearest ? { knownNearest: args.knownNearest.path } : {}),
  });
  const ctx = jobContext();
  return runPhaseOnce(workDirOf(args.runDir), 'categorise', key, async (prefix) => {
    const store = createVectorStore(args.vectorStore, deps.env);
    const pts = await points(args);
    const wrong: Prediction[] = [];
    for await (const p of readJsonl<Prediction>(args.predict.predictionsPath)) {
      if (p.predicted !== pts[p.id]!.label) wrong.push(p);
    }
    const wrongIds = wrong.map((p) => p.id);
    // The judge's neighbours of every wrong row (scope 'wrong' or 'all'), unless an earlier pass found every row's:
    // one search answers both those and the top-1 the categories need (the embedded store's exact scan).
    const both = args.neighbours && args.neighbours.scope !== 'pairs' && args.knownNearest?.rows !== pts.length ? args.neighbours.k : undefined;
    let fresh: KnownAnswers | undefined;
    const neighbours = await withSharedMatrix(args.embed.matrix, async (vectors): Promise<Neighbour[]> => {
      const req = { runId: args.runId, vectors, dim: args.embed.matrix.dim, points: pts, workDir: workDirOf(args.runDir) };
      const heartbeat = (done: number, total: number) => ctx.heartbeat({ done, total });
      if (both === undefined) return nearestInBatches(store, req, wrongIds, heartbeat);
      const got = await nearestWithKInBatches(store, req, wrongIds, both, heartbeat);
      fresh = ascendingAnswers(wrongIds, got.k, both);
      return got.nearest;
    });
    const needed = new Set<number>();
    wrong.forEach((p, i) => {
      needed.add(p.id);
      needed.add(neighbours[i]!.id);
    });
    const kept = await keptRowsById(args.clean, needed);
    const counts: Record<Category, number> = { uncovered: 0, difficult: 0, noisy: 0 };
    const perLabel: Record<string, Record<Category, number>> = {};
    for (const l of args.clean.labels) perLabel[l] = { uncovered: 0, difficult: 0, noisy: 0 };
    const out = await AtomicWriter.create(workFile(prefix, 'categories.jsonl'));
    // The rows of the noisy pairs: the judge decides them, so their neighbours are asked for (below).
    const pairRows: number[] = [];
    for (let i = 0; i < wrong.length; i++) {
      const p = wrong[i]!;
      const nb = neighbours[i]!;
      const x = pts[p.id]!;
      const n = pts[nb.id]!;
      const category = categorise(x.label, n.label, n.split);
      counts[category]++;
      if (category === 'noisy') pairRows.push(p.id, nb.id);
      perLabel[x.label]![category]++;
      await out.writeLine({
        id: p.id,
        row: kept.get(p.id)!.row,
        label: x.label,
        predicted: p.predicted,
        category,
        neighbour: { id: nb.id, row: kept.get(nb.id)!.row, label: n.label, split: n.split },
        similarity: nb.score,
      } satisfies CategoryRow);
    }
    await out.commit();
    const nearest = args.neighbours ? await nearestOf(deps, args, args.neighbours.k, rowsToJudge(pts.length, args.neighbours.scope, wrongIds, pairRows), pts, fresh) : undefined;
    return { categoriesPath: out.path, counts, perLabel, ...(nearest ? { nearest } : {}), seconds: (performance.now() - started) / 1000 } satisfies CategoriseResult;
  });
}

export interface DropArgs {
  runId: string;
  vectorStore: VectorStoreConfig;
  /** The run's directory: an embedded ANN index saved in its work folder is deleted. */
  runDir?: string;
}

/** Removes what `indexVectors` created for the run (a Qdrant collection, say). */
export async function dropVectors(deps: VectorSearchDeps, args: DropArgs): Promise<void> {
  await createVectorStore(args.vectorStore, deps.env).drop(args.runId, args.runDir === undefined ? undefined : workDirOf(args.runDir));
}
