/**
 * SyncAPIInternal: what other components may ask the SyncAPI. Sync tokens
 * are the SyncAPI's own; the ClientAPI needs one resolved where an endpoint
 * takes a token as a point in a room's history (`GET /members?at=`).
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export interface SyncAPIInternal {
  /**
   * The room's latest timeline event at or before the token's position
   * (null before the room's first event); `valid` is false when the token is
   * not a sync token at all.
   */
  queryEventAtToken(req: { room_id: string; token: string }, ctx?: CallContext): Promise<{ valid: boolean; event_id: string | null }>;
}

export const syncApi = defineApi<SyncAPIInternal>('syncapi', {
  queryEventAtToken: { idempotent: true },
});
