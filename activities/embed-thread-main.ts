// An embed shard in a worker thread (activities/embed.ts, for a `threaded` embedder: `hash`): the same
// embedRows as on the activity's thread, with heartbeats posted to the activity and a 'stop' message from it
// (the activity was cancelled) aborting between batches.
import { parentPort, workerData } from 'node:worker_threads';
import { createHashEmbedder } from '../adapters/embedders/hash.js';
import type { JobContext } from '../adapters/trainers/types.js';
import { embedRows, type EmbeddedRows, type EmbedRowsInput } from './embed-rows.js';
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
// `hash` is the one threaded embedder (local, no endpoint or key); only its module is loaded here.
const config = input.args.embedder;
if (config.name !== 'hash') throw new Error(`the embed thread runs the hash embedder, not ${config.name}`);
const result = await embedRows(input, createHashEmbedder(config.dim), ctx);
port.postMessage({ result } satisfies ThreadMessage<EmbeddedRows>);
