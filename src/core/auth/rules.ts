/**
 * The authorisation rules of rooms v1–v12, in the spec's order (rooms/v*.md
 * "Authorisation rules"). Version differences come from RoomVersion flags.
 *
 * `checkAuth` judges an event against one set of room state. The rules that
 * look at the literal auth_events list (duplicates, unexpected entries,
 * rejected entries) need that list and are in `checkAuthEventsList`;
 * `checkAuthWithAuthEvents` runs both for the "based on the event's auth
 * events" check on receipt.
 */
import type { PDU } from '../events/pdu.js';
import { isValidUserId, parseEventId, serverNameOf } from '../identifiers.js';
import { roomVersion, type RoomVersion } from '../room-versions.js';
import { checkMembership } from './membership.js';
import { powerLevelsChangeProblem, powerLevelsContentProblem } from './power-level-rules.js';
import { roomPowers } from './power-levels.js';
import { authEventKeys } from './selection.js';
import {
  ALLOW,
  authStateFromEvents,
  deny,
  eventIdOf,
  isObject,
  membershipOf,
  referencedIds,
  type AuthHooks,
  type AuthResult,
  type AuthState,
} from './types.js';

/**
 * Whether `event` is allowed in room state `state`. For v12 rooms `state`
 * must still answer m.room.create (the accepted create event the room id
 * names), although events no longer cite it.
 */
export function checkAuth(event: PDU, state: AuthState, version: RoomVersion, hooks: AuthHooks = {}): AuthResult {
  // Event format, checked before the rules read ids out of the sender.
  if (typeof event.sender !== 'string' || !isValidUserId(event.sender)) return deny('the sender is not a valid user id');
  if (!isObject(event.content)) return deny('the event has no content object');

  if (event.type === 'm.room.create') return checkCreate(event, version);

  const create = state.get('m.room.create', '');
  if (version.roomIdIsCreateEventHash) {
    if (!create) return deny('the create event named by the room id is unknown');
    const createId = eventIdOf(create, hooks);
    if (createId === undefined || !createId.startsWith('$') || event.room_id !== `!${createId.slice(1)}`) {
      return deny('the room id is not the id of the room create event');
    }
  } else if (!create) {
    return deny('no m.room.create event among the auth events');
  }

  for (const { type, stateKey } of authEventKeys(event, version)) {
    const authEvent = state.get(type, stateKey);
    if (authEvent && authEvent.room_id !== event.room_id) return deny(`auth event ${type} ${stateKey} is from another room`);
  }

  if (create.content?.['m.federate'] === false && serverNameOf(event.sender) !== serverNameOf(create.sender)) {
    return deny('the room does not federate and the sender is from another server');
  }

  if (version.specialCaseAliasesAuth && event.type === 'm.room.aliases') {
    if (typeof event.state_key !== 'string') return deny('m.room.aliases needs a state_key');
    if (serverNameOf(event.sender) !== event.state_key) return deny("m.room.aliases state_key is not the sender's server");
    return ALLOW;
  }

  if (event.type === 'm.room.member') return checkMembership(event, state, version, create, hooks);

  if (membershipOf(state, event.sender) !== 'join') return deny(`${event.sender} is not joined to the room`);

  const powers = roomPowers(create, state.get('m.room.power_levels', ''), version);
  const senderLevel = powers.userLevel(event.sender);

  if (event.type === 'm.room.third_party_invite') {
    return senderLevel >= powers.level('invite') ? ALLOW : deny(`${event.sender} is below the invite level`);
  }

  const isState = typeof event.state_key === 'string';
  const required = powers.eventLevel(event.type, isState);
  if (required > senderLevel) return deny(`${event.type} needs level ${required}; ${event.sender} has ${senderLevel}`);

  if (isState && event.state_key!.startsWith('@') && event.state_key !== event.sender) {
    return deny("a state_key starting with @ must be the sender's user id");
  }

  if (event.type === 'm.room.power_levels') {
    const problem = powerLevelsContentProblem(event.content, version, powers.creators);
    if (problem) return deny(problem);
    const current = state.get('m.room.power_levels', '');
    if (!current) return ALLOW;
    const change = powerLevelsChangeProblem(current.content, event.content, event.sender, senderLevel, version);
    return change ? deny(change) : ALLOW;
  }

  if (!version.redactionCheckedOnReceipt && event.type === 'm.room.redaction') {
    return checkRedaction(event, version, hooks, senderLevel >= powers.level('redact'));
  }

  return ALLOW;
}

function checkCreate(event: PDU, version: RoomVersion): AuthResult {
  // m.room.create is a state event with an empty state_key (its schema); anything else is no create event.
  if (event.state_key !== '') return deny('m.room.create needs an empty state_key');
  if (referencedIds(event.prev_events).length > 0) return deny('the create event has prev_events');
  if (version.roomIdIsCreateEventHash) {
    if (event.room_id !== undefined) return deny('the create event has a room_id');
  } else {
    const roomServer = typeof event.room_id === 'string' && event.room_id.startsWith('!') ? serverNameOf(event.room_id) : undefined;
    if (roomServer === undefined || roomServer !== serverNameOf(event.sender)) {
      return deny("the room id's server is not the sender's server");
    }
  }
  const content = event.content;
  if (Object.hasOwn(content, 'room_version')) {
    const id = content.room_version;
    if (typeof id !== 'string' || !roomVersion(id)) return deny('content.room_version is not a known room version');
  }
  if (!version.useSenderAsCreator && !Object.hasOwn(content, 'creator')) return deny('the create event has no content.creator');
  if (version.privilegedCreators && Object.hasOwn(content, 'additional_creators')) {
    const extra = content.additional_creators;
    if (!Array.isArray(extra) || !extra.every((u) => typeof u === 'string' && isValidUserId(u))) {
      return deny('content.additional_creators is not a list of user ids');
    }
  }
  return ALLOW;
}

/** Rooms v1/v2 only: later versions decide redactions when applying them, not in auth. */
function checkRedaction(event: PDU, version: RoomVersion, hooks: AuthHooks, atRedactLevel: boolean): AuthResult {
  const redacts = version.redactsInContent ? event.content.redacts : event.redacts;
  // The rule compares servers of event ids, so a redaction that names no valid event cannot be judged.
  const target = typeof redacts === 'string' ? parseEventId(redacts, version.eventIdFormat) : undefined;
  if (!target?.ok) return deny('the redaction does not name a valid event id');
  if (atRedactLevel) return ALLOW;
  const ownId = eventIdOf(event, hooks);
  const own = ownId === undefined ? undefined : parseEventId(ownId, version.eventIdFormat);
  if (own?.ok && own.value.serverName !== undefined && own.value.serverName === target.value.serverName) return ALLOW;
  return deny("below the redact level, and the redacted event is from another server's event id");
}

/**
 * The rules about the auth_events list itself: no duplicate (type,
 * state_key), nothing the selection algorithm would not pick, no rejected
 * entries. (A missing create event and foreign room ids are caught by
 * `checkAuth`.)
 */
export function checkAuthEventsList(
  event: PDU,
  authEvents: readonly PDU[],
  version: RoomVersion,
  isRejected?: (authEvent: PDU) => boolean,
): AuthResult {
  const expected = new Set(authEventKeys(event, version).map((k) => JSON.stringify([k.type, k.stateKey])));
  const seen = new Set<string>();
  for (const authEvent of authEvents) {
    if (typeof authEvent.state_key !== 'string') return deny(`auth event ${authEvent.type} is not a state event`);
    const key = JSON.stringify([authEvent.type, authEvent.state_key]);
    if (seen.has(key)) return deny(`auth events cite ${authEvent.type} ${authEvent.state_key} twice`);
    seen.add(key);
    if (!expected.has(key)) return deny(`auth event ${authEvent.type} ${authEvent.state_key} is not one the event needs`);
    if (isRejected?.(authEvent)) return deny(`auth event ${authEvent.type} ${authEvent.state_key} was rejected`);
  }
  return ALLOW;
}

export interface AuthEventsOptions {
  /** v12: the create event the room id names (events no longer cite it). */
  readonly create?: PDU;
  readonly isRejected?: (authEvent: PDU) => boolean;
}

/** The check on receipt "based on the event's auth events": list rules, then all rules against those events. */
export function checkAuthWithAuthEvents(
  event: PDU,
  authEvents: readonly PDU[],
  version: RoomVersion,
  hooks: AuthHooks = {},
  options: AuthEventsOptions = {},
): AuthResult {
  if (event.type !== 'm.room.create') {
    const listed = checkAuthEventsList(event, authEvents, version, options.isRejected);
    if (!listed.allowed) return listed;
  }
  const events = version.roomIdIsCreateEventHash && options.create ? [options.create, ...authEvents] : authEvents;
  return checkAuth(event, authStateFromEvents(events), version, hooks);
}
