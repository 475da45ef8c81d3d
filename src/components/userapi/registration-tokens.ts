/**
 * Registration tokens (`m.login.registration_token`), managed as Synapse's
 * admin API manages them: a token may be limited in uses and in time.
 *
 * `completed` counts registrations that used a token and is stored;
 * `pending` counts auth sessions that passed the token stage and have not
 * registered yet. Pending uses live with those sessions (in memory): they
 * count against `uses_allowed` so that a token for five people admits five,
 * and they vanish with the session.
 */
import { randomInt } from 'node:crypto';
import { MatrixError } from '../../core/errors.js';
import type { WriteOp } from '../../platform/storage/database.js';
import type { RegistrationToken, RegistrationTokenChanges, NewRegistrationToken } from './api.js';
import type { UserServices } from './services.js';
import { del, keys, put, type RegistrationTokenRecord } from './storage.js';

const TOKEN_CHARS = /^[A-Za-z0-9._~-]{1,64}$/;
const GENERATED_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOCK = '#registration-tokens';

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export class RegistrationTokens {
  private readonly pending = new Map<string, number>();

  constructor(private readonly svc: UserServices) {}

  private view(r: RegistrationTokenRecord): RegistrationToken {
    return { token: r.token, uses_allowed: r.uses_allowed, pending: this.pending.get(r.token) ?? 0, completed: r.completed, expiry_time: r.expiry_time };
  }

  private isValid(r: RegistrationTokenRecord): boolean {
    const used = r.completed + (this.pending.get(r.token) ?? 0);
    return (r.uses_allowed === null || used < r.uses_allowed) && (r.expiry_time === null || r.expiry_time > this.svc.now());
  }

  async valid(token: string): Promise<boolean> {
    if (!TOKEN_CHARS.test(token)) return false;
    const r = await this.svc.storage.registrationToken(token);
    return r !== undefined && this.isValid(r);
  }

  /** Holds one use of a valid token for an auth session; false when the token cannot be used. */
  reserve(token: string): Promise<boolean> {
    return this.svc.locks.run(LOCK, async () => {
      if (!(await this.valid(token))) return false;
      this.pending.set(token, (this.pending.get(token) ?? 0) + 1);
      return true;
    });
  }

  release(token: string): void {
    const n = (this.pending.get(token) ?? 0) - 1;
    if (n > 0) this.pending.set(token, n);
    else this.pending.delete(token);
  }

  /** Turns a reserved use into a completed one; the write joins the registration's batch. */
  async useReserved(token: string, ops: WriteOp[]): Promise<void> {
    const r = await this.svc.storage.registrationToken(token);
    this.release(token);
    // Deleted by an admin meanwhile: the registration passed the stage while it existed.
    if (r) ops.push(put(keys.registrationToken(token), { ...r, completed: r.completed + 1 }));
  }

  async list(valid?: boolean): Promise<RegistrationToken[]> {
    const all = await this.svc.storage.registrationTokens();
    return all.filter((r) => valid === undefined || this.isValid(r) === valid).map((r) => this.view(r));
  }

  async get(token: string): Promise<RegistrationToken> {
    const r = await this.svc.storage.registrationToken(token);
    if (!r) throw new MatrixError(404, 'M_NOT_FOUND', 'No such registration token');
    return this.view(r);
  }

  create(req: NewRegistrationToken): Promise<RegistrationToken> {
    if (req.token !== undefined && (typeof req.token !== 'string' || !TOKEN_CHARS.test(req.token))) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'token must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_", "~" and "-"');
    }
    if (req.length !== undefined && (!Number.isSafeInteger(req.length) || req.length < 1 || req.length > 64)) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'length must be an integer from 1 to 64');
    }
    const usesAllowed = this.checkUses(req.uses_allowed);
    const expiry = this.checkExpiry(req.expiry_time);
    return this.svc.locks.run(LOCK, async () => {
      let token = req.token;
      if (token === undefined) {
        const length = req.length ?? 16;
        do {
          token = Array.from({ length }, () => GENERATED_CHARS[randomInt(GENERATED_CHARS.length)]).join('');
        } while (await this.svc.storage.registrationToken(token));
      } else if (await this.svc.storage.registrationToken(token)) {
        throw new MatrixError(400, 'M_INVALID_PARAM', 'This token already exists');
      }
      const r: RegistrationTokenRecord = { token, uses_allowed: usesAllowed ?? null, expiry_time: expiry ?? null, completed: 0 };
      await this.svc.storage.db.write([put(keys.registrationToken(token), r)], { durable: true });
      return this.view(r);
    });
  }

  update(token: string, changes: RegistrationTokenChanges): Promise<RegistrationToken> {
    const usesAllowed = this.checkUses(changes.uses_allowed);
    const expiry = this.checkExpiry(changes.expiry_time);
    return this.svc.locks.run(LOCK, async () => {
      const r = await this.svc.storage.registrationToken(token);
      if (!r) throw new MatrixError(404, 'M_NOT_FOUND', 'No such registration token');
      const next: RegistrationTokenRecord = {
        ...r,
        ...(usesAllowed !== undefined ? { uses_allowed: usesAllowed } : {}),
        ...(expiry !== undefined ? { expiry_time: expiry } : {}),
      };
      await this.svc.storage.db.write([put(keys.registrationToken(token), next)], { durable: true });
      return this.view(next);
    });
  }

  delete(token: string): Promise<void> {
    return this.svc.locks.run(LOCK, async () => {
      if (!(await this.svc.storage.registrationToken(token))) throw new MatrixError(404, 'M_NOT_FOUND', 'No such registration token');
      await this.svc.storage.db.write([del(keys.registrationToken(token))], { durable: true });
    });
  }

  private checkUses(v: unknown): number | null | undefined {
    if (v === undefined || v === null) return v;
    if (!isCount(v)) throw new MatrixError(400, 'M_INVALID_PARAM', 'uses_allowed must be a non-negative integer or null');
    return v;
  }

  private checkExpiry(v: unknown): number | null | undefined {
    if (v === undefined || v === null) return v;
    if (!isCount(v)) throw new MatrixError(400, 'M_INVALID_PARAM', 'expiry_time must be a timestamp in milliseconds or null');
    if (v < this.svc.now()) throw new MatrixError(400, 'M_INVALID_PARAM', 'expiry_time must not be in the past');
    return v;
  }
}
