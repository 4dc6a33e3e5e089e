// The interface every embedder implements.

export interface Embedder {
  /** Cache identity: changes whenever the vectors would change (model, width, version). */
  readonly id: string;
  /** Texts per call to `embed`. */
  readonly batchSize: number;
  /** Calls to `embed` worth keeping in flight at once (remote endpoints); 1 for local CPU work. */
  readonly concurrency: number;
  /**
   * Synchronous JavaScript on the calling thread (the hash embedder): each embed shard then runs in a worker
   * thread of its own, so shards side by side use separate cores instead of sharing the activity's event loop.
   */
  readonly threaded?: boolean;
  /** Embeds a batch; vectors come back L2-normalised, in the order of `texts`. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}
