/**
 * ClientAPIInternal: what other components may ask the ClientAPI. Server
 * notices live here (their admin API is the ClientAPI's), and the
 * Maintenance jobs use them to tell the admins what needs them.
 */
import type { JsonObject } from '../../core/canonical-json.js';
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export interface ServerNoticeRequest {
  /** A local user. 404 M_NOT_FOUND for an unknown or deactivated one. */
  user_id: string;
  content: JsonObject;
  /** m.room.message unless given. */
  type?: string;
  /** The same transaction id again sends nothing new and answers with the first event. */
  txn_id?: string;
}

export interface ClientAPIInternal {
  /** A server notice to a user, in their notices room (made and the user invited on first use). */
  sendServerNotice(req: ServerNoticeRequest, ctx?: CallContext): Promise<{ event_id: string }>;
}

export const clientApi = defineApi<ClientAPIInternal>('clientapi', {
  sendServerNotice: {},
});
