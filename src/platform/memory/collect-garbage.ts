/**
 * A full garbage collection that leaves V8's heap as small as V8's own
 * memory reducer does: the young generation's spare pages given back, old
 * pages compacted. Node's only call for it is the inspector's
 * HeapProfiler.collectGarbage, made here over an in-process session (no
 * port is opened). `gc()` (--expose-gc) is a different, forced collection
 * that keeps every committed page.
 *
 * Why a quiet process needs it: the memory reducer runs its collections
 * soon after a load ends, and garbage made after that (the load's last
 * answers, timers) stayed until the next load.
 */
import type * as Inspector from 'node:inspector';

export function collectGarbage(): Promise<void> {
  // Loaded on first use: most processes are quiet only now and then.
  const { Session } = process.getBuiltinModule('node:inspector') as typeof Inspector;
  const session = new Session();
  session.connect();
  return new Promise((resolve) => {
    // The session is left outside its own callbacks: disconnecting within one never returned.
    const finish = () =>
      setImmediate(() => {
        session.disconnect();
        resolve();
      });
    session.post('HeapProfiler.enable', () => session.post('HeapProfiler.collectGarbage', () => session.post('HeapProfiler.disable', finish)));
  });
}
