/**
 * The auth rule for m.room.power_levels events (rule 10 in v1/v2, 9 in
 * v3–v11, 10 in v12): shape checks, then what a sender may change.
 */
import { isValidUserId } from '../identifiers.js';
import type { RoomVersion } from '../room-versions.js';
import { LEVEL_PROPERTIES, parseLevel, readPowerLevels } from './power-levels.js';
import { isObject } from './types.js';

function allValuesAreLevels(value: unknown, version: RoomVersion): boolean {
  if (!isObject(value)) return false;
  return Object.values(value).every((v) => parseLevel(v, version) !== undefined);
}

/** Why `content` is not an acceptable power levels content, or undefined when it is. */
export function powerLevelsContentProblem(
  content: Record<string, unknown>,
  version: RoomVersion,
  creators: ReadonlySet<string>,
): string | undefined {
  if (version.integerPowerLevels) {
    for (const prop of LEVEL_PROPERTIES) {
      if (Object.hasOwn(content, prop) && parseLevel(content[prop], version) === undefined) {
        return `power levels: ${prop} is not an integer`;
      }
    }
    for (const prop of ['events', 'notifications'] as const) {
      if (Object.hasOwn(content, prop) && !allValuesAreLevels(content[prop], version)) {
        return `power levels: ${prop} is not an object of integers`;
      }
    }
  }
  // An absent `users` is no users; only a present one must be well formed.
  if (Object.hasOwn(content, 'users')) {
    const users = content.users;
    if (!isObject(users)) return 'power levels: users is not an object';
    for (const [userId, value] of Object.entries(users)) {
      if (!isValidUserId(userId)) return `power levels: users has an invalid user id ${JSON.stringify(userId)}`;
      if (parseLevel(value, version) === undefined) return `power levels: the level of ${userId} is not an integer`;
      if (version.privilegedCreators && creators.has(userId)) return `power levels: room creator ${userId} cannot be listed in users`;
    }
  }
  return undefined;
}

/**
 * Why `sender` (at `senderLevel`) may not replace power levels `before` with
 * `after`, or undefined when the change is within their power. Values are
 * compared as levels, so `"50"` → `50` is no change.
 */
export function powerLevelsChangeProblem(
  before: unknown,
  after: unknown,
  sender: string,
  senderLevel: number,
  version: RoomVersion,
): string | undefined {
  const old = readPowerLevels(before, version);
  const next = readPowerLevels(after, version);

  for (const prop of LEVEL_PROPERTIES) {
    const was = old.levels[prop];
    const now = next.levels[prop];
    if (was === now) continue;
    if (was !== undefined && was > senderLevel) return `power levels: ${prop} was ${was}, above the sender's ${senderLevel}`;
    if (now !== undefined && now > senderLevel) return `power levels: ${prop} set to ${now}, above the sender's ${senderLevel}`;
  }

  const maps = version.limitNotificationsPowerLevels ? (['events', 'notifications'] as const) : (['events'] as const);
  for (const name of maps) {
    const was = old[name];
    const now = next[name];
    for (const key of new Set([...was.keys(), ...now.keys()])) {
      const a = was.get(key);
      const b = now.get(key);
      if (a === b) continue;
      if (a !== undefined && a > senderLevel) return `power levels: ${name}[${key}] was ${a}, above the sender's ${senderLevel}`;
      if (b !== undefined && b > senderLevel) return `power levels: ${name}[${key}] set to ${b}, above the sender's ${senderLevel}`;
    }
  }

  for (const userId of new Set([...old.users.keys(), ...next.users.keys()])) {
    const a = old.users.get(userId);
    const b = next.users.get(userId);
    if (a === b) continue;
    // Lowering or raising someone else needs strictly more power than they had.
    if (a !== undefined && userId !== sender && a >= senderLevel) {
      return `power levels: ${userId} was at ${a}, not below the sender's ${senderLevel}`;
    }
    if (b !== undefined && b > senderLevel) return `power levels: ${userId} set to ${b}, above the sender's ${senderLevel}`;
  }
  return undefined;
}
