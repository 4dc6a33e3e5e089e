// Child-process entry of `dqe worker`'s workflow bundling: loads the TypeScript sources through tsx (as
// bin/dqe.js does), then runs workers/bundle-main.ts.
import { register } from 'tsx/esm/api';

register();
await import('./bundle-main.ts');
