/**
 * SyncAPIInternal: what other components may ask the SyncAPI. Sync tokens
 * are the SyncAPI's own; the ClientAPI needs one resolved where an endpoint
 * takes a token as a point in a room's history (`GET /members?at=`).
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export interface SyncAPIInternal {
  /**
   * The room's latest timeline event at or before the token's position;
   * null when the token is not a sync token or the room has no event there.
   */
  queryEventAtToken(req: { room_id: string; token: string }, ctx?: CallContext): Promise<{ event_id: string | null }>;
}

export const syncApi = defineApi<SyncAPIInternal>('syncapi', {
  queryEventAtToken: { idempotent: true },
});
