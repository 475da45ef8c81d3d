/**
 * Reading a room: its state (all, or one entry), single events under the
 * history visibility rules, its members and joined members.
 */
import type { FastifyRequest } from 'fastify';
import type { JsonObject } from '../../../../core/canonical-json.js';
import { erasedForm, redactedForViewer } from '../../../../core/events/erasure.js';
import { MatrixError } from '../../../../core/errors.js';
import { parseEventId } from '../../../../core/identifiers.js';
import type { RoomEvent } from '../../../roomserver/api.js';
import { ownerOf, type ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { eventAccess, readState, stateView, type StateView } from './access.js';
import { clientEvent } from './client-event.js';
import { fullUser, isLocal, params, query, roomIdParam, V3 } from './common.js';

const MEMBERSHIPS = ['join', 'invite', 'knock', 'leave', 'ban'];

function single(q: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} may be given once`);
  return v;
}

/**
 * `at` of /members: a point in the room's history, as a sync or pagination
 * token (the spec's `prev_batch`; the SyncAPI resolves it to the room's last
 * event there) or, as before tokens existed here, an event id of the room.
 */
async function viewAt(cctx: ClientApiContext, roomId: string, at: string, allowed: StateView): Promise<StateView> {
  let eventId = at;
  if (!parseEventId(at).ok) {
    const resolved = await cctx.syncapi.queryEventAtToken({ room_id: roomId, token: at });
    if (!resolved.valid) throw new MatrixError(400, 'M_INVALID_PARAM', 'at is not a position in this room');
    // Before the room's first event: nobody was a member yet.
    if (!resolved.event_id) return { kind: 'before' };
    eventId = resolved.event_id;
  }
  const [ev] = (await cctx.roomserver.queryEvents({ event_ids: [eventId] })).events;
  if (!ev || ev.room_id !== roomId) throw new MatrixError(400, 'M_INVALID_PARAM', 'at is not a position in this room');
  // A departed member sees no further than when they left.
  if (allowed.kind === 'at') {
    const [left] = (await cctx.roomserver.queryEvents({ event_ids: [allowed.event_id] })).events;
    if (left && ev.pdu.depth > left.pdu.depth) return allowed;
  }
  return { kind: 'at', event_id: eventId };
}

/** The event's bundled aggregations from the SyncAPI, or null (none, or the SyncAPI is away). */
async function bundled(cctx: ClientApiContext, eventId: string, owner: { user_id: string; device_id: string }): Promise<JsonObject | null> {
  try {
    return (await cctx.syncapi.queryBundledRelations({ event_id: eventId, user_id: owner.user_id, device_id: owner.device_id }, { timeoutMs: 2000 })).relations;
  } catch {
    return null;
  }
}

/** An erased local user's event, redacted for a viewer who was not joined when it was sent (core/events/erasure.ts). */
async function asSeenBy(cctx: ClientApiContext, ev: RoomEvent, membership: string): Promise<RoomEvent> {
  if (ev.redacted_because || !redactedForViewer(ev.pdu, membership) || !isLocal(cctx, ev.pdu.sender)) return ev;
  if (!(await cctx.userapi.queryUser({ user_id: ev.pdu.sender }))?.erased) return ev;
  return { ...ev, pdu: erasedForm(ev.pdu, ev.room_version) };
}

export const readRoutes: ClientRoutes = (app, cctx) => {
  const auth = { onRequest: cctx.auth.required };

  app.get(`${V3}/rooms/:roomId/state`, auth, async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const view = await stateView(cctx, roomId, ownerOf(request).user_id);
    const now = Date.now();
    return (await readState(cctx, roomId, view)).map((e) => clientEvent(e, {}, now));
  });

  const getState = async (request: FastifyRequest, stateKey: string) => {
    const roomId = roomIdParam(params(request).roomId);
    const type = params(request).eventType!;
    const format = single(query(request), 'format') ?? 'content';
    if (format !== 'content' && format !== 'event') throw new MatrixError(400, 'M_INVALID_PARAM', 'format must be content or event');
    const view = await stateView(cctx, roomId, ownerOf(request).user_id);
    const [ev] = await readState(cctx, roomId, view, { keys: [[type, stateKey]] });
    if (!ev) throw new MatrixError(404, 'M_NOT_FOUND', `The room has no ${type} state with key "${stateKey}"`);
    return format === 'event' ? clientEvent(ev) : ev.pdu.content;
  };
  app.get(`${V3}/rooms/:roomId/state/:eventType/:stateKey`, auth, async (request) => getState(request, params(request).stateKey ?? ''));
  app.get(`${V3}/rooms/:roomId/state/:eventType`, auth, async (request) => getState(request, ''));

  app.get(`${V3}/rooms/:roomId/event/:eventId`, auth, async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const eventId = params(request).eventId!;
    const notFound = () => new MatrixError(404, 'M_NOT_FOUND', 'Event not found');
    if (!parseEventId(eventId).ok) throw notFound();
    const [ev] = (await cctx.roomserver.queryEvents({ event_ids: [eventId] })).events;
    if (!ev || ev.room_id !== roomId) throw notFound();
    const owner = ownerOf(request);
    const access = await eventAccess(cctx, ev, owner.user_id);
    // Not allowed looks like absent, so events cannot be probed for.
    if (!access.visible) throw notFound();
    const ownTxn = ev.txn && ev.pdu.sender === owner.user_id && ev.txn.device_id === owner.device_id ? ev.txn.txn_id : undefined;
    // prev_content only for a viewer who may see the state event replaced (as the SyncAPI's events give it).
    const replaced = access.replaced && (await eventAccess(cctx, access.replaced, owner.user_id)).visible ? access.replaced : undefined;
    // Bundled aggregations, which the spec asks for here too, are the SyncAPI's; one that is away leaves them out.
    const relations = typeof ev.pdu.state_key === 'string' ? null : await bundled(cctx, eventId, owner);
    return clientEvent(await asSeenBy(cctx, ev, access.membership), {
      membership: access.membership,
      ...(relations ? { 'm.relations': relations } : {}),
      ...(ownTxn !== undefined ? { transaction_id: ownTxn } : {}),
      ...(replaced ? { replaces_state: replaced.event_id, prev_content: replaced.pdu.content } : {}),
    });
  });

  app.get(`${V3}/rooms/:roomId/members`, auth, async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const q = query(request);
    const membership = single(q, 'membership');
    const notMembership = single(q, 'not_membership');
    const at = single(q, 'at');
    for (const [name, v] of [['membership', membership], ['not_membership', notMembership]] as const) {
      if (v !== undefined && !MEMBERSHIPS.includes(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be one of ${MEMBERSHIPS.join(', ')}`);
    }
    let view = await stateView(cctx, roomId, ownerOf(request).user_id);
    if (at !== undefined) view = await viewAt(cctx, roomId, at, view);
    const members = await readState(cctx, roomId, view, { types: ['m.room.member'] });
    // Both given: either condition admits a member (the spec's "or").
    const keep = (e: RoomEvent) => {
      const m = e.pdu.content.membership;
      if (membership === undefined && notMembership === undefined) return true;
      return (membership !== undefined && m === membership) || (notMembership !== undefined && m !== notMembership);
    };
    const now = Date.now();
    return { chunk: members.filter(keep).map((e) => clientEvent(e, {}, now)) };
  });

  app.get(`${V3}/rooms/:roomId/joined_members`, auth, async (request) => {
    // Not among the endpoints the guest access module opens to guests.
    const owner = fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    const { membership } = await cctx.roomserver.queryMembership({ room_id: roomId, user_id: owner.user_id });
    if (membership !== 'join') throw new MatrixError(403, 'M_FORBIDDEN', "You aren't a member of the room");
    const members = (await cctx.roomserver.queryCurrentState({ room_id: roomId, types: ['m.room.member'] })).events;
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const e of members) {
      if (e.pdu.content.membership !== 'join' || typeof e.pdu.state_key !== 'string') continue;
      const { displayname, avatar_url } = e.pdu.content;
      joined[e.pdu.state_key] = {
        ...(typeof displayname === 'string' ? { display_name: displayname } : {}),
        ...(typeof avatar_url === 'string' ? { avatar_url } : {}),
      };
    }
    return { joined };
  });
};
