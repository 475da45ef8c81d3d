/**
 * Purging what can never be used again: access and refresh token records
 * that no live device holds, expired access tokens that nothing can renew,
 * and expired user-interactive auth sessions.
 *
 * The current access token of a device that still has a refresh token is
 * kept after it expires: it is what answers `soft_logout: true`, which tells
 * the client to refresh instead of dropping its session and keys. A device
 * holds one such token at most, so they do not pile up.
 *
 * No lock is needed: a record found dead stays dead. Tokens are random, and
 * a device only ever refers to token hashes written in the same batch as
 * the reference, so it never comes to refer to a hash it did not hold.
 */
import { MatrixError } from '../../core/errors.js';
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { PurgeResult } from './api.js';
import { localpartOf, type UserServices } from './services.js';
import type { Sessions } from './sessions.js';
import { del, type DeviceRecord, type TokenRecord } from './storage.js';
import type { UiaSessions } from './uia-sessions.js';

export const DEFAULT_PURGE_BATCH = 500;
const MAX_PURGE_BATCH = 5000;
/** The token tables in the order a sweep visits them, with the cursor prefix each uses. */
const TABLES = ['at', 'rt'] as const;
type Table = (typeof TABLES)[number];

export class ExpiredPurge {
  constructor(
    private readonly svc: UserServices,
    private readonly sessions: Sessions,
    private readonly uia: UiaSessions,
  ) {}

  async purge(req: { limit?: number; after?: string }): Promise<PurgeResult> {
    const limit = req.limit ?? DEFAULT_PURGE_BATCH;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PURGE_BATCH) throw new MatrixError(400, 'M_INVALID_PARAM', `limit must be 1 to ${MAX_PURGE_BATCH}`);
    const cursor = parseCursor(req.after);
    // Sessions are in memory and few: all of them, once per sweep (its first call).
    const uiaSessions = req.after === undefined ? this.uia.purgeExpired() : 0;
    const now = this.svc.now();
    const dead: { table: Table; hash: string }[] = [];
    let checked = 0;
    let next: string | undefined;
    for (const table of TABLES.slice(TABLES.indexOf(cursor.table))) {
      const range = prefixRange(table);
      const gt = table === cursor.table && cursor.hash !== undefined ? encodeKey(table, cursor.hash) : range.gt;
      for await (const [key, rec] of this.svc.storage.db.iterate<TokenRecord>({ gt, lt: range.lt, limit: limit - checked })) {
        const hash = String(decodeKey(key)[1]);
        checked++;
        if (await this.isDead(table, hash, rec, now)) dead.push({ table, hash });
        if (checked === limit) next = `${table}:${hash}`;
      }
      if (checked === limit) break;
    }
    if (dead.length > 0) {
      // Not durable: a deletion lost to a power cut is found again by the next sweep.
      await this.svc.storage.db.write(dead.map((d) => del(encodeKey(d.table, d.hash))));
      await this.sessions.forget(dead.filter((d) => d.table === 'at').map((d) => d.hash));
    }
    return {
      access_tokens: dead.filter((d) => d.table === 'at').length,
      refresh_tokens: dead.filter((d) => d.table === 'rt').length,
      uia_sessions: uiaSessions,
      checked,
      ...(next !== undefined ? { next } : {}),
    };
  }

  private async isDead(table: Table, hash: string, rec: TokenRecord, now: number): Promise<boolean> {
    const localpart = localpartOf(this.svc.serverName, rec.user_id);
    const account = localpart === undefined ? undefined : await this.svc.storage.account(localpart);
    if (!account || account.deactivated) return true;
    const device: DeviceRecord | undefined = await this.svc.storage.device(rec.user_id, rec.device_id);
    if (!device) return true;
    if (table === 'rt') return device.refresh !== hash && device.prev_refresh !== hash;
    if (device.access !== hash) return true;
    // Expired with no refresh token left to renew it: soft logout would promise what cannot happen.
    return rec.expires_at !== undefined && rec.expires_at <= now && device.refresh === undefined;
  }
}

function parseCursor(after: string | undefined): { table: Table; hash?: string } {
  if (after === undefined) return { table: 'at' };
  const i = after.indexOf(':');
  const table = after.slice(0, i) as Table;
  if (i < 0 || !TABLES.includes(table)) throw new MatrixError(400, 'M_INVALID_PARAM', 'after is not a cursor purgeExpired gave out');
  return { table, hash: after.slice(i + 1) };
}
