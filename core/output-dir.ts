// Run-directory templates: `{workflowId}`, `{scheduleId}` and `{scheduledTime}` in `outputDir`, so
// each run a Temporal Schedule starts writes to a directory of its own without reading the clock.

/** The placeholders `outputDir` may hold. */
export const OUTPUT_DIR_PLACEHOLDERS = ['workflowId', 'scheduleId', 'scheduledTime'] as const;
export type OutputDirPlaceholder = (typeof OUTPUT_DIR_PLACEHOLDERS)[number];

/** The run directory of a scheduled run when the schedule's input sets none (under the worker's working directory). */
export const SCHEDULED_OUTPUT_DIR = 'runs/{scheduleId}/{scheduledTime}';

const PLACEHOLDER = /\{([^{}]*)\}/gu;

/** Placeholder names in `template` that are not in `OUTPUT_DIR_PLACEHOLDERS`, in order of appearance. */
export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(OUTPUT_DIR_PLACEHOLDERS);
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !known.has(name));
}

/**
 * A time as a path segment: ISO 8601 basic format in UTC, to the second (`20261102T030000Z`).
 * Sortable, and free of the colons that some file systems and tools reject.
 */
export function timeSegment(time: Date): string {
  return time.toISOString().replace(/\.\d+Z$/u, 'Z').replace(/[-:]/gu, '');
}

export interface OutputDirValues {
  workflowId: string;
  /** The schedule that started the run (Temporal's `TemporalScheduledById`), if one did. */
  scheduleId?: string | undefined;
  /** The time the run was scheduled for (`TemporalScheduledStartTime`), else when the workflow started. */
  scheduledTime: Date;
}

export type OutputDirResult = { ok: true; dir: string } | { ok: false; message: string };

/** Fills the placeholders of an `outputDir` template; `{scheduleId}` is an error for a run no schedule started. */
export function resolveOutputDir(template: string, values: OutputDirValues): OutputDirResult {
  const unknown = unknownPlaceholders(template);
  if (unknown.length > 0) return { ok: false, message: unknownMessage(unknown) };
  if (template.includes('{scheduleId}') && values.scheduleId === undefined) {
    return { ok: false, message: 'uses {scheduleId}, but this run was not started by a Temporal Schedule' };
  }
  const dir = template
    .replaceAll('{workflowId}', values.workflowId)
    .replaceAll('{scheduleId}', values.scheduleId ?? '')
    .replaceAll('{scheduledTime}', timeSegment(values.scheduledTime));
  return { ok: true, dir };
}

export function unknownMessage(unknown: readonly string[]): string {
  return `unknown placeholder(s) ${unknown.map((u) => `{${u}}`).join(', ')}; valid: ${OUTPUT_DIR_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`;
}
