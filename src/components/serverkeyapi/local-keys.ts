/**
 * Builds and caches this server's signed key document. It is valid for a
 * day and rebuilt when half of that has passed, so servers that cache it
 * never hold one that is about to expire.
 */
import { encodeBase64 } from '../../core/base64.js';
import type { SigningKey } from '../../core/ed25519.js';
import { signJson } from '../../core/signing.js';
import type { ServerKeys } from './api.js';

export const KEY_VALIDITY_MS = 24 * 60 * 60 * 1000;

export class LocalKeys {
  private cached: ServerKeys | undefined;

  constructor(
    private readonly serverName: string,
    private readonly key: SigningKey,
    private readonly now: () => number = Date.now,
  ) {}

  document(): ServerKeys {
    const t = this.now();
    if (!this.cached || this.cached.valid_until_ts - t < KEY_VALIDITY_MS / 2) {
      const unsigned = {
        server_name: this.serverName,
        valid_until_ts: t + KEY_VALIDITY_MS,
        verify_keys: { [this.key.keyId]: { key: encodeBase64(this.key.publicKey) } },
        old_verify_keys: {},
      };
      this.cached = signJson({ ...unsigned, signatures: {} }, this.serverName, this.key);
    }
    return this.cached;
  }
}
