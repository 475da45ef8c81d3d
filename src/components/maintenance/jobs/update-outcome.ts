/**
 * An update the supervisor rolled back (it failed its health window) is
 * told to the admins by server notice, with the reason, once: they may not
 * look at the dashboard, where the same reason is shown. Every five
 * minutes, so a notice that could not be sent yet (the server was still
 * starting) goes out on a later run.
 */
import { updateStatus, type UpdateStatus } from '../../../supervisor/update/index.js';
import { admins, tellAdmins, type AdminNotice } from '../admin-notices.js';
import type { JobDefinition } from './types.js';

/** The notice a recorded update outcome calls for: only a rollback. */
export function rollbackNotice(last: UpdateStatus['last'] | undefined): AdminNotice | undefined {
  if (last?.result !== 'rolled-back') return undefined;
  const version = last.version ?? 'an update';
  return {
    key: `rolled-back-${last.version ?? ''}-${last.at}`,
    type: 'org.neurite.update_rolled_back',
    body: `Neurite ${version} was installed but did not pass its health check, so the previous version was put back by itself${last.reason ? `: ${last.reason}` : '.'} Nothing was lost; the Updates page on the dashboard has the details.`,
  };
}

export const updateOutcome: JobDefinition = {
  name: 'update-outcome',
  description: 'Tells the admins by server notice when an update was rolled back, and why.',
  schedule: '*/5 * * * *',
  async run({ ctx, storage }) {
    const notice = rollbackNotice(updateStatus(ctx.paths.dataDir).last);
    if (!notice) return 'no rollback to tell of';
    const told = await tellAdmins(ctx.apis, storage, notice);
    return told > 0 ? `the rollback was told to ${admins(told)}` : 'the last rollback was told already';
  },
};
