// Bridges activities to Temporal's activity context, and lets the phases run without Temporal too
// (the in-process benchmark calls them directly).
import { Context } from '@temporalio/activity';
import type { JobContext } from '../adapters/trainers/types.js';

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function jobContext(): JobContext {
  const ctx = activityContext();
  if (!ctx) {
    return {
      heartbeat: () => {},
      resumeDetails: undefined,
      signal: new AbortController().signal,
      log: () => {},
    };
  }
  const resumeDetails: unknown = ctx.info.heartbeatDetails;
  return {
    heartbeat: (details) => ctx.heartbeat(details),
    resumeDetails,
    signal: ctx.cancellationSignal,
    log: (message, attrs) => {
      ctx.log.info(message, attrs);
    },
  };
}
