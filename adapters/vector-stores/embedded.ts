// The embedded vector store: exact search over the run's own matrix, nothing to start or configure.
import { exactNearest } from '../../core/categorise.js';
import type { VectorStore } from './types.js';

export function createEmbeddedStore(): VectorStore {
  return {
    name: 'embedded',
    index(req) {
      // The matrix file is the index; nothing to build.
      return Promise.resolve({ indexed: req.points.length, reused: true });
    },
    nearest(req) {
      const n = req.vectors.length / req.dim;
      const split = req.split;
      const candidate = split === undefined ? undefined : (i: number) => req.points[i]?.split === split;
      return Promise.resolve(exactNearest(req.vectors, n, req.dim, req.queryIds, candidate));
    },
    drop() {
      return Promise.resolve();
    },
  };
}
