/**
 * Devices and their tokens: logins, the access-token check every request
 * makes, refresh-token rotation (spec v1.3), logouts and device deletion.
 *
 * A device holds at most one access token and one refresh token. After a
 * refresh, the refresh token that was used stays valid until the new access
 * or refresh token is first used, so that a client that lost the answer can
 * ask again (spec: "Refreshing access tokens").
 */
import { MatrixError } from '../../core/errors.js';
import type { Append } from '../../platform/log/producer.js';
import type { WriteOp } from '../../platform/storage/database.js';
import type { DeviceInfo, LoginResult, NewLogin, TokenAnswer, TokenOwner } from './api.js';
import { localpartOf, type UserServices } from './services.js';
import { del, keys, put, type DeviceRecord, type LastSeen, type TokenRecord } from './storage.js';
import { newDeviceId, newToken, tokenHash } from './tokens.js';
import { deviceChanges } from './topics.js';

/** How long an access token lives when the client takes a refresh token with it. */
export const DEFAULT_ACCESS_TOKEN_LIFETIME_MS = 30 * 60_000;
/** Last-seen data is written at most this often per device: a write per request would wear the SD card. */
const LAST_SEEN_INTERVAL_MS = 60_000;
const TOKEN_CACHE_SIZE = 2048;
export const MAX_DEVICE_ID_LENGTH = 255;
export const MAX_DEVICE_NAME_LENGTH = 255;

interface CachedToken {
  owner: TokenOwner;
  expires_at?: number;
  /** The token came from a refresh and its predecessor refresh token is still valid. */
  fresh?: boolean;
}

/** A prepared change: written by the caller, in one batch with its own ops if it has any. */
export interface Prepared<T> {
  value: T;
  ops: WriteOp[];
  records: Append[];
  /** Token hashes the change revokes (dropped from the cache once written). */
  revoked: string[];
}

export class Sessions {
  private readonly cache = new Map<string, CachedToken>();
  /** Bumped by every revocation: a lookup that overlapped one must not cache what it read. */
  private revocations = 0;
  private readonly lastSeenWritten = new Map<string, number>();

  constructor(
    private readonly svc: UserServices,
    private readonly accessTokenLifetimeMs = DEFAULT_ACCESS_TOKEN_LIFETIME_MS,
  ) {}

  /**
   * Told of every token revocation and change of a token owner's flags,
   * before the call that made it answers: what others keep of tokens (a
   * ClientAPI in another process) goes too. It never throws.
   */
  onForget: () => Promise<void> = async () => {};

  /** Writes a prepared change durably (a client is told it happened) and forgets revoked tokens. */
  async commit<T>(p: Prepared<T>): Promise<T> {
    if (p.ops.length > 0 || p.records.length > 0) await this.svc.producer.write(p.ops, p.records, { durable: true });
    await this.forget(p.revoked);
    return p.value;
  }

  async forget(hashes: string[]): Promise<void> {
    if (hashes.length === 0) return;
    this.revocations++;
    for (const h of hashes) this.cache.delete(h);
    await this.onForget();
  }

  /** Drops every cached token (an account's flags changed). */
  async forgetAll(): Promise<void> {
    this.revocations++;
    this.cache.clear();
    await this.onForget();
  }

  /**
   * A login on an existing account: a new device, or new tokens for an
   * existing one of the same user (its old tokens stop working). Call under
   * the user's lock.
   */
  async prepareLogin(userId: string, login: NewLogin, opts: { lifetimeMs?: number } = {}): Promise<Prepared<LoginResult>> {
    const now = this.svc.now();
    const deviceId = login.device_id ?? newDeviceId();
    if (deviceId === '' || deviceId.length > MAX_DEVICE_ID_LENGTH) throw new MatrixError(400, 'M_INVALID_PARAM', `device_id must be 1 to ${MAX_DEVICE_ID_LENGTH} characters`);
    if (login.display_name !== undefined && login.display_name.length > MAX_DEVICE_NAME_LENGTH) {
      throw new MatrixError(400, 'M_INVALID_PARAM', `initial_device_display_name must be at most ${MAX_DEVICE_NAME_LENGTH} characters`);
    }
    const existing = await this.svc.storage.device(userId, deviceId);
    const ops: WriteOp[] = [];
    const records: Append[] = [];
    const revoked = existing ? this.revokeOps(existing, ops) : [];
    const access = newToken('access');
    const accessHash = tokenHash(access);
    const lifetime = opts.lifetimeMs ?? this.accessTokenLifetimeMs;
    const refresh = login.refresh_token ? newToken('refresh') : undefined;
    const expiresAt = refresh ? now + lifetime : undefined;
    const device: DeviceRecord = {
      device_id: deviceId,
      created_ts: existing?.created_ts ?? now,
      ...(existing?.display_name !== undefined ? { display_name: existing.display_name } : login.display_name !== undefined ? { display_name: login.display_name } : {}),
      access: accessHash,
      ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
      ...(refresh ? { refresh: tokenHash(refresh) } : {}),
    };
    ops.push(put(this.tokenKey('access', accessHash), tokenRecord(userId, deviceId, expiresAt)));
    if (refresh) ops.push(put(keys.refreshToken(tokenHash(refresh)), tokenRecord(userId, deviceId)));
    ops.push(put(keys.device(userId, deviceId), device));
    ops.push(put(keys.lastSeen(userId, deviceId), lastSeen(now, login.ip, login.user_agent)));
    this.lastSeenWritten.set(`${userId}|${deviceId}`, now);
    if (!existing) records.push({ topic: deviceChanges, record: { user_id: userId, device_id: deviceId, change: 'created', ...(device.display_name !== undefined ? { display_name: device.display_name } : {}) } });
    return {
      value: {
        user_id: userId,
        device_id: deviceId,
        access_token: access,
        ...(refresh ? { refresh_token: refresh, expires_in_ms: lifetime } : {}),
      },
      ops,
      records,
      revoked,
    };
  }

  private tokenKey(kind: 'access' | 'refresh', hash: string): string {
    return kind === 'access' ? keys.accessToken(hash) : keys.refreshToken(hash);
  }

  /** Deletes every token of a device; returns the hashes to drop from the cache. */
  private revokeOps(device: DeviceRecord, ops: WriteOp[]): string[] {
    const revoked: string[] = [];
    if (device.access) {
      ops.push(del(keys.accessToken(device.access)));
      revoked.push(device.access);
    }
    if (device.refresh) ops.push(del(keys.refreshToken(device.refresh)));
    if (device.prev_refresh) ops.push(del(keys.refreshToken(device.prev_refresh)));
    return revoked;
  }

  /** The owner of an access token (see UserAPI.queryAccessToken). */
  async queryAccessToken(req: { token: string; ip?: string; user_agent?: string }): Promise<TokenAnswer> {
    const hash = tokenHash(req.token);
    let entry = this.cache.get(hash);
    if (entry) {
      // Most recently used last, so the oldest is first to go.
      this.cache.delete(hash);
      this.cache.set(hash, entry);
    } else {
      const generation = this.revocations;
      const found = await this.lookup(hash);
      if (!found) return { owner: null, soft_logout: false };
      entry = found;
      if (generation === this.revocations) {
        this.cache.set(hash, entry);
        if (this.cache.size > TOKEN_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      }
    }
    const now = this.svc.now();
    if (entry.expires_at !== undefined && now >= entry.expires_at) return { owner: null, soft_logout: true };
    if (entry.fresh) {
      entry.fresh = false;
      await this.firstUseOfRefreshedToken(entry.owner, hash);
    }
    this.touch(entry.owner, now, req.ip, req.user_agent);
    return entry.expires_at !== undefined ? { owner: entry.owner, expires_at: entry.expires_at } : { owner: entry.owner };
  }

  private async lookup(hash: string): Promise<CachedToken | undefined> {
    const rec = await this.svc.storage.accessToken(hash);
    if (!rec) return undefined;
    const localpart = localpartOf(this.svc.serverName, rec.user_id);
    const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
    if (!account || account.deactivated) return undefined;
    let fresh = false;
    if (rec.expires_at !== undefined) {
      const device = await this.svc.storage.device(rec.user_id, rec.device_id);
      fresh = device?.access === hash && device.prev_refresh !== undefined;
    }
    return {
      owner: {
        user_id: rec.user_id,
        device_id: rec.device_id,
        is_guest: account.guest === true,
        is_admin: account.admin === true,
        ...(account.locked ? { locked: true } : {}),
        ...(account.suspended ? { suspended: true } : {}),
      },
      ...(rec.expires_at !== undefined ? { expires_at: rec.expires_at } : {}),
      ...(fresh ? { fresh } : {}),
    };
  }

  /** The new access token is in use: the refresh token that produced it is spent. */
  private firstUseOfRefreshedToken(owner: TokenOwner, hash: string): Promise<void> {
    return this.svc.locks.run(owner.user_id, async () => {
      const device = await this.svc.storage.device(owner.user_id, owner.device_id);
      if (!device || device.access !== hash || !device.prev_refresh) return;
      const { prev_refresh, ...rest } = device;
      // Not durable: should a power cut lose it, the old refresh token lives on until the next use.
      await this.svc.storage.db.write([del(keys.refreshToken(prev_refresh)), put(keys.device(owner.user_id, owner.device_id), rest)]);
    });
  }

  private touch(owner: TokenOwner, now: number, ip?: string, userAgent?: string): void {
    const key = `${owner.user_id}|${owner.device_id}`;
    const last = this.lastSeenWritten.get(key);
    if (last !== undefined && now - last < LAST_SEEN_INTERVAL_MS) return;
    this.lastSeenWritten.set(key, now);
    // Derived, frequent data: not durable, and a failure only loses a timestamp.
    this.svc.storage.db.put(keys.lastSeen(owner.user_id, owner.device_id), lastSeen(now, ip, userAgent)).catch(() => this.lastSeenWritten.delete(key));
  }

  /**
   * Exchanges a refresh token for a new access and refresh token. 401
   * M_UNKNOWN_TOKEN (soft_logout false) for an unknown or spent token.
   */
  async refresh(req: { refresh_token: string; lifetime_ms?: number }): Promise<{ access_token: string; refresh_token: string; expires_in_ms: number }> {
    const hash = tokenHash(req.refresh_token);
    const unknown = () => new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown or already used refresh token', { soft_logout: false });
    const rec = await this.svc.storage.refreshToken(hash);
    if (!rec) throw unknown();
    return this.svc.locks.run(rec.user_id, async () => {
      const device = await this.svc.storage.device(rec.user_id, rec.device_id);
      const localpart = localpartOf(this.svc.serverName, rec.user_id);
      const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
      if (!device || !account || account.deactivated) throw unknown();
      const ops: WriteOp[] = [];
      const revoked: string[] = [];
      let prev: string;
      if (device.refresh === hash) {
        // Normal use: the token before this one is spent now.
        if (device.prev_refresh) ops.push(del(keys.refreshToken(device.prev_refresh)));
        prev = hash;
      } else if (device.prev_refresh === hash) {
        // A repeat: the pair handed out last time was never used; replace it.
        if (device.refresh) ops.push(del(keys.refreshToken(device.refresh)));
        prev = hash;
      } else {
        throw unknown();
      }
      if (device.access) {
        ops.push(del(keys.accessToken(device.access)));
        revoked.push(device.access);
      }
      const now = this.svc.now();
      const lifetime = req.lifetime_ms ?? this.accessTokenLifetimeMs;
      const access = newToken('access');
      const refresh = newToken('refresh');
      const accessHash = tokenHash(access);
      const refreshHash = tokenHash(refresh);
      ops.push(put(keys.accessToken(accessHash), tokenRecord(rec.user_id, rec.device_id, now + lifetime)));
      // Kept until the new pair is first used (see firstUseOfRefreshedToken and the branch above).
      ops.push(put(keys.refreshToken(hash), tokenRecord(rec.user_id, rec.device_id)));
      ops.push(put(keys.refreshToken(refreshHash), tokenRecord(rec.user_id, rec.device_id)));
      ops.push(put(keys.device(rec.user_id, rec.device_id), { ...device, access: accessHash, expires_at: now + lifetime, refresh: refreshHash, prev_refresh: prev }));
      await this.commit({ value: undefined, ops, records: [], revoked });
      return { access_token: access, refresh_token: refresh, expires_in_ms: lifetime };
    });
  }

  /** Deletes devices and their tokens. Call under the user's lock. */
  async prepareDeleteDevices(userId: string, deviceIds: string[] | 'all', except?: string): Promise<Prepared<string[]>> {
    const devices = deviceIds === 'all' ? await this.svc.storage.devices(userId) : (await Promise.all(deviceIds.map((d) => this.svc.storage.device(userId, d)))).filter((d) => d !== undefined);
    const ops: WriteOp[] = [];
    const records: Append[] = [];
    const revoked: string[] = [];
    const deleted: string[] = [];
    const pushers = await this.svc.storage.pushers(userId);
    for (const d of devices) {
      if (d.device_id === except) continue;
      // A logged-out phone must stop receiving pushes.
      for (const p of pushers) if (p.device_id === d.device_id) ops.push(del(keys.pusher(userId, p.app_id, p.pushkey)));
      revoked.push(...this.revokeOps(d, ops));
      ops.push(del(keys.device(userId, d.device_id)), del(keys.lastSeen(userId, d.device_id)));
      this.lastSeenWritten.delete(`${userId}|${d.device_id}`);
      records.push({ topic: deviceChanges, record: { user_id: userId, device_id: d.device_id, change: 'deleted' } });
      deleted.push(d.device_id);
    }
    return { value: deleted, ops, records, revoked };
  }

  deleteDevices(userId: string, deviceIds: string[] | 'all', except?: string): Promise<string[]> {
    return this.svc.locks.run(userId, async () => this.commit(await this.prepareDeleteDevices(userId, deviceIds, except)));
  }

  async devices(userId: string): Promise<DeviceInfo[]> {
    const [devices, seen] = await Promise.all([this.svc.storage.devices(userId), this.svc.storage.lastSeen(userId)]);
    return devices.map((d) => deviceInfo(d, seen.get(d.device_id)));
  }

  async device(userId: string, deviceId: string): Promise<DeviceInfo | null> {
    const d = await this.svc.storage.device(userId, deviceId);
    if (!d) return null;
    const seen = (await this.svc.storage.lastSeen(userId)).get(deviceId);
    return deviceInfo(d, seen);
  }

  /** Renames a device; M_NOT_FOUND when the user has no such device. */
  updateDevice(userId: string, deviceId: string, displayName: string | undefined): Promise<void> {
    if (displayName !== undefined && displayName.length > MAX_DEVICE_NAME_LENGTH) {
      throw new MatrixError(400, 'M_INVALID_PARAM', `display_name must be at most ${MAX_DEVICE_NAME_LENGTH} characters`);
    }
    return this.svc.locks.run(userId, async () => {
      const d = await this.svc.storage.device(userId, deviceId);
      if (!d) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown device');
      if (displayName === undefined || displayName === d.display_name) return;
      await this.svc.producer.write(
        [put(keys.device(userId, deviceId), { ...d, display_name: displayName })],
        [{ topic: deviceChanges, record: { user_id: userId, device_id: deviceId, change: 'updated', display_name: displayName } }],
        { durable: true },
      );
    });
  }
}

function deviceInfo(d: DeviceRecord, seen: LastSeen | undefined): DeviceInfo {
  return {
    device_id: d.device_id,
    ...(d.display_name !== undefined ? { display_name: d.display_name } : {}),
    ...(seen?.ip !== undefined ? { last_seen_ip: seen.ip } : {}),
    ...(seen ? { last_seen_ts: seen.ts } : {}),
    ...(seen?.user_agent !== undefined ? { last_seen_user_agent: seen.user_agent } : {}),
  };
}

function tokenRecord(userId: string, deviceId: string, expiresAt?: number): TokenRecord {
  return { user_id: userId, device_id: deviceId, ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}) };
}

function lastSeen(ts: number, ip?: string, userAgent?: string): LastSeen {
  return { ts, ...(ip !== undefined ? { ip } : {}), ...(userAgent !== undefined ? { user_agent: userAgent.slice(0, 512) } : {}) };
}
