/**
 * Accounts: creation (with the user id rules for new users), password
 * logins, password changes, deactivation and profiles.
 */
import { MatrixError } from '../../core/errors.js';
import { MAX_ID_BYTES, parseUserId, userLocalpartProblem } from '../../core/identifiers.js';
import type { Append } from '../../platform/log/producer.js';
import type { WriteOp } from '../../platform/storage/database.js';
import type { CreateAccountRequest, LoginResult, NewLogin, Profile } from './api.js';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { localpartOf, userIdOf, type UserServices } from './services.js';
import type { Sessions } from './sessions.js';
import { del, keys, put, type AccountRecord } from './storage.js';
import { userChanges } from './topics.js';

const GENERATED_LOCK = '#generated';
/** Spec: "the total profile MUST be under 64 KiB". */
const MAX_PROFILE_BYTES = 64 * 1024;
const MAX_DISPLAYNAME_LENGTH = 256;
const PROFILE_FIELD = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;

/** Every profile field of an account, as GET /profile/{userId} shows them. */
function profileFields(account: AccountRecord): Record<string, unknown> {
  return {
    ...(account.displayname !== undefined ? { displayname: account.displayname } : {}),
    ...(account.avatar_url !== undefined ? { avatar_url: account.avatar_url } : {}),
    ...account.fields,
  };
}

/** Checks a profile field's name and value; undefined (delete) for an empty displayname or avatar_url. */
export function checkProfileField(field: string, value: unknown): unknown {
  if (Buffer.byteLength(field, 'utf8') > 255) throw new MatrixError(400, 'M_KEY_TOO_LARGE', 'A profile key is at most 255 bytes');
  if (!PROFILE_FIELD.test(field)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid profile key ${field}`);
  if (value === undefined) return undefined;
  if (field === 'displayname') {
    if (typeof value !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'displayname must be a string');
    if (value.length > MAX_DISPLAYNAME_LENGTH) throw new MatrixError(400, 'M_INVALID_PARAM', `displayname is at most ${MAX_DISPLAYNAME_LENGTH} characters`);
    return value === '' ? undefined : value;
  }
  if (field === 'avatar_url') {
    if (typeof value !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'avatar_url must be a string');
    // Any string, as other servers keep it: "MUST be an MXC URI" binds the client, and clients show only mxc:// avatars.
    return value === '' ? undefined : value;
  }
  if (field === 'm.tz' && typeof value !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'm.tz must be a string');
  return value;
}

/**
 * The localpart a requested username becomes: lower-cased (user ids are
 * case-sensitive, people are not), then held to the strict grammar. Names of
 * digits only are kept for the ids the server generates (guests), names
 * beginning with `_` for the server's own users.
 */
export function newLocalpart(serverName: string, username: string): string {
  const localpart = username.toLowerCase();
  const problem = userLocalpartProblem(localpart, 'strict');
  if (problem) throw new MatrixError(400, 'M_INVALID_USERNAME', `Invalid username: ${problem}`);
  if (/^[0-9]+$/.test(localpart)) throw new MatrixError(400, 'M_INVALID_USERNAME', 'Invalid username: names of digits only are reserved');
  // The server's own users (the server notices sender) begin with `_`, as on Synapse.
  if (localpart.startsWith('_')) throw new MatrixError(400, 'M_INVALID_USERNAME', 'Invalid username: names beginning with "_" are reserved for the server');
  if (Buffer.byteLength(userIdOf(serverName, localpart), 'utf8') > MAX_ID_BYTES) {
    throw new MatrixError(400, 'M_INVALID_USERNAME', `Invalid username: a user id is at most ${MAX_ID_BYTES} bytes`);
  }
  return localpart;
}

export function checkPasswordShape(password: string): void {
  if (password.length > MAX_PASSWORD_LENGTH) throw new MatrixError(400, 'M_INVALID_PARAM', `A password is at most ${MAX_PASSWORD_LENGTH} characters`);
}

export class Accounts {
  constructor(
    private readonly svc: UserServices,
    private readonly sessions: Sessions,
  ) {}

  async checkUsernameAvailable(username: string): Promise<string> {
    const localpart = newLocalpart(this.svc.serverName, username);
    if (await this.svc.storage.account(localpart)) throw new MatrixError(400, 'M_USER_IN_USE', 'That user id is already taken');
    return localpart;
  }

  /**
   * Creates an account, and logs it in when asked, in one batch. `extra`
   * lets a caller add its own writes to that batch (a registration token's
   * use).
   */
  async create(req: CreateAccountRequest, extra?: (ops: WriteOp[]) => Promise<void> | void): Promise<{ user_id: string; login?: LoginResult }> {
    if (req.upgrade_guest !== undefined) return this.upgradeGuest(req, req.upgrade_guest, extra);
    const generated = req.guest === true || req.username === undefined;
    const requested = generated ? undefined : newLocalpart(this.svc.serverName, req.username!);
    if (req.password !== undefined) checkPasswordShape(req.password);
    const passwordHash = req.password !== undefined && req.guest !== true ? await hashPassword(req.password) : undefined;

    const createWith = async (localpart: string, ops: WriteOp[]) => {
      const userId = userIdOf(this.svc.serverName, localpart);
      return this.svc.locks.run(userId, async () => {
        if (await this.svc.storage.account(localpart)) throw new MatrixError(400, 'M_USER_IN_USE', 'That user id is already taken');
        const account: AccountRecord = {
          localpart,
          created_ts: this.svc.now(),
          ...(passwordHash ? { password_hash: passwordHash } : {}),
          ...(req.admin ? { admin: true } : {}),
          ...(req.guest ? { guest: true } : {}),
          displayname: req.displayname ?? localpart,
        };
        ops.push(put(keys.account(localpart), account));
        return this.commitWithLogin(userId, ops, req.login, extra);
      });
    };

    if (requested !== undefined) return createWith(requested, []);
    // Generated ids count up; one allocation at a time.
    return this.svc.locks.run(GENERATED_LOCK, async () => {
      let n = await this.svc.storage.nextGenerated();
      while (await this.svc.storage.account(String(n))) n++;
      return createWith(String(n), [put(keys.nextGenerated(), n + 1)]);
    });
  }

  /**
   * A guest becomes a full account under the same user id (guest access
   * module): it gets a password, keeps its devices, and logs in anew when asked.
   */
  private async upgradeGuest(req: CreateAccountRequest, userId: string, extra?: (ops: WriteOp[]) => Promise<void> | void): Promise<{ user_id: string; login?: LoginResult }> {
    if (req.password === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'password is required');
    checkPasswordShape(req.password);
    const passwordHash = await hashPassword(req.password);
    return this.svc.locks.run(userId, async () => {
      const localpart = localpartOf(this.svc.serverName, userId);
      const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
      if (!account || !account.guest || account.deactivated) throw new MatrixError(403, 'M_FORBIDDEN', 'Only an active guest account can be upgraded');
      const { guest: _guest, ...upgraded } = account;
      const ops: WriteOp[] = [put(keys.account(account.localpart), { ...upgraded, password_hash: passwordHash, ...(req.displayname !== undefined ? { displayname: req.displayname } : {}) })];
      const result = await this.commitWithLogin(userId, ops, req.login, extra);
      // Cached owners of the guest's tokens still say is_guest.
      await this.sessions.forgetAll();
      return result;
    });
  }

  /** Commits an account's writes in one batch with a new login's (when asked for) and the caller's `extra` ones. */
  private async commitWithLogin(
    userId: string,
    ops: WriteOp[],
    newLogin: CreateAccountRequest['login'],
    extra?: (ops: WriteOp[]) => Promise<void> | void,
  ): Promise<{ user_id: string; login?: LoginResult }> {
    const p = newLogin ? await this.sessions.prepareLogin(userId, newLogin) : undefined;
    if (p) ops.push(...p.ops);
    await extra?.(ops);
    await this.sessions.commit({ value: undefined, ops, records: p?.records ?? [], revoked: p?.revoked ?? [] });
    return { user_id: userId, ...(p ? { login: p.value } : {}) };
  }

  /** The account a login names: a localpart or a full id of this server, any case. */
  private accountName(user: string): string | undefined {
    if (!user.startsWith('@')) return user.toLowerCase();
    const parsed = parseUserId(user, 'historical');
    if (!parsed.ok || parsed.value.serverName !== this.svc.serverName) return undefined;
    return parsed.value.localpart.toLowerCase();
  }

  /**
   * Checks a password. Unknown users, users without a password and wrong
   * passwords all cost one scrypt and get the same 403.
   */
  async checkPassword(user: string, password: string): Promise<{ user_id: string; account: AccountRecord }> {
    const localpart = password.length > MAX_PASSWORD_LENGTH ? undefined : this.accountName(user);
    const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
    const ok = await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), account?.password_hash);
    if (!ok || !account) throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
    if (account.deactivated) throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated');
    return { user_id: userIdOf(this.svc.serverName, account.localpart), account };
  }

  async loginWithPassword(user: string, password: string, login: NewLogin): Promise<LoginResult> {
    const { user_id } = await this.checkPassword(user, password);
    return this.svc.locks.run(user_id, async () => {
      // Deactivated between the check and the lock: no new session.
      const account = await this.svc.storage.account(localpartOf(this.svc.serverName, user_id)!);
      if (!account || account.deactivated) throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated');
      return this.sessions.commit(await this.sessions.prepareLogin(user_id, login));
    });
  }

  private async activeAccount(userId: string): Promise<AccountRecord> {
    const localpart = localpartOf(this.svc.serverName, userId);
    const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
    if (!account) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown user');
    if (account.deactivated) throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated');
    return account;
  }

  async setPassword(userId: string, newPassword: string, logoutDevices: boolean, keepDeviceId?: string): Promise<void> {
    checkPasswordShape(newPassword);
    const hash = await hashPassword(newPassword);
    await this.svc.locks.run(userId, async () => {
      const account = await this.activeAccount(userId);
      const ops = [put(keys.account(account.localpart), { ...account, password_hash: hash })];
      if (!logoutDevices) return this.sessions.commit({ value: undefined, ops, records: [], revoked: [] });
      const p = await this.sessions.prepareDeleteDevices(userId, 'all', keepDeviceId);
      await this.sessions.commit({ value: undefined, ops: [...ops, ...p.ops], records: p.records, revoked: p.revoked });
    });
  }

  /**
   * Deactivates an account in one batch: the flag, the devices and tokens,
   * the pushers, and (erase) the user's data; the user_changes record makes
   * the account leave its rooms. The account record stays so that the id is
   * never given out again.
   */
  async deactivate(userId: string, erase: boolean, extra: (ops: WriteOp[]) => Promise<void>): Promise<void> {
    await this.svc.locks.run(userId, async () => {
      const localpart = localpartOf(this.svc.serverName, userId);
      const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
      if (!account) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown user');
      if (account.deactivated) return;
      const { displayname: _d, avatar_url: _a, fields: _f, ...kept } = account;
      const next: AccountRecord = erase ? { ...kept, deactivated: true, erased: true } : { ...account, deactivated: true };
      const devices = await this.sessions.prepareDeleteDevices(userId, 'all');
      const ops: WriteOp[] = [put(keys.account(account.localpart), next), ...devices.ops];
      await extra(ops);
      if (erase) {
        for (const k of await this.svc.storage.accountDataKeys(userId)) ops.push(del(k));
        for (const k of await this.svc.storage.filterKeys(userId)) ops.push(del(k));
        ops.push(del(keys.pushRules(userId)));
      }
      const records: Append[] = [...devices.records, { topic: userChanges, record: { kind: 'deactivated', user_id: userId, ...(erase ? { erased: true as const } : {}) } }];
      await this.sessions.commit({ value: undefined, ops, records, revoked: devices.revoked });
    });
    await this.sessions.forgetAll();
  }

  async profileFields(userId: string): Promise<Record<string, unknown> | null> {
    const localpart = localpartOf(this.svc.serverName, userId);
    const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
    return account ? profileFields(account) : null;
  }

  /** Sets or deletes one profile field; a change of name or avatar is logged for the user's rooms. */
  async setProfileField(userId: string, field: string, value: unknown): Promise<void> {
    const checked = checkProfileField(field, value);
    await this.svc.locks.run(userId, async () => {
      const account = await this.activeAccount(userId);
      const next: AccountRecord = { ...account };
      if (field === 'displayname' || field === 'avatar_url') {
        if (checked === undefined) delete next[field];
        else next[field] = checked as string;
      } else {
        const fields = { ...account.fields };
        if (checked === undefined) delete fields[field];
        else fields[field] = checked;
        if (Object.keys(fields).length > 0) next.fields = fields;
        else delete next.fields;
      }
      if (Buffer.byteLength(JSON.stringify(profileFields(next)), 'utf8') > MAX_PROFILE_BYTES) {
        throw new MatrixError(400, 'M_PROFILE_TOO_LARGE', 'The profile would exceed 64 KiB');
      }
      const records: Append[] = [];
      if (next.displayname !== account.displayname || next.avatar_url !== account.avatar_url) {
        records.push({
          topic: userChanges,
          record: {
            kind: 'profile',
            user_id: userId,
            ...(next.displayname !== undefined ? { displayname: next.displayname } : {}),
            ...(next.avatar_url !== undefined ? { avatar_url: next.avatar_url } : {}),
          },
        });
      }
      await this.svc.producer.write([put(keys.account(account.localpart), next)], records, { durable: true });
    });
  }

  async profile(userId: string): Promise<Profile | null> {
    const localpart = localpartOf(this.svc.serverName, userId);
    if (localpart === undefined) return null;
    const account = await this.svc.storage.account(localpart);
    if (!account) return null;
    return {
      ...(account.displayname !== undefined ? { displayname: account.displayname } : {}),
      ...(account.avatar_url !== undefined ? { avatar_url: account.avatar_url } : {}),
    };
  }
}
