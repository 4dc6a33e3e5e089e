// Bundles the workflow code into one file (argv[2]) and exits: `dqe worker` runs it as a child process,
// so webpack's memory (~150 MB) leaves with the child instead of staying in the long-lived worker.
import { writeFile } from 'node:fs/promises';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './workflows-path.js';

const out = process.argv[2];
if (!out) throw new Error('usage: bundle-main.ts <out.js>');
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
await writeFile(out, code);
