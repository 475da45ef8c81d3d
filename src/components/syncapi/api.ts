/**
 * SyncAPIInternal: what other components may ask the SyncAPI. Sync tokens
 * are the SyncAPI's own; the ClientAPI needs one resolved where an endpoint
 * takes a token as a point in a room's history (`GET /members?at=`), and
 * the bundled aggregations the SyncAPI keeps for `GET /event`.
 */
import type { JsonObject } from '../../core/canonical-json.js';
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export interface SyncAPIInternal {
  /**
   * The room's latest timeline event at or before the token's position
   * (null before the room's first event); `valid` is false when the token is
   * not a sync token at all.
   */
  queryEventAtToken(req: { room_id: string; token: string }, ctx?: CallContext): Promise<{ valid: boolean; event_id: string | null }>;
  /**
   * An event's bundled aggregations (`unsigned.m.relations`) as the user's
   * device sees them; null when it has none, the user may not see it, or
   * the SyncAPI does not have it yet.
   */
  queryBundledRelations(req: { event_id: string; user_id: string; device_id: string }, ctx?: CallContext): Promise<{ relations: JsonObject | null }>;
}

export const syncApi = defineApi<SyncAPIInternal>('syncapi', {
  queryEventAtToken: { idempotent: true },
  queryBundledRelations: { idempotent: true },
});
