// The `dqeEval` workflow (`dqe eval`): splits the dataset, curates the training part with the dqe
// workflow as a child, trains the three arms (full / DQE / random) where the run's trainer runs (swift
// on the GPU queue), runs the cleanlab baseline, and scores them. Deterministic: activities do all I/O.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { ArmRun, CleanlabRun } from '../activities/evaluate.js';
import { ARMS, type EvalInput, type Evaluation } from '../core/evaluation.js';
import { formatProblems, parseDqeInput } from '../core/input.js';
import { COMPUTE, dqe, failure, FILES, profile, trainerActivities } from './dqe.js';

/** The dqe run's workflow id: the evaluation's, with this suffix, so the UI shows them side by side. */
export const EVAL_DQE_SUFFIX = '-dqe';

/** Workflow type `dqeEval`: evaluates DQE on one dataset; the result is also `<outputDir>/evaluation.json`. */
export async function dqeEval(input: EvalInput): Promise<Evaluation> {
  const started = Date.now();
  // The first activity checks the input (it reads the files the input names) and fails the evaluation on a bad one.
  // Reading and writing whole files heartbeats nowhere: these keep the profile's own heartbeat timeout.
  const files = profile(FILES, undefined);
  const split = await files.splitEvaluation(input);
  const parsed = parseDqeInput(split.dqeInput);
  // splitEvaluation checked it; a worker of another version might not have.
  if (!parsed.ok) throw failure('DqeInvalidInput', formatProblems(parsed.problems), parsed.problems);
  const config = parsed.config;
  const compute = profile(COMPUTE, config.heartbeatTimeoutSeconds);

  await executeChild(dqe, { workflowId: `${workflowInfo().workflowId}${EVAL_DQE_SUFFIX}`, args: [split.dqeInput] });

  const layout = await compute.layOutArms(input);
  // One arm after another: on the GPU queue each owns the node; on CPUs each uses every core.
  const trainer = trainerActivities(config, compute);
  const arms: ArmRun[] = [];
  for (const arm of ARMS) arms.push(await trainer.trainArm({ layout, arm, seed: config.seed }));
  const cleanlab: CleanlabRun | null = input.injectNoise !== undefined && (input.cleanlab ?? true) ? await compute.compareCleanlab(input) : null;
  return files.finishEvaluation({ input, split, layout, arms, cleanlab, seconds: (Date.now() - started) / 1000 });
}
