/**
 * Telling the server's admins something by server notice (an update that
 * waits for their consent, say), once per `key`: the message arrives in
 * each admin's server notices room, where their Matrix client shows it.
 */
import type { ApiDirectory } from '../../platform/ipc/directory.js';
import { clientApi } from '../clientapi/api.js';
import { userApi } from '../userapi/api.js';
import type { MaintenanceStorage } from './storage.js';

export interface AdminNotice {
  /** Told once: a second call with the same key tells no one. */
  key: string;
  body: string;
  /** `server_notice_type` (the spec leaves other types than its usage limit to servers). */
  type: string;
}

/** Resolves with how many admins were told (0 when they already were). */
export async function tellAdmins(apis: ApiDirectory, storage: MaintenanceStorage, notice: AdminNotice): Promise<number> {
  if (await storage.told(notice.key)) return 0;
  const { users } = await apis.get(userApi).listUsers({ admins: true, guests: false, limit: 1000 });
  for (const admin of users) {
    // The key is the transaction id too: a run cut short and repeated sends no second message.
    await apis.get(clientApi).sendServerNotice({
      user_id: admin.user_id,
      content: { msgtype: 'm.server_notice', body: notice.body, server_notice_type: notice.type },
      txn_id: notice.key,
    });
  }
  await storage.markTold(notice.key);
  return users.length;
}

/**
 * tellAdmins for a job whose own work stands whatever happens to the
 * notice: what to add to the job's line ("; 2 admins told by server
 * notice", or why they could not be told; nothing when already told).
 */
export async function tellAdminsInLine(apis: ApiDirectory, storage: MaintenanceStorage, notice: AdminNotice): Promise<string> {
  try {
    const told = await tellAdmins(apis, storage, notice);
    return told > 0 ? `; ${admins(told)} told by server notice` : '';
  } catch (err) {
    return `; the admins could not be told (${err instanceof Error ? err.message : String(err)})`;
  }
}

export const admins = (n: number): string => `${n} admin${n === 1 ? '' : 's'}`;
