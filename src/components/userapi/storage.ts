/**
 * The UserAPI's key layout in its LevelDB and typed accessors.
 *
 *   ('acct', localpart)                 → AccountRecord (with the profile)
 *   ('dev', user_id, device_id)         → DeviceRecord
 *   ('seen', user_id, device_id)        → LastSeen (written apart: it changes often)
 *   ('at', sha256(access token))        → TokenRecord
 *   ('rt', sha256(refresh token))       → TokenRecord
 *   ('ad', user_id, room_id|'', type)   → account data content ('' = global)
 *   ('filt', user_id, filter_id)        → filter definition
 *   ('pr', user_id)                     → the user's changes to the push rules
 *   ('push', user_id, app_id, pushkey)  → StoredPusher
 *   ('regtok', token)                   → RegistrationTokenRecord
 *   ('oidt', sha256(OpenID token))      → { user_id, expires_at }
 *   ('report', id)                      → ContentReport (ids sort by arrival)
 *   ('meta', 'next_generated')          → counter for generated (guest) localparts
 *
 * Tokens are stored only as their SHA-256: a copy of the database holds no
 * usable credential.
 */
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { Pusher } from './api.js';

export interface AccountRecord {
  localpart: string;
  created_ts: number;
  /** `scrypt$...` (passwords.ts); absent for accounts that cannot log in with a password. */
  password_hash?: string;
  admin?: boolean;
  guest?: boolean;
  deactivated?: boolean;
  /**
   * Deactivated with `erase`: the profile, account data, filters and push
   * rules are gone, and the SyncAPI serves this user's events redacted to
   * anyone who was not in the room when they were sent.
   */
  erased?: boolean;
  /** Locked by an admin: every request but logout answers 401 M_USER_LOCKED (spec "Account locking"). */
  locked?: boolean;
  /** Suspended by an admin: reads go on, joining, inviting, sending and profile changes are refused. */
  suspended?: boolean;
  displayname?: string;
  avatar_url?: string;
  /** Other profile fields (m.tz, custom namespaced keys; spec v1.16). */
  fields?: Record<string, unknown>;
}

export interface DeviceRecord {
  device_id: string;
  display_name?: string;
  created_ts: number;
  /** Hash of the device's current access token. */
  access?: string;
  /** When the current access token stops working (refreshable sessions only). */
  expires_at?: number;
  /** Hash of the device's current refresh token. */
  refresh?: string;
  /**
   * The refresh token that produced the current pair: it stays valid until
   * the new access or refresh token is first used (the client may not have
   * received the new pair).
   */
  prev_refresh?: string;
}

export interface LastSeen {
  ts: number;
  ip?: string;
  user_agent?: string;
}

export interface TokenRecord {
  user_id: string;
  device_id: string;
  expires_at?: number;
}

export interface StoredPusher extends Pusher {
  /** The device that set it: the pusher goes when the device does. */
  device_id: string;
}

export interface RegistrationTokenRecord {
  token: string;
  uses_allowed: number | null;
  expiry_time: number | null;
  completed: number;
}

export const keys = {
  account: (localpart: string) => encodeKey('acct', localpart),
  device: (userId: string, deviceId: string) => encodeKey('dev', userId, deviceId),
  lastSeen: (userId: string, deviceId: string) => encodeKey('seen', userId, deviceId),
  accessToken: (hash: string) => encodeKey('at', hash),
  refreshToken: (hash: string) => encodeKey('rt', hash),
  accountData: (userId: string, roomId: string, type: string) => encodeKey('ad', userId, roomId, type),
  filter: (userId: string, filterId: string) => encodeKey('filt', userId, filterId),
  pushRules: (userId: string) => encodeKey('pr', userId),
  pusher: (userId: string, appId: string, pushkey: string) => encodeKey('push', userId, appId, pushkey),
  registrationToken: (token: string) => encodeKey('regtok', token),
  openIdToken: (hash: string) => encodeKey('oidt', hash),
  report: (id: string) => encodeKey('report', id),
  nextGenerated: () => encodeKey('meta', 'next_generated'),
};

export const put = (key: string, value: unknown): WriteOp => ({ type: 'put', key, value });
export const del = (key: string): WriteOp => ({ type: 'del', key });

export class UserStorage {
  constructor(readonly db: Database) {}

  account(localpart: string): Promise<AccountRecord | undefined> {
    return this.db.get<AccountRecord>(keys.account(localpart));
  }

  /** Every account, in localpart order. */
  accounts(): AsyncGenerator<[string, AccountRecord]> {
    return this.db.iterate<AccountRecord>(prefixRange('acct'));
  }

  device(userId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    return this.db.get<DeviceRecord>(keys.device(userId, deviceId));
  }

  async devices(userId: string): Promise<DeviceRecord[]> {
    return (await this.db.entries<DeviceRecord>(prefixRange('dev', userId))).map(([, d]) => d);
  }

  async lastSeen(userId: string): Promise<Map<string, LastSeen>> {
    const out = new Map<string, LastSeen>();
    for (const [k, v] of await this.db.entries<LastSeen>(prefixRange('seen', userId))) out.set(String(decodeKey(k)[2]), v);
    return out;
  }

  accessToken(hash: string): Promise<TokenRecord | undefined> {
    return this.db.get<TokenRecord>(keys.accessToken(hash));
  }

  refreshToken(hash: string): Promise<TokenRecord | undefined> {
    return this.db.get<TokenRecord>(keys.refreshToken(hash));
  }

  accountData(userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined> {
    return this.db.get<Record<string, unknown>>(keys.accountData(userId, roomId, type));
  }

  async allAccountData(userId: string): Promise<{ room_id: string; type: string; content: Record<string, unknown> }[]> {
    return (await this.db.entries<Record<string, unknown>>(prefixRange('ad', userId))).map(([k, content]) => {
      const [, , roomId, type] = decodeKey(k);
      return { room_id: String(roomId), type: String(type), content };
    });
  }

  async filterKeys(userId: string): Promise<string[]> {
    return this.db.keys(prefixRange('filt', userId));
  }

  async accountDataKeys(userId: string): Promise<string[]> {
    return this.db.keys(prefixRange('ad', userId));
  }

  filter(userId: string, filterId: string): Promise<Record<string, unknown> | undefined> {
    return this.db.get<Record<string, unknown>>(keys.filter(userId, filterId));
  }

  async pushers(userId: string): Promise<StoredPusher[]> {
    return (await this.db.entries<StoredPusher>(prefixRange('push', userId))).map(([, p]) => p);
  }

  /** Every pusher with this app id and pushkey, whoever owns it. */
  async pushersByKey(appId: string, pushkey: string): Promise<{ user_id: string; pusher: StoredPusher }[]> {
    const out: { user_id: string; pusher: StoredPusher }[] = [];
    for await (const [k, p] of this.db.iterate<StoredPusher>(prefixRange('push'))) {
      if (p.app_id === appId && p.pushkey === pushkey) out.push({ user_id: String(decodeKey(k)[1]), pusher: p });
    }
    return out;
  }

  registrationToken(token: string): Promise<RegistrationTokenRecord | undefined> {
    return this.db.get<RegistrationTokenRecord>(keys.registrationToken(token));
  }

  async registrationTokens(): Promise<RegistrationTokenRecord[]> {
    return (await this.db.entries<RegistrationTokenRecord>(prefixRange('regtok'))).map(([, r]) => r);
  }

  async nextGenerated(): Promise<number> {
    return (await this.db.get<number>(keys.nextGenerated())) ?? 1;
  }
}
