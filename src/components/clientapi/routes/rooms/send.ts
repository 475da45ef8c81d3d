/**
 * Sending to a room: events with a client transaction id, state events,
 * redactions and room upgrades. The roomserver checks the auth rules and
 * keeps transactions; these routes check what the client-server API adds.
 */
import type { FastifyRequest } from 'fastify';
import { powerLevelsContentProblem } from '../../../../core/auth/power-level-rules.js';
import { roomCreators } from '../../../../core/auth/power-levels.js';
import { canonicalJson, type JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { parseEventId, parseRoomAlias } from '../../../../core/identifiers.js';
import { relationOf } from '../../../../core/push/thread.js';
import { roomVersion } from '../../../../core/room-versions.js';
import type { ClientApiContext } from '../../context.js';
import { ownerOf, refuseIfSuspended } from '../../context.js';
import type { TokenOwner } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { body, eventRoute, fullUser, isLocal, params, reasonOf, roomIdParam, userIdParam, V3 } from './common.js';
import { carryOverRoomSettings } from './predecessor-settings.js';
import { refuseBlockedInvite } from '../../invite-permission.js';
import { refuseNoticeInviteRejection } from '../../server-notices.js';

const CANONICAL = 'm.room.canonical_alias';
const POWER_LEVELS = 'm.room.power_levels';
const GUEST_ACCESS = 'm.room.guest_access';
const TOMBSTONE = 'm.room.tombstone';

function eventIdParam(value: unknown): string {
  if (typeof value !== 'string' || !parseEventId(value).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid event id`);
  return value;
}

/**
 * A thread may not start from an event that has a relation of its own (a
 * thread reply, an edit, a reaction): 400 M_UNKNOWN, as the threading
 * module asks. A root that is unknown here or in another room is not
 * looked at (that would tell what another room holds); the SyncAPI ignores
 * such relations.
 */
async function checkThreadRoot(cctx: ClientApiContext, roomId: string, content: JsonObject): Promise<void> {
  const rel = relationOf(content);
  if (rel?.rel_type !== 'm.thread') return;
  const [root] = (await cctx.roomserver.queryEvents({ event_ids: [rel.event_id] })).events;
  if (!root || root.room_id !== roomId) return;
  if (relationOf(root.pdu.content)?.rel_type !== undefined) throw new MatrixError(400, 'M_UNKNOWN', 'Cannot start a thread from an event with a relation');
}

/** The aliases an m.room.canonical_alias content lists. Malformed fields are M_INVALID_PARAM. */
function listedAliases(content: JsonObject): string[] {
  const out: string[] = [];
  if (content.alias !== undefined) {
    if (typeof content.alias !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'alias must be a string');
    out.push(content.alias);
  }
  if (content.alt_aliases !== undefined) {
    if (!Array.isArray(content.alt_aliases) || content.alt_aliases.some((a) => typeof a !== 'string')) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'alt_aliases must be a list of strings');
    }
    out.push(...(content.alt_aliases as string[]));
  }
  return out;
}

/**
 * New aliases in an m.room.canonical_alias event must be valid and point to
 * the room (the spec's 400 M_INVALID_PARAM / M_BAD_ALIAS). Aliases already
 * in the current event, or being removed, are not checked again.
 */
async function checkCanonicalAlias(cctx: ClientApiContext, roomId: string, content: JsonObject): Promise<void> {
  const [current] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [[CANONICAL, '']] })).events;
  const known = new Set<unknown>(current ? [current.pdu.content.alias, ...(Array.isArray(current.pdu.content.alt_aliases) ? current.pdu.content.alt_aliases : [])] : []);
  for (const alias of listedAliases(content)) {
    if (known.has(alias)) continue;
    if (!parseRoomAlias(alias).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${alias} is not a valid room alias`);
    // Aliases of other servers need a federation query, which is not here yet: they cannot be shown to point here.
    const found = isLocal(cctx, alias) ? await cctx.roomserver.queryRoomAlias({ alias }) : null;
    if (found?.room_id !== roomId) throw new MatrixError(400, 'M_BAD_ALIAS', `The alias ${alias} does not point to this room`);
  }
}

/**
 * Guest access withdrawn: guests in the room leave it (spec, guest access:
 * the server MUST set their membership to leave). Each leaves by their own
 * event; one that fails is logged and the others still go.
 */
async function showGuestsOut(cctx: ClientApiContext, request: FastifyRequest, roomId: string): Promise<void> {
  const members = (await cctx.roomserver.queryCurrentState({ room_id: roomId, types: ['m.room.member'] })).events;
  for (const m of members) {
    const userId = m.pdu.state_key;
    if (typeof userId !== 'string' || m.pdu.content.membership !== 'join' || !isLocal(cctx, userId)) continue;
    if (!(await cctx.userapi.queryUser({ user_id: userId }))?.guest) continue;
    try {
      await cctx.roomserver.sendEvent({ room_id: roomId, sender: userId, type: 'm.room.member', state_key: userId, content: { membership: 'leave' } });
    } catch (err) {
      request.log.warn({ err, roomId, userId }, 'a guest could not be made to leave after guest access was withdrawn');
    }
  }
}

/**
 * Power levels that no sender could ever set (a level that is not an
 * integer where the room version wants one, a v12 creator listed in
 * `users`) are a malformed request, 400 as Synapse answers (Complement
 * checks it), not the 403 the auth rules would give.
 */
async function checkPowerLevelsShape(cctx: ClientApiContext, roomId: string, sender: string, content: JsonObject): Promise<void> {
  // Someone outside the room learns nothing of it here: the auth rules refuse them as before.
  if ((await cctx.roomserver.queryMembership({ room_id: roomId, user_id: sender })).membership !== 'join') return;
  const [create] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [['m.room.create', '']] })).events;
  const version = create ? roomVersion(create.room_version) : undefined;
  if (!create || !version) return;
  const problem = powerLevelsContentProblem(content, version, roomCreators(create.pdu, version));
  if (problem) throw new MatrixError(400, 'M_BAD_JSON', problem);
}

/** A suspended user may redact their own events and send nothing else. */
async function refuseSuspendedSend(cctx: ClientApiContext, owner: TokenOwner, redacts: string | undefined): Promise<void> {
  if (!owner.suspended) return;
  if (redacts !== undefined) {
    const [target] = (await cctx.roomserver.queryEvents({ event_ids: [redacts] })).events;
    if (target?.pdu.sender === owner.user_id) return;
    refuseIfSuspended(owner, "redact other people's events");
  }
  refuseIfSuspended(owner, 'send to rooms');
}

/**
 * Sending an event is a pro-active action for presence (spec "Last active
 * ago": it may be): the user shows as online and active, as Synapse does.
 * Told to the EDUServer at most once a minute per user, after the answer
 * is decided, so a send never waits for it; presence being off costs nothing.
 */
const ACTIVITY_EVERY_MS = 60_000;

function activityNotifier(cctx: ClientApiContext): (userId: string) => void {
  const told = new Map<string, number>();
  return (userId) => {
    if (!cctx.config.presence) return;
    const now = Date.now();
    if (now - (told.get(userId) ?? 0) < ACTIVITY_EVERY_MS) return;
    told.delete(userId);
    told.set(userId, now);
    if (told.size > 10_000) told.delete(told.keys().next().value!);
    // Best effort: an EDUServer that is away misses this mark; the next send tries again.
    cctx.eduserver.markActive({ user_id: userId }).catch(() => told.delete(userId));
  };
}

export const sendRoutes: ClientRoutes = (app, cctx) => {
  const active = activityNotifier(cctx);
  const sendMessage = async (request: FastifyRequest, txnId: string | undefined) => {
    const owner = ownerOf(request);
    const { eventType } = params(request);
    const roomId = roomIdParam(params(request).roomId);
    cctx.limit('send', owner.user_id);
    const content = body(request);
    let redacts: string | undefined;
    // Since v1.18 clients may send redactions here too; the target is in content.redacts.
    if (eventType === 'm.room.redaction') redacts = eventIdParam(content.redacts);
    await refuseSuspendedSend(cctx, owner, redacts);
    await checkThreadRoot(cctx, roomId, content);
    const { event_id } = await cctx.roomserver.sendEvent({
      room_id: roomId,
      sender: owner.user_id,
      type: eventType!,
      content,
      ...(redacts ? { redacts } : {}),
      ...(txnId !== undefined ? { txn: { device_id: owner.device_id, txn_id: txnId } } : {}),
    });
    active(owner.user_id);
    return { event_id };
  };
  app.put(`${V3}/rooms/:roomId/send/:eventType/:txnId`, eventRoute(cctx, 'PUT /rooms/{roomId}/send/{eventType}/{txnId}'), (request) => sendMessage(request, params(request).txnId!));
  // The form before transaction ids, which Synapse still serves and old scripts and SyTest use: each call sends anew.
  app.post(`${V3}/rooms/:roomId/send/:eventType`, eventRoute(cctx, 'PUT /rooms/{roomId}/send/{eventType}/{txnId}'), (request) => sendMessage(request, undefined));

  const putState = async (request: FastifyRequest, stateKey: string) => {
    const owner = ownerOf(request);
    const { eventType } = params(request);
    const roomId = roomIdParam(params(request).roomId);
    refuseIfSuspended(owner, 'change rooms');
    cctx.limit('send', owner.user_id);
    const content = body(request);
    // Only the server names who authorised a restricted join, after checking the room's allow rules:
    // taken from a client, it would let anyone vouch for themselves (Synapse drops it too).
    if (eventType === 'm.room.member') delete content.join_authorised_via_users_server;
    if (eventType === 'm.room.member' && stateKey === owner.user_id && content.membership === 'leave') await refuseNoticeInviteRejection(cctx, roomId, owner.user_id);
    if (eventType === 'm.room.member' && content.membership === 'invite') await refuseBlockedInvite(cctx, stateKey);
    if (eventType === CANONICAL && stateKey === '') await checkCanonicalAlias(cctx, roomId, content);
    if (eventType === POWER_LEVELS && stateKey === '') await checkPowerLevelsShape(cctx, roomId, owner.user_id, content);
    if (eventType === TOMBSTONE && content.replacement_room === roomId) throw new MatrixError(400, 'M_BAD_JSON', 'A room cannot be its own replacement');
    // The same content from the same sender again changes nothing: answer with the event in place (as Synapse does).
    const [current] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [[eventType!, stateKey]] })).events;
    if (current && current.pdu.sender === owner.user_id && !current.redacted_because && canonicalJson(current.pdu.content) === canonicalJson(content)) {
      return { event_id: current.event_id };
    }
    const { event_id } = await cctx.roomserver.sendEvent({ room_id: roomId, sender: owner.user_id, type: eventType!, state_key: stateKey, content });
    if (eventType === GUEST_ACCESS && stateKey === '' && content.guest_access !== 'can_join') await showGuestsOut(cctx, request, roomId);
    return { event_id };
  };
  const stateOpts = eventRoute(cctx, 'PUT /rooms/{roomId}/state/{eventType}/{stateKey}');
  app.put(`${V3}/rooms/:roomId/state/:eventType/:stateKey`, stateOpts, async (request) => putState(request, params(request).stateKey ?? ''));
  // An empty state key: the trailing slash is optional.
  app.put(`${V3}/rooms/:roomId/state/:eventType`, stateOpts, async (request) => putState(request, ''));

  app.put(`${V3}/rooms/:roomId/redact/:eventId/:txnId`, eventRoute(cctx, 'PUT /rooms/{roomId}/redact/{eventId}/{txnId}'), async (request) => {
    const owner = fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    const redacts = eventIdParam(params(request).eventId);
    await refuseSuspendedSend(cctx, owner, redacts);
    cctx.limit('send', owner.user_id);
    // The transaction is scoped to (device, room, m.room.redaction, txn id), shared with /send/m.room.redaction:
    // its id is kept as the client gave it so that the client recognises its echo by `transaction_id`.
    const { event_id } = await cctx.roomserver.sendEvent({
      room_id: roomId,
      sender: owner.user_id,
      type: 'm.room.redaction',
      content: reasonOf(body(request)),
      redacts,
      txn: { device_id: owner.device_id, txn_id: params(request).txnId! },
    });
    return { event_id };
  });

  app.post(`${V3}/rooms/:roomId/upgrade`, eventRoute(cctx, 'POST /rooms/{roomId}/upgrade'), async (request) => {
    const owner = fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    refuseIfSuspended(owner, 'upgrade rooms');
    cctx.limit('send', owner.user_id);
    const b = body(request);
    const newVersion = b.new_version as string;
    if (!roomVersion(newVersion)) throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${newVersion} is not supported`);
    const additional = ((b.additional_creators as unknown[] | undefined) ?? []).map((u) => userIdParam(u, 'additional_creators'));
    const { replacement_room } = await cctx.roomserver.performUpgrade({
      room_id: roomId,
      user_id: owner.user_id,
      new_version: newVersion,
      ...(additional.length > 0 ? { additional_creators: additional } : {}),
    });
    await cctx.roomserver.moveRoomAliases({ from_room_id: roomId, to_room_id: replacement_room, user_id: owner.user_id });
    await carryOverRoomSettings(cctx, request, owner.user_id, replacement_room);
    return { replacement_room };
  });
};
