/**
 * GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]] (with
 * `recurse`, v1.10) and GET /rooms/{roomId}/threads.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../../core/canonical-json.js';
import { MatrixError } from '../../../core/errors.js';
import { erasedForm } from '../../../core/events/erasure.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import { serialize, visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import type { Child } from '../relations.js';
import { keys, type EventRecord, type ThreadRecord } from '../storage.js';
import { requireToken, token } from '../tokens.js';
import { boolParam, enumParam, formatFor, intParam, ownerOf, params, query, readableRoom, roomIdParam, single } from './common.js';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
/** Relations are followed this deep with `recurse` (the spec asks for at least 3). */
const MAX_DEPTH = 3;
/** Children gathered when recursing, at most. */
const MAX_GATHERED = 2000;

function notFound(): MatrixError {
  return new MatrixError(404, 'M_NOT_FOUND', 'Event not found');
}

async function access(deps: SyncDeps, roomId: string, userId: string): Promise<RoomAccess> {
  try {
    return await readableRoom(deps, roomId, userId);
  } catch {
    throw notFound();
  }
}

export function relationRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth): void {
  const relations = async (request: FastifyRequest) => {
    const owner = ownerOf(request);
    const p = params(request);
    const roomId = roomIdParam(p.roomId);
    const a = await access(deps, roomId, owner.user_id);
    const parent = await deps.events.get(p.eventId!);
    if (!parent || parent.room_id !== roomId || parent.pos === 0 || !visible(a, parent)) throw notFound();
    const q = query(request);
    const dir = enumParam(q, 'dir', ['b', 'f'] as const, 'b')!;
    const limit = Math.max(1, Math.min(intParam(q, 'limit') ?? DEFAULT_LIMIT, MAX_LIMIT));
    const fromText = single(q, 'from');
    const toText = single(q, 'to');
    const from = fromText ? requireToken(fromText, 'from') : undefined;
    const to = toText ? requireToken(toText, 'to') : undefined;
    const recurse = boolParam(q, 'recurse');
    const relType = p.relType;
    const eventType = p.eventType;

    // Children, level by level when recursing. The filters apply at every level: an event reached only through
    // one that does not match them is left out (client-server API "Relationships API").
    const matches = (c: Child) => (relType === undefined || c.rel_type === relType) && (eventType === undefined || c.type === eventType);
    const gathered: (Child & { depth: number })[] = [];
    let depthReached = 1;
    let frontier = [parent.event_id];
    for (let depth = 1; depth <= (recurse ? MAX_DEPTH : 1) && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const c of await deps.relations.children(roomId, id, { reverse: false, limit: MAX_GATHERED })) {
          if (!matches(c)) continue;
          gathered.push({ ...c, depth });
          next.push(c.event_id);
        }
      }
      if (next.length > 0) depthReached = depth;
      frontier = gathered.length < MAX_GATHERED ? next : [];
    }
    gathered.sort((x, y) => (dir === 'b' ? y.pos - x.pos : x.pos - y.pos));
    const inRange = gathered.filter((c) =>
      dir === 'b' ? (from === undefined || c.pos <= from) && (to === undefined || c.pos > to) : (from === undefined || c.pos > from) && (to === undefined || c.pos <= to),
    );
    const recs = await deps.events.getMany(inRange.map((c) => c.event_id));
    const page: EventRecord[] = [];
    let more = false;
    let lastPos: number | undefined;
    for (let i = 0; i < inRange.length; i++) {
      const r = recs[i];
      if (!r || r.pos > deps.stream.current || !visible(a, r)) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(r);
      lastPos = r.pos;
    }
    const out: JsonObject = { chunk: await serialize(deps, a, page, formatFor(owner), { bundle: true }) };
    if (more && lastPos !== undefined) out.next_batch = token(dir === 'b' ? lastPos - 1 : lastPos);
    if (fromText) out.prev_batch = fromText;
    // Given at all (false included), the answer says how deep it went.
    if (single(q, 'recurse') !== undefined) out.recursion_depth = depthReached;
    return out;
  };
  app.get('/_matrix/client/v1/rooms/:roomId/relations/:eventId', { onRequest: auth.required }, relations);
  app.get('/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType', { onRequest: auth.required }, relations);
  app.get('/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType/:eventType', { onRequest: auth.required }, relations);

  app.get('/_matrix/client/v1/rooms/:roomId/threads', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const roomId = roomIdParam(params(request).roomId);
    const a = await readableRoom(deps, roomId, owner.user_id);
    const q = query(request);
    const include = enumParam(q, 'include', ['all', 'participated'] as const, 'all')!;
    const asked = intParam(q, 'limit');
    // threads_list.yaml: "Must be an integer greater than zero".
    if (asked === 0) throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be greater than zero');
    const limit = Math.min(asked ?? DEFAULT_LIMIT, MAX_LIMIT);
    const fromText = single(q, 'from');
    const from = fromText ? requireToken(fromText, 'from') : deps.stream.current;
    const range = keys.threadsRange(roomId);
    // A root by a user the viewer ignores is still listed, redacted by its room version's rules (erasedForm), as a
    // client aggregating the thread itself would show it (threads_list.yaml).
    const ignoringNone: RoomAccess = { ...a, ignored: new Set() };
    const page: EventRecord[] = [];
    let next: number | undefined;
    let upTo = from;
    // Thread roots by latest activity, newest first; a root the user may not see (or did not take part in) is skipped.
    for (;;) {
      const rows = await deps.db.entries<string>({ gt: range.gt, lte: keys.threadByLatest(roomId, upTo), reverse: true, limit: 50 });
      if (rows.length === 0) break;
      const roots = await deps.events.getMany(rows.map(([, id]) => id));
      for (let i = 0; i < rows.length && next === undefined; i++) {
        const latest = Number(decodeKey(rows[i]![0])[2]);
        const root = roots[i];
        upTo = latest - 1;
        // The root may be of another room (a relation to it is then invalid): never listed here.
        if (!root || root.room_id !== roomId || !visible(ignoringNone, root)) continue;
        if (include === 'participated') {
          const th = await deps.db.get<ThreadRecord>(keys.thread(roomId, root.event_id));
          if (root.pdu.sender !== owner.user_id && !th?.participants.includes(owner.user_id)) continue;
        }
        if (page.length === limit) {
          next = latest;
          break;
        }
        page.push(a.ignored.has(root.pdu.sender) ? { ...root, pdu: erasedForm(root.pdu, root.room_version) } : root);
      }
      if (next !== undefined || rows.length < 50) break;
    }
    const out: JsonObject = { chunk: await serialize(deps, a, page, formatFor(owner), { bundle: true }) };
    if (next !== undefined) out.next_batch = token(next);
    return out;
  });
}
