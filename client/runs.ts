// Finding dqe runs by their search attributes (`dqe list`), and registering those attributes on a
// Temporal namespace that does not have them yet.
import type { Client } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { DQE_DATASET, DQE_FINAL_SIZE, DQE_PHASE, DQE_SEARCH_ATTRIBUTES, DQE_STATUS, TEMPORAL_SCHEDULED_BY_ID, type DqeMemo } from '../workflows/visibility.js';
import { DQE_WORKFLOW_TYPE } from './api.js';

/** Runs `listDqeRuns` returns unless told otherwise: a screenful, newest first. */
export const DEFAULT_LIST_LIMIT = 50;

export interface ListDqeRunsOptions {
  /** Only runs of this dataset (the path as given in the input). */
  dataset?: string;
  /** Only runs in this dqe status: running, awaiting_review, completed, failed, cancelled. */
  status?: string;
  /** Only runs whose current (or last) phase is this one. */
  phase?: string;
  /** Only runs this schedule started. */
  scheduleId?: string;
  /** Extra Temporal list filter, ANDed with the others, e.g. `DqeFinalSize > 1000`. */
  query?: string;
  /** @default 50 */
  limit?: number;
}

export interface DqeRunListing {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, ... */
  execution: string;
  /** dqe's own status (the DqeStatus search attribute). */
  status: string | undefined;
  phase: string | undefined;
  dataset: string | undefined;
  finalSize: number | undefined;
  scheduleId: string | undefined;
  runDir: string | undefined;
  startTime: Date;
  closeTime: Date | undefined;
}

/** A string literal for Temporal's list filter language. */
function literal(value: string): string {
  return `'${value.replace(/\\/gu, '\\\\').replace(/'/gu, "\\'")}'`;
}

/** The Temporal list filter `listDqeRuns` sends. */
export function dqeRunsQuery(opts: ListDqeRunsOptions = {}): string {
  const clauses = [`WorkflowType = ${literal(DQE_WORKFLOW_TYPE)}`];
  if (opts.dataset !== undefined) clauses.push(`${DQE_DATASET.name} = ${literal(opts.dataset)}`);
  if (opts.status !== undefined) clauses.push(`${DQE_STATUS.name} = ${literal(opts.status)}`);
  if (opts.phase !== undefined) clauses.push(`${DQE_PHASE.name} = ${literal(opts.phase)}`);
  if (opts.scheduleId !== undefined) clauses.push(`${TEMPORAL_SCHEDULED_BY_ID.name} = ${literal(opts.scheduleId)}`);
  if (opts.query !== undefined) clauses.push(`(${opts.query})`);
  return clauses.join(' AND ');
}

/** dqe runs, newest first, filtered by search attributes. Visibility is eventually consistent: a change shows within about a second. */
export async function listDqeRuns(client: Client, opts: ListDqeRunsOptions = {}): Promise<DqeRunListing[]> {
  const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
  const out: DqeRunListing[] = [];
  for await (const w of client.workflow.list({ query: dqeRunsQuery(opts), pageSize: Math.min(limit, 1000) })) {
    const sa = w.typedSearchAttributes;
    const memo = (w.memo ?? {}) as DqeMemo;
    out.push({
      workflowId: w.workflowId,
      runId: w.runId,
      execution: w.status.name,
      status: sa.get(DQE_STATUS),
      phase: sa.get(DQE_PHASE),
      dataset: sa.get(DQE_DATASET) ?? memo.dataset,
      finalSize: sa.get(DQE_FINAL_SIZE),
      scheduleId: sa.get(TEMPORAL_SCHEDULED_BY_ID),
      runDir: memo.runDir,
      startTime: w.startTime,
      closeTime: w.closeTime,
    });
    if (out.length >= limit) break;
  }
  return out;
}

const INDEXED_TYPES = { Keyword: 'KEYWORD', Int: 'INT' } as const;
/** gRPC status codes of a server that will not say which search attributes it has. */
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNIMPLEMENTED = 12;

/**
 * Registers dqe's search attributes on the namespace where they are missing, and returns the names it
 * added. The workflow sets them as it runs; on a namespace without them its workflow tasks would fail.
 * (The dev server dqe starts registers them itself.)
 */
export async function ensureDqeSearchAttributes(client: Client): Promise<string[]> {
  const missing = await missingDqeSearchAttributes(client);
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace: client.options.namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, encodeSearchAttributeIndexedValueType(INDEXED_TYPES[DQE_SEARCH_ATTRIBUTES[name]])!])),
  });
  return missing;
}

/** dqe's search attributes the client's namespace lacks. */
export async function missingDqeSearchAttributes(client: Client): Promise<Array<keyof typeof DQE_SEARCH_ATTRIBUTES>> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  return (Object.keys(DQE_SEARCH_ATTRIBUTES) as Array<keyof typeof DQE_SEARCH_ATTRIBUTES>).filter((name) => !known.has(name));
}

/** Throws, saying how to fix it, when the namespace lacks dqe's search attributes (runs would stall on their first workflow task). */
export async function assertDqeSearchAttributes(client: Client): Promise<void> {
  let missing: string[];
  try {
    missing = await missingDqeSearchAttributes(client);
  } catch (err) {
    // A server that does not let this identity list search attributes (Temporal Cloud's API keys, say): run unchecked.
    const code = (err as { code?: number }).code;
    if (code === GRPC_PERMISSION_DENIED || code === GRPC_UNIMPLEMENTED) return;
    throw err;
  }
  if (missing.length === 0) return;
  const create = missing.map((name) => `--name ${name} --type ${DQE_SEARCH_ATTRIBUTES[name as keyof typeof DQE_SEARCH_ATTRIBUTES]}`).join(' ');
  throw new Error(
    `namespace ${client.options.namespace} lacks dqe's search attribute(s) ${missing.join(', ')}, which every run sets: run \`dqe setup\` once ` +
      `(or \`temporal operator search-attribute create ${create}\`)`,
  );
}
