/**
 * Auth events selection (server-server spec "Auth events selection"): the
 * (type, state_key) pairs of room state an event cites in its auth_events.
 */
import type { PDU } from '../events/pdu.js';
import type { RoomVersion } from '../room-versions.js';

export interface StateKeyPair {
  readonly type: string;
  readonly stateKey: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The token of a third-party invite membership, if the event carries one. */
export function thirdPartyInviteToken(event: PDU): string | undefined {
  const invite = event.content?.third_party_invite;
  if (!isObject(invite) || !isObject(invite.signed)) return undefined;
  const token = invite.signed.token;
  return typeof token === 'string' ? token : undefined;
}

/** The pairs `event` needs; the create event needs none. */
export function authEventKeys(event: PDU, version: RoomVersion): StateKeyPair[] {
  if (event.type === 'm.room.create') return [];
  const keys: StateKeyPair[] = [];
  const seen = new Set<string>();
  const add = (type: string, stateKey: string): void => {
    const id = JSON.stringify([type, stateKey]);
    if (seen.has(id)) return;
    seen.add(id);
    keys.push({ type, stateKey });
  };
  // v12: the room id names the create event, so it is never cited.
  if (!version.roomIdIsCreateEventHash) add('m.room.create', '');
  add('m.room.power_levels', '');
  if (typeof event.sender === 'string') add('m.room.member', event.sender);
  if (event.type === 'm.room.member' && typeof event.state_key === 'string') {
    add('m.room.member', event.state_key);
    const membership = event.content?.membership;
    if (membership === 'join' || membership === 'invite' || membership === 'knock') add('m.room.join_rules', '');
    if (membership === 'invite') {
      const token = thirdPartyInviteToken(event);
      if (token !== undefined) add('m.room.third_party_invite', token);
    }
    const authoriser = event.content?.join_authorised_via_users_server;
    if (membership === 'join' && version.restrictedJoins && typeof authoriser === 'string') add('m.room.member', authoriser);
  }
  return keys;
}

/** The events of `state` that `event` should cite, in selection order; absent pairs are skipped. */
export function selectAuthEvents(
  event: PDU,
  state: { get(type: string, stateKey: string): PDU | undefined },
  version: RoomVersion,
): PDU[] {
  const out: PDU[] = [];
  for (const { type, stateKey } of authEventKeys(event, version)) {
    const found = state.get(type, stateKey);
    if (found) out.push(found);
  }
  return out;
}
