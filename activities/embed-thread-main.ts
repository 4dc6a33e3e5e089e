// An embed shard in a worker thread (activities/embed.ts, for a `threaded` embedder: `hash`): the same
// embedRows as on the activity's thread, with heartbeats posted to the activity and a 'stop' message from it
// (the activity was cancelled) aborting between batches.
import { parentPort, workerData } from 'node:worker_threads';
import { createEmbedder } from '../adapters/embedders/index.js';
import type { JobContext } from '../adapters/trainers/types.js';
import { embedRows, type EmbeddedRows, type EmbedRowsInput } from './embed.js';
import type { ThreadMessage } from './threads.js';

const port = parentPort!;
const { input } = workerData as { input: EmbedRowsInput };
const stop = new AbortController();
port.on('message', (m) => {
  if (m === 'stop') stop.abort(new Error('embedding stopped: the activity was cancelled'));
});
// The port alone does not keep the thread alive (a 'message' listener refs it, so this comes after): the
// thread ends when the shard is done.
port.unref();
const ctx: JobContext = {
  heartbeat: (details) => port.postMessage({ heartbeat: details } satisfies ThreadMessage<EmbeddedRows>),
  resumeDetails: undefined,
  signal: stop.signal,
  log: () => {},
};
// A threaded embedder is local (no endpoint, no key): it needs no environment.
const result = await embedRows(input, createEmbedder(input.args.embedder, {}), ctx);
port.postMessage({ result } satisfies ThreadMessage<EmbeddedRows>);
