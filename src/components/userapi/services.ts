/** What the UserAPI's parts share: storage, the log, the clock, per-user locks. */
import { MatrixError } from '../../core/errors.js';
import { parseUserId } from '../../core/identifiers.js';
import type { LogProducer } from '../../platform/log/producer.js';
import type { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import type { UserStorage } from './storage.js';

export interface UserServices {
  serverName: string;
  storage: UserStorage;
  producer: LogProducer;
  /** Serialises changes to one user's records (key: user id). */
  locks: KeyedQueue;
  now: () => number;
}

export function userIdOf(serverName: string, localpart: string): string {
  return `@${localpart}:${serverName}`;
}

/** The localpart of a user id of this server, or undefined for another server's or a malformed id. */
export function localpartOf(serverName: string, userId: string): string | undefined {
  const parsed = parseUserId(userId, 'historical');
  if (!parsed.ok || parsed.value.serverName !== serverName) return undefined;
  return parsed.value.localpart;
}

/** Like localpartOf, for ids the caller must have checked: a foreign id here is a bug or a forged request. */
export function requireLocal(serverName: string, userId: string): string {
  const local = localpartOf(serverName, userId);
  if (local === undefined) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is not a user of this server`);
  return local;
}
