// Phase 3, embed: one L2-normalised vector per kept row, into one float32 matrix file, through the
// content-hash cache so a re-run embeds only rows it has not seen.
import { join, resolve } from 'node:path';
import { createEmbedder } from '../adapters/embedders/index.js';
import { EmbeddingCache, textKey } from '../adapters/embedding-cache.js';
import { AtomicWriter, hashKey, readJsonl, runPhaseOnce } from '../adapters/files.js';
import type { EmbedderConfig } from '../core/input.js';
import { jobContext } from './context.js';
import type { CleanResult, EmbedResult, KeptRow } from './refs.js';

export interface EmbedArgs {
  runDir: string;
  clean: CleanResult;
  embedder: EmbedderConfig;
}

export interface EmbedDeps {
  cacheDir: string;
  env: NodeJS.ProcessEnv;
}

export async function embedRows(deps: EmbedDeps, args: EmbedArgs): Promise<EmbedResult> {
  const started = performance.now();
  const embedder = createEmbedder(args.embedder, deps.env);
  const key = hashKey({ kept: args.clean.keptPath, embedder: embedder.id });
  const ctx = jobContext();
  return runPhaseOnce(join(resolve(args.runDir), 'work'), 'embed', key, async (prefix) => {
    const cache = await EmbeddingCache.open(deps.cacheDir, embedder.id);
    const out = await AtomicWriter.create(`${prefix}.matrix.f32`);
    let dim: number | undefined;
    let reused = 0;
    let embedded = 0;
    let done = 0;
    const flush = async (batch: KeptRow[]) => {
      const keys = batch.map((r) => textKey(r.text));
      const vectors = await Promise.all(keys.map((k) => cache.get(k)));
      const missing = batch.flatMap((r, i) => (vectors[i] ? [] : [i]));
      if (missing.length > 0) {
        const fresh = await embedder.embed(missing.map((i) => batch[i]!.text), ctx.signal);
        for (let m = 0; m < missing.length; m++) {
          const i = missing[m]!;
          vectors[i] = fresh[m]!;
          await cache.put(keys[i]!, fresh[m]!);
        }
      }
      for (const v of vectors) {
        dim ??= v!.length;
        if (v!.length !== dim) throw new Error(`embedder ${embedder.id} returned width ${v!.length} after ${dim}`);
        await out.write(new Uint8Array(v!.buffer, v!.byteOffset, v!.byteLength));
      }
      reused += batch.length - missing.length;
      embedded += missing.length;
      done += batch.length;
      ctx.heartbeat({ done, total: args.clean.kept });
    };
    try {
      let batch: KeptRow[] = [];
      for await (const r of readJsonl<KeptRow>(args.clean.keptPath)) {
        batch.push(r);
        if (batch.length >= embedder.batchSize) {
          await flush(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await flush(batch);
      await out.commit();
    } catch (err) {
      await out.abort();
      throw err;
    } finally {
      await cache.close();
    }
    return {
      matrix: { path: out.path, rows: args.clean.kept, dim: dim ?? 0 },
      embedderId: embedder.id,
      reused,
      embedded,
      seconds: (performance.now() - started) / 1000,
    } satisfies EmbedResult;
  });
}
