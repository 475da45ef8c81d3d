/**
 * UserAPI: accounts, devices and their access tokens, profiles, account
 * data, filters, push rules and pushers, and the user directory. The
 * ClientAPI serves the endpoints; this component owns the data.
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

/** Who an access token belongs to. */
export interface TokenOwner {
  user_id: string;
  device_id: string;
  is_guest: boolean;
  is_admin: boolean;
}

export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

export interface UserAPI {
  /**
   * The owner of a valid access token, or null for an unknown, revoked or
   * expired one (`soft_logout` says whether a refresh token can renew it).
   * Records the device's last-seen address and time.
   */
  queryAccessToken(
    req: { token: string; ip?: string; user_agent?: string },
    ctx?: CallContext,
  ): Promise<{ owner: TokenOwner } | { owner: null; soft_logout: boolean }>;
  /** A local user's profile; null when the user does not exist. */
  queryProfile(req: { user_id: string }, ctx?: CallContext): Promise<Profile | null>;
}

export const userApi = defineApi<UserAPI>('userapi', {
  queryAccessToken: { idempotent: true, timeoutMs: 10_000 },
  queryProfile: { idempotent: true },
});
