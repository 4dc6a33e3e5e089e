// Worker-thread entry of the phases that run off the activity's event loop (sample, embed with `hash`): loads the
// TypeScript sources through tsx (as bin/dqe.js does: module hooks of the main thread do not reach a worker
// thread), then runs the module that workerData.main names (relative to this folder).
import { register } from 'tsx/esm/api';
import { URL } from 'node:url';
import { workerData } from 'node:worker_threads';

register();
await import(new URL(workerData.main, import.meta.url).href);
