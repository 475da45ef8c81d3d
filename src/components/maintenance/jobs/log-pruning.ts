/**
 * Append-log pruning: producers prune by themselves every minute; this job
 * makes each prune now through its log admin API and reports where every
 * topic stands, so that a consumer that stopped reading (and holds records
 * back) shows on the dashboard.
 */
import type { ComponentName } from '../../../platform/config/components.js';
import { logAdminApi } from '../../../platform/log/reader-api.js';
import type { JobDefinition } from './types.js';

/** The components that produce topics (those that open a LogProducer). */
export const LOG_PRODUCERS: ComponentName[] = ['roomserver', 'userapi', 'eduserver'];

export const logPruning: JobDefinition = {
  name: 'log-pruning',
  description: 'Deletes append-log records every consumer has read, and reports what each topic keeps.',
  schedule: '17 * * * *',
  async run({ ctx, signal }) {
    let removed = 0;
    let kept = 0;
    const failed: string[] = [];
    for (const producer of LOG_PRODUCERS) {
      try {
        const r = await ctx.apis.get(logAdminApi(producer)).pruneNow({}, { signal, timeoutMs: 120_000 });
        removed += r.removed;
        for (const t of r.topics) kept += Math.max(0, t.last - t.pruned_through);
      } catch (e) {
        failed.push(`${producer}: ${(e as Error).message}`);
      }
    }
    if (failed.length === LOG_PRODUCERS.length) throw new Error(`no producer answered (${failed.join('; ')})`);
    return `${removed} record${removed === 1 ? '' : 's'} pruned; at most ${kept} kept for consumers${failed.length ? `; not reached: ${failed.join('; ')}` : ''}`;
  },
};
