/**
 * Power levels as each room version reads them (client-server spec
 * m.room.power_levels; rooms/v1 "stringy" and "floaty" fragments; v10
 * integer-only values; v12 room creators with infinite power).
 */
import type { PDU } from '../events/pdu.js';
import type { RoomVersion } from '../room-versions.js';

/** The single-valued properties; the auth rules check each of them for changes. */
export const LEVEL_PROPERTIES = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const;
export type LevelProperty = (typeof LEVEL_PROPERTIES)[number];

/** Defaults when a property is absent, or when the room has no power levels event. */
export const LEVEL_DEFAULTS: Readonly<Record<LevelProperty, number>> = Object.freeze({
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  redact: 50,
  kick: 50,
  invite: 0,
});

/** `notifications.room` defaults to 50; the spec names no default for other keys. */
export const NOTIFICATION_DEFAULTS: Readonly<Record<string, number>> = Object.freeze({ room: 50 });

/** Before power levels exist, rooms v1–v11 give their creator this level. */
export const IMPLICIT_CREATOR_LEVEL = 100;

// Optional sign and surrounding whitespace, base 10 digits only (the "stringy" fragment).
const INTEGER_STRING = /^\s*[+-]?[0-9]+\s*$/;

/**
 * One power level value under the version's rules, or undefined when the
 * value is not a level there: v1–v5 truncate floats, v1–v9 accept integer
 * strings, v10+ accept only integers.
 */
export function parseLevel(value: unknown, version: RoomVersion): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    if (Number.isInteger(value)) {
      // Strict canonical JSON (v6+) bounds integers; older rooms keep whatever the number is.
      if (version.strictCanonicalJson && !Number.isSafeInteger(value)) return undefined;
      return value === 0 ? 0 : value;
    }
    // Floats can only occur where canonical JSON is not enforced (v1–v5), which truncates them.
    if (version.strictCanonicalJson) return undefined;
    const truncated = Math.trunc(value);
    return truncated === 0 ? 0 : truncated;
  }
  if (typeof value === 'string' && !version.integerPowerLevels && INTEGER_STRING.test(value)) {
    const n = Number(value.trim());
    // Beyond 2^53 a decimal string no longer names one number, so it is not a usable level.
    return Number.isSafeInteger(n) ? (n === 0 ? 0 : n) : undefined;
  }
  return undefined;
}

/** The content of an m.room.power_levels event with every valid value read; invalid values count as absent. */
export interface PowerLevelsContent {
  readonly levels: Readonly<Record<LevelProperty, number | undefined>>;
  readonly events: ReadonlyMap<string, number>;
  readonly notifications: ReadonlyMap<string, number>;
  readonly users: ReadonlyMap<string, number>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readLevelMap(value: unknown, version: RoomVersion): Map<string, number> {
  const out = new Map<string, number>();
  if (!isObject(value)) return out;
  for (const [key, raw] of Object.entries(value)) {
    const level = parseLevel(raw, version);
    if (level !== undefined) out.set(key, level);
  }
  return out;
}

// Parsing is memoised per content object: state resolution asks about the
// same few power levels events for every event it sorts or checks.
const parsedCache = new WeakMap<object, { versionId: string; value: PowerLevelsContent }>();

export function readPowerLevels(content: unknown, version: RoomVersion): PowerLevelsContent {
  const obj = isObject(content) ? content : {};
  const cached = parsedCache.get(obj);
  if (cached && cached.versionId === version.id) return cached.value;
  const levels = {} as Record<LevelProperty, number | undefined>;
  for (const prop of LEVEL_PROPERTIES) levels[prop] = Object.hasOwn(obj, prop) ? parseLevel(obj[prop], version) : undefined;
  const value: PowerLevelsContent = {
    levels,
    events: readLevelMap(obj.events, version),
    notifications: readLevelMap(obj.notifications, version),
    users: readLevelMap(obj.users, version),
  };
  parsedCache.set(obj, { versionId: version.id, value });
  return value;
}

/** The user the create event names as creator: `content.creator` before v11, the sender from v11. */
export function originalCreator(create: PDU | undefined, version: RoomVersion): string | undefined {
  if (!create) return undefined;
  if (version.useSenderAsCreator) return create.sender;
  const creator = create.content?.creator;
  return typeof creator === 'string' ? creator : undefined;
}

/** Room creators: the original creator, plus `additional_creators` where creators are privileged (v12). */
export function roomCreators(create: PDU | undefined, version: RoomVersion): ReadonlySet<string> {
  const out = new Set<string>();
  const creator = originalCreator(create, version);
  if (creator !== undefined) out.add(creator);
  if (create && version.privilegedCreators) {
    const extra = create.content?.additional_creators;
    if (Array.isArray(extra)) for (const u of extra) if (typeof u === 'string') out.add(u);
  }
  return out;
}

/** Levels in effect for a room, given its create and (optional) power levels events. */
export interface RoomPowers {
  readonly creators: ReadonlySet<string>;
  /** The parsed power levels content, or undefined when the room has none. */
  readonly content: PowerLevelsContent | undefined;
  /** Infinity for v12 creators. */
  userLevel(userId: string): number;
  /** `events[type]`, else `state_default` or `events_default`. */
  eventLevel(type: string, isState: boolean): number;
  /** A single-valued property with its default. */
  level(prop: LevelProperty): number;
  notificationLevel(key: string): number | undefined;
}

export function roomPowers(create: PDU | undefined, powerLevels: PDU | undefined, version: RoomVersion): RoomPowers {
  const creators = roomCreators(create, version);
  const content = powerLevels ? readPowerLevels(powerLevels.content, version) : undefined;
  const level = (prop: LevelProperty): number => content?.levels[prop] ?? LEVEL_DEFAULTS[prop];
  return {
    creators,
    content,
    level,
    userLevel(userId) {
      if (version.privilegedCreators && creators.has(userId)) return Infinity;
      if (content) return content.users.get(userId) ?? level('users_default');
      return creators.has(userId) ? IMPLICIT_CREATOR_LEVEL : LEVEL_DEFAULTS.users_default;
    },
    eventLevel(type, isState) {
      return content?.events.get(type) ?? level(isState ? 'state_default' : 'events_default');
    },
    notificationLevel(key) {
      return content?.notifications.get(key) ?? (Object.hasOwn(NOTIFICATION_DEFAULTS, key) ? NOTIFICATION_DEFAULTS[key] : undefined);
    },
  };
}
