/**
 * Accounts as administrators manage them: a paged list with search, one
 * account's summary, and the admin flag (never removed from the last active
 * admin, nor that admin deactivated, so that the server always keeps
 * someone who can run it).
 */
import { MatrixError } from '../../core/errors.js';
import type { ListUsersRequest, UserSummary } from './api.js';
import { requireLocal, userIdOf, type UserServices } from './services.js';
import type { Sessions } from './sessions.js';
import { keys, put, type AccountRecord } from './storage.js';

const ADMINS_LOCK = '#admins';
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** Prefix of the localpart, of the full id, or of the display name or one of its words; case-insensitive. */
export function matchesSearch(userId: string, account: AccountRecord, term: string): boolean {
  if (term === '') return true;
  if (account.localpart.toLowerCase().startsWith(term) || userId.toLowerCase().startsWith(term)) return true;
  const name = account.displayname?.toLowerCase();
  return name !== undefined && (name.startsWith(term) || name.split(/\s+/).some((w) => w.startsWith(term)));
}

export class AdminUsers {
  constructor(
    private readonly svc: UserServices,
    private readonly sessions: Sessions,
  ) {}

  summary(account: AccountRecord): UserSummary {
    return {
      user_id: userIdOf(this.svc.serverName, account.localpart),
      ...(account.displayname !== undefined ? { displayname: account.displayname } : {}),
      ...(account.avatar_url !== undefined ? { avatar_url: account.avatar_url } : {}),
      admin: account.admin === true,
      guest: account.guest === true,
      deactivated: account.deactivated === true,
      erased: account.erased === true,
      locked: account.locked === true,
      suspended: account.suspended === true,
      created_ts: account.created_ts,
    };
  }

  /**
   * One pass over the accounts in localpart order, keeping only the page:
   * a small server has hundreds of accounts, and the total needs them all.
   */
  async list(req: ListUsersRequest): Promise<{ users: UserSummary[]; total: number; next?: number }> {
    const from = req.from ?? 0;
    const limit = req.limit ?? DEFAULT_PAGE;
    if (!Number.isSafeInteger(from) || from < 0) throw new MatrixError(400, 'M_INVALID_PARAM', 'from must be a whole number from 0');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new MatrixError(400, 'M_INVALID_PARAM', `limit must be a whole number from 1 to ${MAX_PAGE}`);
    const term = (req.search ?? '').trim().toLowerCase();
    const users: UserSummary[] = [];
    let total = 0;
    for await (const [, account] of this.svc.storage.accounts()) {
      if (account.guest && req.guests === false) continue;
      if (account.deactivated && req.deactivated !== true) continue;
      if (req.admins !== undefined && (account.admin === true) !== req.admins) continue;
      if (!matchesSearch(userIdOf(this.svc.serverName, account.localpart), account, term)) continue;
      if (total >= from && users.length < limit) users.push(this.summary(account));
      total++;
    }
    return { users, total, ...(from + users.length < total ? { next: from + users.length } : {}) };
  }

  async get(userId: string): Promise<UserSummary | null> {
    const account = await this.account(userId);
    return account ? this.summary(account) : null;
  }

  private async account(userId: string): Promise<AccountRecord | undefined> {
    return this.svc.storage.account(requireLocal(this.svc.serverName, userId));
  }

  /** Admin changes run one at a time, so two admins removing each other cannot both succeed. */
  setAdmin(userId: string, admin: boolean): Promise<UserSummary> {
    return this.svc.locks.run(ADMINS_LOCK, () =>
      this.svc.locks.run(userId, async () => {
        const account = await this.account(userId);
        if (!account) throw new MatrixError(404, 'M_NOT_FOUND', `There is no user ${userId}`);
        if ((account.admin === true) === admin) return this.summary(account);
        if (admin && account.deactivated) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is deactivated and cannot be made an administrator`);
        if (admin && account.guest) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is a guest account and cannot be made an administrator`);
        if (!admin && !account.deactivated && !(await this.anotherActiveAdmin(account.localpart))) {
          throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is the last administrator: make another user an administrator first`);
        }
        const { admin: _old, ...rest } = account;
        const next: AccountRecord = admin ? { ...rest, admin: true } : rest;
        await this.sessions.commit({ value: undefined, ops: [put(keys.account(account.localpart), next)], records: [], revoked: [] });
        // Cached token owners carry is_admin: a demoted admin loses the dashboard and the admin API at once.
        await this.sessions.forgetAll();
        return this.summary(next);
      }),
    );
  }

  /**
   * Locks or suspends an account, or lifts it (client-server API "Account
   * moderation"): not one's own account, not another administrator's, not a
   * deactivated one. Cached token owners are dropped so that it holds at the
   * next request.
   */
  setModeration(userId: string, by: string, change: { locked?: boolean; suspended?: boolean }): Promise<UserSummary> {
    return this.svc.locks.run(ADMINS_LOCK, () =>
      this.svc.locks.run(userId, async () => {
        const account = await this.account(userId);
        if (!account || account.deactivated) throw new MatrixError(404, 'M_NOT_FOUND', `There is no active user ${userId}`);
        for (const [k, v] of Object.entries(change)) if (typeof v !== 'boolean') throw new MatrixError(400, 'M_BAD_JSON', `${k} must be true or false`);
        const next: AccountRecord = { ...account };
        for (const k of ['locked', 'suspended'] as const) {
          if (change[k] === undefined) continue;
          if (change[k]) next[k] = true;
          else delete next[k];
        }
        if ((next.locked === true) === (account.locked === true) && (next.suspended === true) === (account.suspended === true)) return this.summary(account);
        if (userId === by) throw new MatrixError(403, 'M_FORBIDDEN', 'You cannot lock or suspend your own account');
        if (account.admin) throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is an administrator: remove the administrator rights first`);
        await this.sessions.commit({ value: undefined, ops: [put(keys.account(account.localpart), next)], records: [], revoked: [] });
        await this.sessions.forgetAll();
        return this.summary(next);
      }),
    );
  }

  /**
   * Runs a deactivation unless it would leave the server without an active
   * administrator (no one could then sign in to the dashboard); under the
   * admin lock, like setAdmin.
   */
  deactivateUnlessLastAdmin(userId: string, deactivate: () => Promise<void>): Promise<void> {
    return this.svc.locks.run(ADMINS_LOCK, async () => {
      const account = await this.account(userId);
      if (account?.admin && !account.deactivated && !(await this.anotherActiveAdmin(account.localpart))) {
        throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is the last administrator: make another user an administrator before deactivating this account`);
      }
      await deactivate();
    });
  }

  private async anotherActiveAdmin(except: string): Promise<boolean> {
    for await (const [, a] of this.svc.storage.accounts()) if (a.admin && !a.deactivated && a.localpart !== except) return true;
    return false;
  }
}
