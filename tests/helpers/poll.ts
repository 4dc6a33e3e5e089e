// Waits for eventually consistent state (Temporal visibility, a run reaching a step) in tests.

/** How often `until` asks again, in ms. */
const POLL_INTERVAL_MS = 200;

/**
 * Calls `probe` until it returns a value other than undefined, and returns that value; throws with
 * `what` and the last error once `timeoutMs` has passed.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
