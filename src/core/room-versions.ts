/**
 * What differs between room versions 1–12, as data. Every rule that depends
 * on the room version reads one of these flags instead of comparing version
 * strings. Source: the spec's rooms/v1..v12 pages (see
 * test/vectors/room-version-rules.json for the fragment each version uses).
 */

export type EventIdFormat = 'v1' | 'v3' | 'v4';
export type StateResAlgorithm = 'v1' | 'v2' | 'v2.1';
export type RedactionAlgorithm = 'v1' | 'v6' | 'v8' | 'v9' | 'v11';

export interface RoomVersion {
  readonly id: string;
  /** Listed as stable in /capabilities. */
  readonly stable: boolean;
  /** v1: `$local:server` chosen by the origin, prev/auth events as [id, hashes] pairs; v3: reference hash, standard base64; v4+: URL-safe base64. */
  readonly eventIdFormat: EventIdFormat;
  readonly stateRes: StateResAlgorithm;
  readonly redaction: RedactionAlgorithm;
  /** v5+: a signature only counts while the signing key's valid_until_ts covers the event's origin_server_ts. */
  readonly enforceKeyValidity: boolean;
  /** v1–v5: the special auth rule for m.room.aliases events. v6+ drop it. */
  readonly specialCaseAliasesAuth: boolean;
  /** v6+: the `notifications` key of power levels is checked when power levels change. */
  readonly limitNotificationsPowerLevels: boolean;
  /** v6+: events with floats or integers outside ±(2^53−1) are rejected. */
  readonly strictCanonicalJson: boolean;
  /** v7+: `knock` membership and join rule. */
  readonly knocking: boolean;
  /** v8+: `restricted` join rule with `join_authorised_via_users_server`. */
  readonly restrictedJoins: boolean;
  /** v10+: `knock_restricted` join rule. */
  readonly knockRestricted: boolean;
  /** v10+: power level values must be integers, not strings. */
  readonly integerPowerLevels: boolean;
  /** v11+: the create event has no `creator`; its sender is the creator. */
  readonly useSenderAsCreator: boolean;
  /** v11+: `redacts` lives in the content of m.room.redaction. */
  readonly redactsInContent: boolean;
  /** v3+: redaction auth moved out of the auth rules to "handling redactions". */
  readonly redactionCheckedOnReceipt: boolean;
  /** v12: the room id is `!` + the create event's reference hash; the create event has no room_id and is never an auth event. */
  readonly roomIdIsCreateEventHash: boolean;
  /** v12: the create event's sender and `additional_creators` have infinite power. */
  readonly privilegedCreators: boolean;
}

const base = {
  stable: true,
  eventIdFormat: 'v4',
  stateRes: 'v2',
  redaction: 'v9',
  enforceKeyValidity: true,
  specialCaseAliasesAuth: false,
  limitNotificationsPowerLevels: true,
  strictCanonicalJson: true,
  knocking: true,
  restrictedJoins: true,
  knockRestricted: false,
  integerPowerLevels: false,
  useSenderAsCreator: false,
  redactsInContent: false,
  redactionCheckedOnReceipt: true,
  roomIdIsCreateEventHash: false,
  privilegedCreators: false,
} as const;

const pre6 = {
  specialCaseAliasesAuth: true,
  limitNotificationsPowerLevels: false,
  strictCanonicalJson: false,
  knocking: false,
  restrictedJoins: false,
  redaction: 'v1',
} as const;

const v: Record<string, RoomVersion> = {
  '1': { ...base, ...pre6, id: '1', eventIdFormat: 'v1', stateRes: 'v1', enforceKeyValidity: false, redactionCheckedOnReceipt: false },
  '2': { ...base, ...pre6, id: '2', eventIdFormat: 'v1', enforceKeyValidity: false, redactionCheckedOnReceipt: false },
  '3': { ...base, ...pre6, id: '3', eventIdFormat: 'v3', enforceKeyValidity: false },
  '4': { ...base, ...pre6, id: '4', enforceKeyValidity: false },
  '5': { ...base, ...pre6, id: '5' },
  '6': { ...base, id: '6', redaction: 'v6', knocking: false, restrictedJoins: false },
  '7': { ...base, id: '7', redaction: 'v6', restrictedJoins: false },
  '8': { ...base, id: '8', redaction: 'v8' },
  '9': { ...base, id: '9' },
  '10': { ...base, id: '10', knockRestricted: true, integerPowerLevels: true },
  '11': {
    ...base,
    id: '11',
    redaction: 'v11',
    knockRestricted: true,
    integerPowerLevels: true,
    useSenderAsCreator: true,
    redactsInContent: true,
  },
  '12': {
    ...base,
    id: '12',
    redaction: 'v11',
    stateRes: 'v2.1',
    knockRestricted: true,
    integerPowerLevels: true,
    useSenderAsCreator: true,
    redactsInContent: true,
    roomIdIsCreateEventHash: true,
    privilegedCreators: true,
  },
};

export const ROOM_VERSIONS: Readonly<Record<string, RoomVersion>> = Object.freeze(v);
export const DEFAULT_ROOM_VERSION = '12';

export function roomVersion(id: string): RoomVersion | undefined {
  return Object.hasOwn(ROOM_VERSIONS, id) ? ROOM_VERSIONS[id] : undefined;
}
