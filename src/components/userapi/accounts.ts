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
import { keys, put, type AccountRecord } from './storage.js';

const GENERATED_LOCK = '#generated';

/**
 * The localpart a requested username becomes: lower-cased (user ids are
 * case-sensitive, people are not), then held to the strict grammar. Names of
 * digits only are kept for the ids the server generates (guests).
 */
export function newLocalpart(serverName: string, username: string): string {
  const localpart = username.toLowerCase();
  const problem = userLocalpartProblem(localpart, 'strict');
  if (problem) throw new MatrixError(400, 'M_INVALID_USERNAME', `Invalid username: ${problem}`);
  if (/^[0-9]+$/.test(localpart)) throw new MatrixError(400, 'M_INVALID_USERNAME', 'Invalid username: names of digits only are reserved');
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
        let records: Append[] = [];
        let login: LoginResult | undefined;
        let revoked: string[] = [];
        if (req.login) {
          const p = await this.sessions.prepareLogin(userId, req.login);
          ops.push(...p.ops);
          records = p.records;
          revoked = p.revoked;
          login = p.value;
        }
        await extra?.(ops);
        await this.sessions.commit({ value: undefined, ops, records, revoked });
        return { user_id: userId, ...(login ? { login } : {}) };
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
