// `npm run bench`: runs every benchmark (sampling, neighbour search, SpamAssassin end to end, streaming I/O,
// embedder throughput, the judge's neighbours, the exact top-1), then
// gathers each one's JSON under bench/results/ into bench/results.json and prints where it is.
//
//   npm run bench               # full sizes: about an hour on a 2-core machine
//   npm run bench -- --quick    # small sizes, a few minutes: checks the scripts, not the targets
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../adapters/files.js';
import { machine } from './machine.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

/** Each benchmark: its script, its arguments, and the results file it writes. */
const BENCHES: Array<{ name: string; args: string[]; out: string }> = [
  { name: 'sampling', args: ['bench/sampling.ts', ...(quick ? ['--quick'] : [])], out: 'bench/results/sampling.json' },
  { name: 'ann', args: ['bench/ann.ts', ...(quick ? ['--quick'] : [])], out: 'bench/results/ann.json' },
  { name: 'e2e', args: ['bench/e2e.ts', ...(quick ? ['--limit', '600', '--repeat', '1'] : [])], out: 'bench/results/e2e.json' },
  { name: 'io', args: ['bench/io.ts', ...(quick ? ['--sizes=20000,80000'] : [])], out: 'bench/results/io.json' },
  {
    name: 'sampling-real-text',
    args: ['bench/sampling-real-text.ts', ...(quick ? ['--check-n=2000', '--speed=10000x384'] : [])],
    out: 'bench/results/sampling-real-text.json',
  },
  { name: 'embedder', args: ['bench/embedder.ts', ...(quick ? ['--texts', '100', '--batch-sizes', '32'] : [])], out: 'bench/results/embedder.json' },
  { name: 'neighbours', args: ['bench/neighbours.ts', ...(quick ? ['--sizes=5000'] : [])], out: 'bench/results/neighbours.json' },
  { name: 'exact-top1', args: ['bench/exact-top1.ts', ...(quick ? ['--sizes=5000', '--repeats=1'] : [])], out: 'bench/results/exact-top1.json' },
  { name: 'equal-vectors', args: ['bench/equal-vectors.ts', ...(quick ? ['--n=5000', '--groups=50,300'] : [])], out: 'bench/results/equal-vectors.json' },
  { name: 'exact-knn', args: ['bench/exact-knn.ts', ...(quick ? ['--sizes=20000', '--check=20'] : ['--sizes=100000,300000', '--check=100'])], out: 'bench/results/exact-knn.json' },
];

for (const b of BENCHES) {
  if (only && !only.includes(b.name)) continue;
  console.error(`\n== bench ${b.name}: tsx ${b.args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...b.args], { stdio: 'inherit' });
  if (r.status !== 0) console.error(`bench ${b.name} exited with ${r.status}; its previous results (if any) are kept`);
}

/** Every results file there is, including the drills and evaluations other scripts write. */
const FILES = ['sampling', 'sampling-handoff', 'sampling-kcenter', 'ann', 'ann-compare-hier', 'ann-sweep', 'ann-sweep-ivf', 'ann-big', 'e2e', 'io', 'sampling-real-text', 'sampling-real-text-42k', 'sampling-real-text-centroid', 'sampling-real-text-centroid-2026-12-06', 'sampling-real-text-centroid-before-compaction', 'sampling-real-text-idle', 'sampling-real-text-300k-2t', 'kill-harness', 'eval', 'eval-seeds-1-2', 'embedder', 'embedder-quality', 'minilm-int8', 'eval-drug-reviews-hash', 'eval-drug-reviews-minilm', 'qdrant-edge', 'scale', 'scale-reuse-sample', 'scale-2-workers', 'scale-minilm', 'io-before-threads', 'neighbours', 'neighbours-1m', 'neighbours-1m-float32', 'exact-top1', 'equal-vectors', 'exact-knn', 'exact-knn-1m'];
const results: Record<string, unknown> = { machine: machine(), quick };
for (const f of FILES) {
  const path = `bench/results/${f}.json`;
  if (existsSync(path)) results[f] = JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
// The method ablation (bench/method.ts) runs in slices (dataset, seed, trainer), each its own file.
const slices = readdirSync('bench/results').filter((f) => /^method(-.+)?\.json$/u.test(f)).sort();
if (slices.length > 0) results.method = Object.fromEntries(slices.map((f) => [f.replace(/\.json$/u, ''), JSON.parse(readFileSync(`bench/results/${f}`, 'utf8')) as unknown]));
const evalSlices = readdirSync('bench/results').filter((f) => /^eval-(2|3)-class-.+\.json$/u.test(f)).sort();
for (const f of evalSlices) results[f.replace(/\.json$/u, '')] = JSON.parse(readFileSync(`bench/results/${f}`, 'utf8')) as unknown;
await writeJsonAtomic('bench/results.json', results);
console.error(`\nwrote bench/results.json (${Object.keys(results).filter((k) => k !== 'machine' && k !== 'quick').join(', ')})`);
