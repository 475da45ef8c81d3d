/**
 * Keys of users on other servers. /keys/query and /keys/claim ask each
 * remote server once per request through this interface; the federation
 * (`/_matrix/federation/v1/user/keys/query` and `.../claim`) will provide an
 * implementation. Until then every remote server is reported in `failures`.
 */
import type { CrossSigningKey, DeviceKeys, OneTimeKeys } from './api.js';

export interface RemoteQueryResult {
  device_keys: Record<string, Record<string, DeviceKeys>>;
  master_keys?: Record<string, CrossSigningKey>;
  self_signing_keys?: Record<string, CrossSigningKey>;
}

export interface RemoteKeys {
  /** The keys of `users` (user id → device ids, [] for all) on `server`; throws when the server cannot be asked. */
  query(server: string, users: Record<string, string[]>, timeoutMs: number): Promise<RemoteQueryResult>;
  /** Claims one-time keys on `server`; throws when it cannot be asked. */
  claim(server: string, wanted: Record<string, Record<string, string>>, timeoutMs: number): Promise<Record<string, Record<string, OneTimeKeys>>>;
}

export class FederationUnavailable extends Error {}

/** No federation yet: every remote server fails, and says why. */
export const noFederation: RemoteKeys = {
  query: async (server) => {
    throw new FederationUnavailable(`Keys of users on ${server} cannot be fetched: federation of keys is not available yet`);
  },
  claim: async (server) => {
    throw new FederationUnavailable(`Keys of users on ${server} cannot be claimed: federation of keys is not available yet`);
  },
};

/** Groups users by their server. */
export function byServer<T>(entries: Record<string, T>, serverOf: (userId: string) => string | undefined): Map<string, Record<string, T>> {
  const out = new Map<string, Record<string, T>>();
  for (const [userId, v] of Object.entries(entries)) {
    const server = serverOf(userId) ?? '';
    let group = out.get(server);
    if (!group) out.set(server, (group = {}));
    group[userId] = v;
  }
  return out;
}
