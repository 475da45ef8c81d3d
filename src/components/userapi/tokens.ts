/**
 * Access and refresh tokens, device ids and other random identifiers.
 * Tokens are 32 random bytes; only their SHA-256 is stored, so looking one
 * up needs the token itself.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';

export type TokenKind = 'access' | 'refresh' | 'openid';

/** A prefix tells the two kinds apart in logs and bug reports, never the user. */
const PREFIX: Record<TokenKind, string> = { access: 'nta_', refresh: 'ntr_', openid: 'nto_' };

export function newToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Ten upper-case letters, as clients are used to seeing. */
export function newDeviceId(): string {
  let id = '';
  for (let i = 0; i < 10; i++) id += DEVICE_ALPHABET[randomInt(DEVICE_ALPHABET.length)];
  return id;
}

/** An opaque session or nonce identifier. */
export function newOpaqueId(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}
