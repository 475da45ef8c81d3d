/**
 * GET /notifications: the events that notified the user (push rules said
 * `notify`), newest first, with whether the user has read them since.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../../core/canonical-json.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import { accessFor, serialize } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { keys, type NotificationRecord } from '../storage.js';
import { requireToken, token } from '../tokens.js';
import { enumParam, formatFor, intParam, ownerOf, query, single } from './common.js';

export function notificationRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth, readUpTo: (userId: string, roomId: string) => Promise<number>): void {
  app.get('/_matrix/client/v3/notifications', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const q = query(request);
    const limit = Math.max(1, Math.min(intParam(q, 'limit') ?? 20, 100));
    const only = enumParam(q, 'only', ['highlight'] as const);
    const fromText = single(q, 'from');
    const from = fromText ? requireToken(fromText, 'from') : deps.stream.current;
    const range = keys.notificationsOf(owner.user_id);
    const out: JsonObject[] = [];
    let next: number | undefined;
    let upTo = from;
    const fmt = formatFor(owner);
    while (next === undefined) {
      const rows = await deps.db.entries<NotificationRecord>({ gt: range.gt, lte: keys.notification(owner.user_id, upTo), reverse: true, limit: 50 });
      if (rows.length === 0) break;
      for (const [k, n] of rows) {
        const pos = Number(decodeKey(k)[2]);
        upTo = pos - 1;
        if (only === 'highlight' && !n.highlight) continue;
        const rec = await deps.events.get(n.event_id);
        const room = rec && deps.views.room(rec.room_id);
        if (!rec || !room) continue;
        if (out.length === limit) {
          next = pos;
          break;
        }
        const [event] = await serialize(deps, accessFor(deps, room, owner.user_id), [rec], fmt, { bundle: false });
        // The notification's time is its event's: the notification was made when the event arrived.
        out.push({ actions: n.actions as JsonObject[], event: event!, read: pos <= (await readUpTo(owner.user_id, rec.room_id)), room_id: rec.room_id, ts: rec.pdu.origin_server_ts });
      }
      if (rows.length < 50) break;
    }
    return { notifications: out, ...(next !== undefined ? { next_token: token(next) } : {}) };
  });
}
