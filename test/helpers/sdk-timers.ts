/**
 * matrix-js-sdk arms a timer per request (its local timeout) and never
 * clears it; once the clients stop, those timers alone would keep a test
 * process alive. They guard nothing a test waits for, so the long ones are
 * unref'd. Import this module first in a test that runs SDK clients.
 */
/** The untouched setTimeout, for a helper's own timers that must keep the process alive. */
export const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = realSetTimeout(fn, ms, ...(args as []));
  if ((ms ?? 0) >= 10_000) timer.unref();
  return timer;
}) as typeof setTimeout;

/** For tests whose SDK loops leave other handles behind: end the process two seconds after teardown. */
export function exitSoonAfter(t: { teardown(fn: () => void): void }): void {
  t.teardown(() => {
    realSetTimeout(() => process.exit(), 2000).unref();
  });
}
