/**
 * `/keys/query` and `/keys/claim`: local users from the stores, remote users
 * one request per server through RemoteKeys (failures per server).
 */
import { MatrixError } from '../../core/errors.js';
import { isValidUserId, serverNameOf } from '../../core/identifiers.js';
import type { ClaimKeysRequest, ClaimKeysResponse, DeviceKeys, QueryKeysRequest, QueryKeysResponse } from './api.js';
import type { CrossSigning } from './cross-signing.js';
import type { DeviceKeyStore } from './device-keys.js';
import { byServer, type RemoteKeys } from './remote.js';
import { crossSigningPublicKey } from './validate.js';

/** A user's devices (id and display name) as the UserAPI has them now. */
export type DevicesOf = (userId: string) => Promise<{ device_id: string; display_name?: string }[]>;

const DEFAULT_REMOTE_TIMEOUT_MS = 10_000;

function checkUsers(map: unknown, what: string): void {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new MatrixError(400, 'M_BAD_JSON', `${what} must be an object`);
  for (const userId of Object.keys(map)) {
    if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `${what}: ${userId} is not a user id`);
  }
}

export class KeyQueries {
  constructor(
    private readonly serverName: string,
    private readonly devices: DeviceKeyStore,
    private readonly crossSigning: CrossSigning,
    private readonly devicesOf: DevicesOf,
    private readonly remote: RemoteKeys,
  ) {}

  async query(req: QueryKeysRequest): Promise<QueryKeysResponse> {
    checkUsers(req.device_keys, 'device_keys');
    for (const [userId, ids] of Object.entries(req.device_keys)) {
      if (!Array.isArray(ids) || ids.some((d) => typeof d !== 'string')) throw new MatrixError(400, 'M_BAD_JSON', `device_keys: ${userId} must map to a list of device ids`);
    }
    const out: QueryKeysResponse = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures: {} };
    const timeout = Math.min(Math.max(req.timeout_ms ?? DEFAULT_REMOTE_TIMEOUT_MS, 0), 60_000);
    await Promise.all(
      [...byServer(req.device_keys, serverNameOf)].map(async ([server, users]) => {
        if (server === this.serverName) {
          await Promise.all(Object.entries(users).map(([userId, ids]) => this.queryLocal(req.requester, userId, ids, out)));
          return;
        }
        try {
          const r = await this.remote.query(server, users, timeout);
          // Only what was asked for, and only of that server's users: a remote answer cannot speak for others.
          for (const userId of Object.keys(users)) {
            if (r.device_keys[userId]) out.device_keys[userId] = r.device_keys[userId]!;
            if (r.master_keys?.[userId]) out.master_keys[userId] = r.master_keys[userId]!;
            if (r.self_signing_keys?.[userId]) out.self_signing_keys[userId] = r.self_signing_keys[userId]!;
          }
        } catch (e) {
          out.failures[server] = { error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    return out;
  }

  private async queryLocal(requester: string, userId: string, ids: string[], out: QueryKeysResponse): Promise<void> {
    // The UserAPI's device list decides which devices exist: keys of a device deleted a moment ago are not shown.
    const devices = await this.devicesOf(userId);
    const wanted = ids.length === 0 ? devices : devices.filter((d) => ids.includes(d.device_id));
    const shown: Record<string, DeviceKeys> = {};
    for (const d of wanted) {
      const dk = await this.devices.deviceKeys(userId, d.device_id);
      if (!dk) continue;
      const signatures = await this.crossSigning.visibleSignatures(userId, d.device_id, false, requester, dk.signatures);
      // Always an `unsigned` object (spec: "with the addition of an unsigned property"), its name when there is one.
      shown[d.device_id] = { ...dk, signatures, unsigned: d.display_name !== undefined ? { device_display_name: d.display_name } : {} };
    }
    // A local user is always listed, with no devices when they have none with keys (or do not exist).
    out.device_keys[userId] = shown;
    const master = await this.crossSigning.key(userId, 'master');
    if (master) {
      const signatures = await this.crossSigning.visibleSignatures(userId, crossSigningPublicKey(master), true, requester, master.signatures);
      out.master_keys[userId] = { ...master, ...(Object.keys(signatures).length > 0 ? { signatures } : {}) };
    }
    const ssk = await this.crossSigning.key(userId, 'self_signing');
    if (ssk) out.self_signing_keys[userId] = ssk;
    if (userId === requester) {
      const usk = await this.crossSigning.key(userId, 'user_signing');
      if (usk) out.user_signing_keys[userId] = usk;
    }
  }

  async claim(req: ClaimKeysRequest): Promise<ClaimKeysResponse> {
    checkUsers(req.one_time_keys, 'one_time_keys');
    for (const [userId, byDevice] of Object.entries(req.one_time_keys)) {
      if (typeof byDevice !== 'object' || byDevice === null || Array.isArray(byDevice) || Object.values(byDevice).some((a) => typeof a !== 'string' || a === '')) {
        throw new MatrixError(400, 'M_BAD_JSON', `one_time_keys: ${userId} must map device ids to algorithms`);
      }
    }
    const out: ClaimKeysResponse = { one_time_keys: {}, failures: {} };
    const timeout = Math.min(Math.max(req.timeout_ms ?? DEFAULT_REMOTE_TIMEOUT_MS, 0), 60_000);
    await Promise.all(
      [...byServer(req.one_time_keys, serverNameOf)].map(async ([server, users]) => {
        if (server === this.serverName) {
          for (const [userId, wanted] of Object.entries(users)) {
            const claimed = await this.devices.claim(userId, wanted);
            if (Object.keys(claimed).length > 0) out.one_time_keys[userId] = claimed;
          }
          return;
        }
        try {
          const r = await this.remote.claim(server, users, timeout);
          for (const userId of Object.keys(users)) if (r[userId]) out.one_time_keys[userId] = r[userId]!;
        } catch (e) {
          out.failures[server] = { error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    return out;
  }
}
