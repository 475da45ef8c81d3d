/**
 * GET /notifications: the events that notified the user (push rules said
 * `notify`), newest first, with whether the user has read them since.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../../core/canonical-json.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import { accessFor, serialize } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { actionsOf, userNotifications } from '../notification-records.js';
import { isRead, type ReadPositions } from '../push.js';
import { keys } from '../storage.js';
import { requireToken, token } from '../tokens.js';
import { enumParam, formatFor, intParam, ownerOf, query, single } from './common.js';

export function notificationRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth, readPositions: (userId: string, roomId: string) => Promise<ReadPositions>): void {
  app.get('/_matrix/client/v3/notifications', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const q = query(request);
    const limit = Math.min(intParam(q, 'limit') ?? 20, 100);
    const only = enumParam(q, 'only', ['highlight'] as const);
    const fromText = single(q, 'from');
    const from = fromText ? requireToken(fromText, 'from') : deps.stream.current;
    const out: JsonObject[] = [];
    let next: number | undefined;
    const fmt = formatFor(owner);
    const readByRoom = new Map<string, Promise<ReadPositions>>();
    for await (const n of userNotifications(deps.db, owner.user_id, { upTo: from })) {
      if (only === 'highlight' && !n.highlight) continue;
      const eventId = await deps.db.get<string>(keys.timeline(n.roomId, n.pos));
      const rec = eventId === undefined ? undefined : await deps.events.get(eventId);
      const room = rec && deps.views.room(rec.room_id);
      if (!rec || !room) continue;
      if (out.length === limit) {
        next = n.pos;
        break;
      }
      const [event] = await serialize(deps, accessFor(deps, room, owner.user_id), [rec], fmt, { bundle: false });
      const actions = await actionsOf(deps.db, owner.user_id, n.pos, n);
      // The notification's time is its event's: the notification was made when the event arrived.
      let read = readByRoom.get(rec.room_id);
      if (!read) readByRoom.set(rec.room_id, (read = readPositions(owner.user_id, rec.room_id)));
      out.push({ actions: actions as JsonObject[], event: event!, read: isRead(await read, n.pos, n.thread), room_id: rec.room_id, ts: rec.pdu.origin_server_ts });
    }
    return { notifications: out, ...(next !== undefined ? { next_token: token(next) } : {}) };
  });
}
