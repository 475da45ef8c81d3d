/**
 * GET /rooms/{roomId}/timestamp_to_event: the room's event closest to a
 * timestamp in one direction (`f`: the earliest at or after it, `b`: the
 * latest at or before it) among the events the requester may see, from
 * local data only. Read from the timestamp index (search-index.ts), or by
 * a bounded walk of the timeline while an old database is being indexed.
 */
import type { FastifyInstance } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import { visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { searchKeys } from '../search-index.js';
import type { EventRecord } from '../storage.js';
import { readableUpTo } from './history.js';
import { intParam, ownerOf, params, query, readableRoom, roomIdParam, single } from './common.js';

/** Index entries looked at before answering that there is none (events the user may not see). */
const MAX_LOOKED = 5000;
/** Timeline events walked while the index is being built. */
const FALLBACK_SCAN = 20_000;
const CHUNK = 64;

type Dir = 'f' | 'b';

/** Better when closer to the timestamp; equal timestamps: the earlier event forwards, the later backwards. */
function better(dir: Dir, x: EventRecord, best: EventRecord | undefined): boolean {
  if (!best) return true;
  const a = x.pdu.origin_server_ts;
  const b = best.pdu.origin_server_ts;
  if (a !== b) return dir === 'f' ? a < b : a > b;
  return dir === 'f' ? x.pos < best.pos : x.pos > best.pos;
}

async function fromIndex(deps: SyncDeps, a: RoomAccess, ts: number, dir: Dir, upper: number): Promise<EventRecord | undefined> {
  const range = searchKeys.tsRange(a.room.id);
  // Forwards from the first key at ts; backwards from below the first key after ts.
  let bound = searchKeys.tsFrom(a.room.id, dir === 'f' ? ts : ts + 1);
  let first = true;
  let looked = 0;
  while (looked < MAX_LOOKED) {
    const rows =
      dir === 'f'
        ? await deps.db.entries<string>({ ...(first ? { gte: bound } : { gt: bound }), lt: range.lt, limit: CHUNK })
        : await deps.db.entries<string>({ gt: range.gt, lt: bound, reverse: true, limit: CHUNK });
    first = false;
    if (rows.length === 0) return undefined;
    const recs = await deps.events.getMany(rows.map(([, id]) => id));
    for (let i = 0; i < rows.length; i++) {
      looked++;
      const pos = Number(decodeKey(rows[i]![0])[3]);
      const rec = recs[i];
      if (rec && rec.pos === pos && pos <= upper && visible(a, rec)) return rec;
    }
    bound = rows[rows.length - 1]![0];
    if (rows.length < CHUNK) return undefined;
  }
  return undefined;
}

async function fromTimeline(deps: SyncDeps, a: RoomAccess, ts: number, dir: Dir, upper: number): Promise<EventRecord | undefined> {
  let best: EventRecord | undefined;
  await deps.timeline.scan(a.room, {
    after: 0,
    upTo: upper,
    reverse: true,
    want: 1,
    cap: FALLBACK_SCAN,
    accept: (rec) => {
      const t = rec.pdu.origin_server_ts;
      if ((dir === 'f' ? t >= ts : t <= ts) && visible(a, rec) && better(dir, rec, best)) best = rec;
      return false;
    },
  });
  return best;
}

export function timestampRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth): void {
  app.get('/_matrix/client/v1/rooms/:roomId/timestamp_to_event', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const roomId = roomIdParam(params(request).roomId);
    const q = query(request);
    const ts = intParam(q, 'ts');
    if (ts === undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'ts is required: a timestamp in milliseconds');
    const dir = single(q, 'dir');
    if (dir !== 'f' && dir !== 'b') throw new MatrixError(400, 'M_INVALID_PARAM', 'dir must be f or b');
    const a = await readableRoom(deps, roomId, owner.user_id);
    const upper = readableUpTo(deps, a);
    const rec = deps.search.ready ? await fromIndex(deps, a, ts, dir, upper) : await fromTimeline(deps, a, ts, dir, upper);
    if (!rec) throw new MatrixError(404, 'M_NOT_FOUND', `Unable to find event from ${ts} in ${dir === 'f' ? 'forward' : 'backward'} direction`);
    return { event_id: rec.event_id, origin_server_ts: rec.pdu.origin_server_ts };
  });
}
