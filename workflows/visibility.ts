// The search attributes and memo a dqe run keeps up to date, so `dqe list` and the Temporal Web UI can
// filter runs by dataset, phase, status and final size. Shared by the workflow and the clients.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * A run's status as the `progress` query and the `DqeStatus` search attribute show it.
 * `awaiting_review` = the run waits for `dqe review` (input `review: true`).
 */
export const RUN_STATUSES = ['running', 'awaiting_review', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The dataset path as given in the input. */
export const DQE_DATASET = defineSearchAttributeKey('DqeDataset', SearchAttributeType.KEYWORD);
/** The phase running now (the last one run, once closed). */
export const DQE_PHASE = defineSearchAttributeKey('DqePhase', SearchAttributeType.KEYWORD);
/** One of `RUN_STATUSES`. */
export const DQE_STATUS = defineSearchAttributeKey('DqeStatus', SearchAttributeType.KEYWORD);
/** Rows in final.jsonl, once assembled. */
export const DQE_FINAL_SIZE = defineSearchAttributeKey('DqeFinalSize', SearchAttributeType.INT);

/** Set by Temporal on runs a Schedule starts: the schedule's id and the time the run was scheduled for. */
export const TEMPORAL_SCHEDULED_BY_ID = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);
export const TEMPORAL_SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/**
 * The custom search attributes a Temporal namespace must have registered before dqe runs, as
 * `temporal operator search-attribute create` and `temporal server start-dev --search-attribute` take them.
 */
export const DQE_SEARCH_ATTRIBUTES = { DqeDataset: 'Keyword', DqePhase: 'Keyword', DqeStatus: 'Keyword', DqeFinalSize: 'Int' } as const;

/** The memo of a dqe run: what `dqe list` shows beside the search attributes. */
export interface DqeMemo {
  dataset?: string;
  runDir?: string;
  finalSize?: number;
  kept?: number;
  /** What a failed or cancelled run cleaned up before it closed. */
  cleanup?: string[];
}
