/**
 * UserAPI: accounts, devices and their access tokens, profiles, account
 * data, filters, push rules and pushers, and the user directory. The
 * ClientAPI serves the endpoints; this component owns the data.
 */
import type { RequestOwner as TokenOwner, TokenAnswer } from '../../platform/http/auth.js';
import { defineApi, type CallContext } from '../../platform/ipc/define.js';
import type { PushRule, PushRuleKind } from '../../core/push/types.js';

/** Who an access token belongs to, and what the UserAPI says of a token: the shapes the token check of every public component uses. */
export type { RequestOwner as TokenOwner, TokenAnswer } from '../../platform/http/auth.js';

export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

/** A pusher as the client-server API shows it (`GET /pushers`). */
export interface Pusher {
  pushkey: string;
  kind: string;
  app_id: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag?: string;
  lang: string;
  data: Record<string, unknown>;
  /** When it was last set, in seconds (the push gateway's `pushkey_ts`); GET /pushers does not show it. */
  pushkey_ts?: number;
}

/** What a new login (or registration) asks for its device and tokens. */
export interface NewLogin {
  /** Reuse this device (its old tokens stop working) or create it with this id. */
  device_id?: string;
  /** For a new device only. */
  display_name?: string;
  /** The client supports refresh tokens: the access token expires and a refresh token comes with it. */
  refresh_token?: boolean;
  ip?: string;
  user_agent?: string;
}

/** The tokens of a login, as the client-server API returns them. */
export interface LoginResult {
  user_id: string;
  device_id: string;
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export interface CreateAccountRequest {
  /** The basis of the localpart (lower-cased, then held to the grammar of new user ids); generated when absent. */
  username?: string;
  password?: string;
  admin?: boolean;
  guest?: boolean;
  displayname?: string;
  /** Log the new account in (registration without `inhibit_login`). */
  login?: NewLogin;
  /** Upgrade this guest account (user id) to a full one instead of creating an account. */
  upgrade_guest?: string;
  /**
   * The auth session that allowed the registration: ends with it, and a
   * registration token it holds counts as used. A session that already
   * created an account answers with that account again (a retry).
   */
  uia_session?: string;
}

/** A registration token as Synapse's admin API shows it. */
export interface RegistrationToken {
  token: string;
  uses_allowed: number | null;
  /** Auth sessions that passed the token stage and have not registered yet. */
  pending: number;
  completed: number;
  /** Epoch milliseconds; null: never expires. */
  expiry_time: number | null;
}

export interface NewRegistrationToken {
  token?: string;
  uses_allowed?: number | null;
  expiry_time?: number | null;
  /** Length of a generated token (when `token` is absent), 1–64; 16 by default. */
  length?: number;
}

export interface RegistrationTokenChanges {
  uses_allowed?: number | null;
  expiry_time?: number | null;
}

/** A device as the client-server API shows it (`GET /devices`), and the user agent it was last seen with (for whois). */
export interface DeviceInfo {
  device_id: string;
  display_name?: string;
  last_seen_ip?: string;
  last_seen_ts?: number;
  last_seen_user_agent?: string;
}

export type { PushRule, PushRuleKind } from '../../core/push/types.js';

/** Every kind present: what the UserAPI stores and answers (core's evaluator also takes partial sets). */
export type PushRuleset = Record<PushRuleKind, PushRule[]>;

/** `POST /pushers/set`: a pusher to add or update, or (`kind: null`) one to delete. */
export type PusherChange = Pusher | { kind: null; app_id: string; pushkey: string };

export interface DirectoryUser {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

/** A report of a room, an event or a user, as the reporter sent it. */
export interface NewContentReport {
  kind: 'room' | 'event' | 'user';
  /** Who reported it. */
  reporter: string;
  room_id?: string;
  event_id?: string;
  /** The reported user (kind user) or the reported event's sender (kind event). */
  user_id?: string;
  reason: string;
}

export interface ContentReport extends NewContentReport {
  id: string;
  received_ts: number;
}

/** A local account as administrators see it (dashboard, Synapse's admin API). */
export interface UserSummary {
  user_id: string;
  displayname?: string;
  avatar_url?: string;
  admin: boolean;
  guest: boolean;
  deactivated: boolean;
  /** Deactivated with `erase` (client-server API /account/deactivate). */
  erased: boolean;
  locked: boolean;
  suspended: boolean;
  /** Epoch milliseconds. */
  created_ts: number;
}

export interface ListUsersRequest {
  /** Offset into the matching users (in user id order); 0 by default. */
  from?: number;
  /** 100 by default, at most 1000. */
  limit?: number;
  /** Case-insensitive prefix of the localpart, of the full user id, or of the display name or one of its words. */
  search?: string;
  /** Include guests (default true). */
  guests?: boolean;
  /** Include deactivated accounts (default false). */
  deactivated?: boolean;
  /** Only admins (true), only non-admins (false), or both (absent). */
  admins?: boolean;
}

/** What one call of purgeExpired removed. */
export interface PurgeResult {
  access_tokens: number;
  refresh_tokens: number;
  uia_sessions: number;
  /** Token records looked at in this call. */
  checked: number;
  /** Pass it as `after` to go on; absent when every token record has been looked at. */
  next?: string;
}

/** A user-interactive auth session as the ClientAPI needs it. */
export interface UiaState {
  session: string;
  flows: string[][];
  params: Record<string, unknown>;
  completed: string[];
  /** The request it authorised has succeeded: a retry gets that request's answer again. */
  finished?: true;
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
  ): Promise<TokenAnswer>;
  /** A local user's profile; null when the user does not exist. */
  queryProfile(req: { user_id: string }, ctx?: CallContext): Promise<Profile | null>;

  /**
   * Creates an account. M_USER_IN_USE when the localpart is taken,
   * M_INVALID_USERNAME when it does not fit the grammar of new user ids.
   */
  createAccount(req: CreateAccountRequest, ctx?: CallContext): Promise<{ user_id: string; login?: LoginResult }>;
  /** Throws M_INVALID_USERNAME or M_USER_IN_USE unless the localpart could be registered now. */
  checkUsernameAvailable(req: { username: string }, ctx?: CallContext): Promise<void>;
  /**
   * Logs in with a password. `user` is a localpart or a full user id of
   * this server. 403 M_FORBIDDEN for a wrong password or an unknown user
   * (in the same time), M_USER_DEACTIVATED for a deactivated account.
   */
  loginWithPassword(req: { user: string; password: string; login: NewLogin }, ctx?: CallContext): Promise<LoginResult>;
  /** Exchanges a refresh token for new tokens; 401 M_UNKNOWN_TOKEN for an unknown or spent one. `lifetime_ms` is for tools and tests. */
  refreshToken(req: { refresh_token: string; lifetime_ms?: number }, ctx?: CallContext): Promise<{ access_token: string; refresh_token: string; expires_in_ms: number }>;
  /** Deletes devices of a user with their tokens (logout, device deletion); unknown ids are ignored. Returns the ids deleted. */
  deleteDevices(req: { user_id: string; device_ids: string[] }, ctx?: CallContext): Promise<{ deleted: string[] }>;
  /** Deletes every device of a user but `except_device_id` (logout/all, password change). */
  deleteAllDevices(req: { user_id: string; except_device_id?: string }, ctx?: CallContext): Promise<{ deleted: string[] }>;
  /** Checks a password as loginWithPassword does, without logging in (the m.login.password auth stage). */
  checkPassword(req: { user: string; password: string }, ctx?: CallContext): Promise<{ user_id: string }>;

  /**
   * Opens a user-interactive auth session. `bound` names the request it
   * authorises (endpoint and user): the session serves no other.
   */
  uiaBegin(req: { bound: string; flows: string[][]; params?: Record<string, unknown> }, ctx?: CallContext): Promise<UiaState>;
  /** The session, or 400 M_UNKNOWN when it is unknown, expired or opened for another request. */
  uiaQuery(req: { session: string; bound: string }, ctx?: CallContext): Promise<UiaState>;
  /**
   * Records a completed stage. For `m.login.registration_token`, `token` is
   * checked and one use of it held for the session: 401 M_UNAUTHORIZED when
   * it cannot be used.
   */
  uiaComplete(req: { session: string; bound: string; stage: string; token?: string }, ctx?: CallContext): Promise<UiaState>;
  /** Ends a session whose request succeeded. */
  uiaFinish(req: { session: string }, ctx?: CallContext): Promise<void>;

  /** Changes a password. With `logout_devices`, every other device of the user is deleted (its tokens with it). */
  setPassword(req: { user_id: string; new_password: string; logout_devices: boolean; keep_device_id?: string }, ctx?: CallContext): Promise<void>;
  /**
   * Deactivates an account for good: its devices, tokens and pushers go, it
   * leaves its rooms (through the user_changes log), and with `erase` its
   * profile, account data, filters and push rules go too.
   */
  deactivateAccount(req: { user_id: string; erase?: boolean }, ctx?: CallContext): Promise<void>;

  /** Every profile field of a local user (displayname, avatar_url, m.tz, custom ones); null when the user does not exist. */
  queryProfileFields(req: { user_id: string }, ctx?: CallContext): Promise<Record<string, unknown> | null>;
  /** Sets (value given) or deletes (value undefined) one profile field; join events in the user's rooms follow. */
  setProfileField(req: { user_id: string; field: string; value?: unknown }, ctx?: CallContext): Promise<void>;

  queryDevices(req: { user_id: string }, ctx?: CallContext): Promise<{ devices: DeviceInfo[] }>;
  queryDevice(req: { user_id: string; device_id: string }, ctx?: CallContext): Promise<DeviceInfo | null>;
  /** Renames a device; 404 M_NOT_FOUND when the user has none with that id. */
  updateDevice(req: { user_id: string; device_id: string; display_name?: string }, ctx?: CallContext): Promise<void>;

  /**
   * Sets account data (global without room_id). 405 M_BAD_JSON for the types the server manages;
   * `read_marker` (the EDUServer's read markers only) allows room `m.fully_read`.
   */
  setAccountData(req: { user_id: string; room_id?: string; type: string; content: Record<string, unknown>; read_marker?: boolean }, ctx?: CallContext): Promise<void>;
  /** One item of account data, or null. `m.push_rules` is the user's push rules. */
  queryAccountData(req: { user_id: string; room_id?: string; type: string }, ctx?: CallContext): Promise<{ content: Record<string, unknown> } | null>;
  /** All of a user's account data (for a full sync). */
  queryAllAccountData(
    req: { user_id: string },
    ctx?: CallContext,
  ): Promise<{ global: { type: string; content: Record<string, unknown> }[]; rooms: Record<string, { type: string; content: Record<string, unknown> }[]> }>;

  /** Stores a filter; the same filter stored twice gets the same id. */
  putFilter(req: { user_id: string; filter: Record<string, unknown> }, ctx?: CallContext): Promise<{ filter_id: string }>;
  queryFilter(req: { user_id: string; filter_id: string }, ctx?: CallContext): Promise<Record<string, unknown> | null>;

  queryPushRules(req: { user_id: string }, ctx?: CallContext): Promise<PushRuleset>;
  /** One rule; 404 M_NOT_FOUND when there is none. */
  queryPushRule(req: { user_id: string; kind: PushRuleKind; rule_id: string }, ctx?: CallContext): Promise<PushRule>;
  putPushRule(
    req: { user_id: string; kind: PushRuleKind; rule_id: string; rule: { actions: unknown; conditions?: unknown; pattern?: unknown }; before?: string; after?: string },
    ctx?: CallContext,
  ): Promise<void>;
  deletePushRule(req: { user_id: string; kind: PushRuleKind; rule_id: string }, ctx?: CallContext): Promise<void>;
  setPushRuleEnabled(req: { user_id: string; kind: PushRuleKind; rule_id: string; enabled: boolean }, ctx?: CallContext): Promise<void>;
  setPushRuleActions(req: { user_id: string; kind: PushRuleKind; rule_id: string; actions: unknown }, ctx?: CallContext): Promise<void>;

  /** Adds, updates or deletes a pusher of the user's device. */
  setPusher(req: { user_id: string; device_id: string; pusher: PusherChange; append?: boolean }, ctx?: CallContext): Promise<void>;
  queryPushers(req: { user_id: string }, ctx?: CallContext): Promise<{ pushers: Pusher[] }>;

  /** Local users whose id or display name contains the term, best matches first. */
  searchUserDirectory(req: { searcher: string; search_term: string; limit: number }, ctx?: CallContext): Promise<{ results: DirectoryUser[]; limited: boolean }>;

  /** True when a registration token could be used now. */
  registrationTokenValid(req: { token: string }, ctx?: CallContext): Promise<{ valid: boolean }>;
  listRegistrationTokens(req: { valid?: boolean }, ctx?: CallContext): Promise<{ registration_tokens: RegistrationToken[] }>;
  getRegistrationToken(req: { token: string }, ctx?: CallContext): Promise<RegistrationToken>;
  createRegistrationToken(req: NewRegistrationToken, ctx?: CallContext): Promise<RegistrationToken>;
  updateRegistrationToken(req: { token: string } & RegistrationTokenChanges, ctx?: CallContext): Promise<RegistrationToken>;
  deleteRegistrationToken(req: { token: string }, ctx?: CallContext): Promise<void>;

  /** Local accounts, a page at a time, with the total that match. Callers check that the requester is an admin. */
  listUsers(req: ListUsersRequest, ctx?: CallContext): Promise<{ users: UserSummary[]; total: number; next?: number }>;
  /** One local account; null when there is none. */
  queryUser(req: { user_id: string }, ctx?: CallContext): Promise<UserSummary | null>;
  /**
   * Sets or clears an account's admin flag (callers check that the requester
   * is an admin). 404 M_NOT_FOUND for an unknown user, 400 M_INVALID_PARAM
   * to make a guest or a deactivated account an admin, 403 M_FORBIDDEN to
   * remove the last active admin.
   */
  setUserAdmin(req: { user_id: string; admin: boolean }, ctx?: CallContext): Promise<UserSummary>;
  /**
   * Deletes token records that can never be used again and ends expired
   * auth sessions, looking at `limit` token records at most (500 by
   * default) after `after`.
   */
  purgeExpired(req: { limit?: number; after?: string }, ctx?: CallContext): Promise<PurgeResult>;

  /** Locks or suspends a local account, or lifts it (an admin's action; see AdminUsers.setModeration). */
  setUserModeration(req: { user_id: string; by: string; locked?: boolean; suspended?: boolean }, ctx?: CallContext): Promise<UserSummary>;

  /** Keeps a report for the administrators. */
  addReport(req: NewContentReport, ctx?: CallContext): Promise<{ id: string }>;
  /** Reports, oldest first, a page at a time (`from`: an offset, the previous page's `next`). */
  listReports(req: { from?: number; limit?: number; kind?: ContentReport['kind'] }, ctx?: CallContext): Promise<{ reports: ContentReport[]; total: number; next?: number }>;
  queryReport(req: { id: string }, ctx?: CallContext): Promise<ContentReport | null>;
  /** An administrator has dealt with it. */
  dismissReport(req: { id: string }, ctx?: CallContext): Promise<void>;

  /** A new OpenID token for a local user (POST /user/{userId}/openid/request_token). */
  createOpenIdToken(req: { user_id: string }, ctx?: CallContext): Promise<{ access_token: string; expires_in_ms: number }>;
  /** Whose OpenID token this is (federation's /openid/userinfo); null when unknown or expired. */
  queryOpenIdToken(req: { token: string }, ctx?: CallContext): Promise<{ user_id: string } | null>;
}

export const userApi = defineApi<UserAPI>('userapi', {
  queryAccessToken: { idempotent: true, timeoutMs: 10_000 },
  queryProfile: { idempotent: true },
  createAccount: {},
  checkUsernameAvailable: { idempotent: true },
  loginWithPassword: {},
  checkPassword: { idempotent: true },
  refreshToken: {},
  deleteDevices: { idempotent: true },
  deleteAllDevices: { idempotent: true },
  uiaBegin: {},
  uiaQuery: { idempotent: true },
  uiaComplete: {},
  uiaFinish: { idempotent: true },
  setPassword: { idempotent: true },
  deactivateAccount: { idempotent: true },
  queryProfileFields: { idempotent: true },
  setProfileField: { idempotent: true },
  queryDevices: { idempotent: true },
  queryDevice: { idempotent: true },
  updateDevice: { idempotent: true },
  setAccountData: { idempotent: true },
  queryAccountData: { idempotent: true },
  queryAllAccountData: { idempotent: true },
  putFilter: { idempotent: true },
  queryFilter: { idempotent: true },
  queryPushRules: { idempotent: true },
  queryPushRule: { idempotent: true },
  putPushRule: { idempotent: true },
  deletePushRule: {},
  setPushRuleEnabled: { idempotent: true },
  setPushRuleActions: { idempotent: true },
  setPusher: { idempotent: true },
  queryPushers: { idempotent: true },
  searchUserDirectory: { idempotent: true },
  registrationTokenValid: { idempotent: true },
  listRegistrationTokens: { idempotent: true },
  getRegistrationToken: { idempotent: true },
  createRegistrationToken: {},
  updateRegistrationToken: { idempotent: true },
  deleteRegistrationToken: {},
  listUsers: { idempotent: true },
  queryUser: { idempotent: true },
  setUserAdmin: { idempotent: true },
  purgeExpired: { idempotent: true, timeoutMs: 60_000 },
  setUserModeration: { idempotent: true },
  addReport: {},
  listReports: { idempotent: true },
  queryReport: { idempotent: true },
  dismissReport: { idempotent: true },
  createOpenIdToken: {},
  queryOpenIdToken: { idempotent: true },
});
