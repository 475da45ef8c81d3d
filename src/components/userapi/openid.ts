/**
 * OpenID tokens (client-server API "OpenID"): a short-lived token a user
 * hands to a third party (a widget, Element Call's token service), which
 * asks this server's federation API who it belongs to. It proves identity
 * only, grants nothing else, and is stored as its SHA-256 like every token.
 */
import type { Database } from '../../platform/storage/database.js';
import { del, keys, put } from './storage.js';
import { newToken, tokenHash } from './tokens.js';

/** The spec's example and Synapse's default: an hour. */
export const OPENID_TOKEN_LIFETIME_MS = 3_600_000;

interface OpenIdRecord {
  user_id: string;
  expires_at: number;
}

export class OpenIdTokens {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  async create(userId: string): Promise<{ access_token: string; expires_in_ms: number }> {
    const token = newToken('openid');
    const record: OpenIdRecord = { user_id: userId, expires_at: this.now() + OPENID_TOKEN_LIFETIME_MS };
    // Durable: the third party may ask about it at once, after a crash too.
    await this.db.write([put(keys.openIdToken(tokenHash(token)), record)], { durable: true });
    return { access_token: token, expires_in_ms: OPENID_TOKEN_LIFETIME_MS };
  }

  /** Whose token this is; null when unknown or expired (an expired one is removed). */
  async owner(token: string): Promise<string | null> {
    const key = keys.openIdToken(tokenHash(token));
    const record = await this.db.get<OpenIdRecord>(key);
    if (!record) return null;
    if (record.expires_at <= this.now()) {
      await this.db.write([del(key)]);
      return null;
    }
    return record.user_id;
  }
}
