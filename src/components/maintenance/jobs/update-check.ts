/**
 * The update check (issue 7): asks the configured update URL for a newer
 * release, downloads and verifies it, and keeps it for the admin's consent
 * in the dashboard (and tells the admins by server notice), or installs it
 * when automatic updates are on. No URL: nothing is asked of anyone.
 */
import { checkForUpdate } from '../../../supervisor/update/index.js';
import { tellAdminsInLine, type AdminNotice } from '../admin-notices.js';
import type { JobDefinition } from './types.js';

/** A release waiting for consent is worth a message: an admin learns of it in their Matrix client, not only on the dashboard. */
const updateNotice = (version: string): AdminNotice => ({
  key: `update-available-${version}`,
  type: 'org.neurite.update_available',
  body: `Neurite ${version} is ready to install. Open the dashboard's Updates page to install it; nothing changes until you do.`,
});

export const updateCheck: JobDefinition = {
  name: 'update-check',
  description: 'Looks for a newer Neurite at the update URL (Updates page); installs it only with your consent, unless automatic updates are on.',
  schedule: '17 4 * * *',
  async run({ ctx, storage }) {
    // The supervisor downloads and installs: this process may not write the slots (privileges.ts).
    const r = await checkForUpdate(ctx.paths.dataDir);
    switch (r.outcome) {
      case 'disabled':
        return 'no update URL is set';
      case 'up-to-date':
        return `up to date (${r.version})`;
      case 'pending':
        return `version ${r.pending.version} is downloaded and verified, waiting for your approval${await tellAdminsInLine(ctx.apis, storage, updateNotice(r.pending.version))}`;
      case 'installed':
        return r.result.message;
    }
  },
};
