// Worker-thread entry of the sample phase: loads the TypeScript sources through tsx (as bin/dqe.js does:
// module hooks of the main thread do not reach a worker thread), then runs activities/sample-thread-main.ts.
import { register } from 'tsx/esm/api';

register();
await import('./sample-thread-main.ts');
