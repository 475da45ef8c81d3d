/**
 * Joining a room this server knows. Invited users, public rooms and rejoins
 * are plain join events; a restricted room (v8+) is joined without an
 * invite only when one of its allow conditions holds — the user is joined
 * to a listed room — and then a local member who may invite vouches for the
 * join (`join_authorised_via_users_server`), as the auth rules require.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { roomPowers } from '../../../core/auth/power-levels.js';
import { MatrixError } from '../../../core/errors.js';
import { serverNameOf } from '../../../core/identifiers.js';
import type { RoomVersion } from '../../../core/room-versions.js';
import type { RoomEvent, SendEventRequest } from '../api.js';

export interface JoinDeps {
  serverName: string;
  currentState(roomId: string, types?: string[]): Promise<RoomEvent[]>;
  membershipIn(roomId: string, userId: string): Promise<string | null>;
  send(req: SendEventRequest): Promise<{ event_id: string }>;
}

export async function performJoin(deps: JoinDeps, version: RoomVersion, roomId: string, userId: string, extra: JsonObject = {}): Promise<{ event_id: string }> {
  const content: JsonObject = { ...extra, membership: 'join' };
  delete content.join_authorised_via_users_server;
  const state = await deps.currentState(roomId, ['m.room.join_rules', 'm.room.create', 'm.room.power_levels', 'm.room.member']);
  const get = (type: string, key = '') => state.find((e) => e.pdu.type === type && e.pdu.state_key === key);
  const joinRule = get('m.room.join_rules')?.pdu.content.join_rule;
  const current = get('m.room.member', userId)?.pdu.content.membership;
  const restricted = joinRule === 'restricted' || (joinRule === 'knock_restricted' && version.knockRestricted);
  if (restricted && version.restrictedJoins && current !== 'invite' && current !== 'join') {
    const allow = get('m.room.join_rules')!.pdu.content.allow;
    const rooms = Array.isArray(allow) ? allow.filter((a): a is { type: string; room_id: string } => typeof a === 'object' && a !== null && (a as { type?: unknown }).type === 'm.room_membership' && typeof (a as { room_id?: unknown }).room_id === 'string') : [];
    let allowed = false;
    for (const r of rooms) {
      if ((await deps.membershipIn(r.room_id, userId)) === 'join') {
        allowed = true;
        break;
      }
    }
    if (!allowed) throw new MatrixError(403, 'M_FORBIDDEN', 'You are not invited and belong to none of the rooms this room allows joins from');
    const powers = roomPowers(get('m.room.create')?.pdu, get('m.room.power_levels')?.pdu, version);
    const voucher = state.find(
      (e) =>
        e.pdu.type === 'm.room.member' &&
        e.pdu.content.membership === 'join' &&
        typeof e.pdu.state_key === 'string' &&
        serverNameOf(e.pdu.state_key) === deps.serverName &&
        powers.userLevel(e.pdu.state_key) >= powers.level('invite'),
    );
    if (!voucher) throw new MatrixError(403, 'M_FORBIDDEN', 'No member of this server can authorise the join');
    content.join_authorised_via_users_server = voucher.pdu.state_key!;
  }
  return deps.send({ room_id: roomId, sender: userId, type: 'm.room.member', state_key: userId, content });
}
