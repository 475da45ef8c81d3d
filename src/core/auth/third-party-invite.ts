/**
 * Verifying `content.third_party_invite.signed` of an invite against the
 * public keys an m.room.third_party_invite event published.
 */
import { decodeBase64 } from '../base64.js';
import { verifyJsonSignature } from '../signing.js';
import { isObject } from './types.js';

/** Decoded keys from `public_key` and `public_keys[].public_key`; undecodable ones are skipped. */
export function thirdPartyInvitePublicKeys(content: unknown): Uint8Array[] {
  if (!isObject(content)) return [];
  const encoded: string[] = [];
  if (typeof content.public_key === 'string') encoded.push(content.public_key);
  if (Array.isArray(content.public_keys)) {
    for (const entry of content.public_keys) {
      if (isObject(entry) && typeof entry.public_key === 'string') encoded.push(entry.public_key);
    }
  }
  const keys: Uint8Array[] = [];
  for (const text of encoded) {
    const bytes = decodeBase64(text);
    if (bytes && bytes.length === 32) keys.push(new Uint8Array(bytes));
  }
  return keys;
}

/** True when any signature in `signed` verifies with any of `publicKeys`. */
export function signedByAnyKey(signed: Record<string, unknown>, publicKeys: readonly Uint8Array[]): boolean {
  const signatures = signed.signatures;
  if (!isObject(signatures) || publicKeys.length === 0) return false;
  for (const [entity, byKeyId] of Object.entries(signatures)) {
    if (!isObject(byKeyId)) continue;
    for (const keyId of Object.keys(byKeyId)) {
      for (const key of publicKeys) {
        if (verifyJsonSignature(signed, entity, keyId, key)) return true;
      }
    }
  }
  return false;
}
