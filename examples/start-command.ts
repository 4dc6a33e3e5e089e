// Prints how to start the example run without dqe's CLI: the Temporal Web UI's Start Workflow form
// (workflow type, task queue, input JSON) and a `temporal workflow start` line, every path absolute.
// `npm run example` prints it after its run; the test suite runs the printed line as a shell would.
//
//   npx tsx examples/start-command.ts [dataset] [--workflow-id ID] [--output-dir DIR]
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startCommand } from '../client/start-command.js';
import { ensureLocalServer, findTemporalCli } from '../infra/temporal.js';
import { REPO_ROOT } from '../infra/python-env.js';
import { CPU_TASK_QUEUE } from '../workers/cpu-worker.js';

export const EXAMPLE_DATASET = resolve(REPO_ROOT, 'examples/data/spam-assassin.jsonl');

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const o = new Command('start-command')
    .description('Print the Web UI input and the `temporal workflow start` line for a dqe run')
    .argument('[dataset]', 'dataset path', EXAMPLE_DATASET)
    .option('--workflow-id <id>', 'workflow id', 'spam-assassin-from-ui')
    .option('--output-dir <dir>', 'run directory; {workflowId} is filled by the workflow', resolve(REPO_ROOT, 'runs/{workflowId}'))
    .parse();
  const { workflowId, outputDir } = o.opts<{ workflowId: string; outputDir: string }>();
  const dataset = resolve(o.processedArgs[0] as string);
  // The same server `dqe run` used: TEMPORAL_ADDRESS, else the local dev server (started if needed).
  const local = process.env.TEMPORAL_ADDRESS ? undefined : await ensureLocalServer((l) => console.error(l));
  const address = process.env.TEMPORAL_ADDRESS ?? local!.address;
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const cmd = startCommand({ temporalCli: resolve(await findTemporalCli()), address, namespace, taskQueue: CPU_TASK_QUEUE, workflowId, input: { dataset, outputDir: resolve(outputDir) } });
  const ui = local ? `${local.uiUrl}/namespaces/${namespace}/workflows` : 'your Temporal Web UI';
  console.log(`
Start a run like this one without dqe's CLI. A worker must poll ${CPU_TASK_QUEUE}; the one above has ended, so in
another terminal: TEMPORAL_ADDRESS=${address} npx dqe worker

From the Web UI (${ui} → Start Workflow): Workflow ID ${workflowId}, Task Queue ${CPU_TASK_QUEUE},
Workflow Type dqe, Input (JSON):
${cmd.inputJson}

From a terminal:
${cmd.shellLine}`);
}
