/**
 * Signing JSON objects (spec appendix "Signing JSON"): the signature covers
 * the canonical JSON of the object without `signatures` and `unsigned`, and
 * is stored under signatures[entity][keyId] in unpadded base64.
 */
import { canonicalJsonBytes } from './canonical-json.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { sign, verify, type SigningKey } from './ed25519.js';

type Signatures = Record<string, Record<string, string>>;

function signedBytes(obj: object): Buffer {
  const { signatures: _s, unsigned: _u, ...rest } = obj as Record<string, unknown>;
  return canonicalJsonBytes(rest);
}

/** Returns a copy of obj with the signature of `entity` (usually a server name) added. */
export function signJson<T extends object>(obj: T, entity: string, key: SigningKey): T {
  const signature = encodeBase64(sign(key, signedBytes(obj)));
  const existing = ((obj as Record<string, unknown>).signatures ?? {}) as Signatures;
  const signatures: Signatures = { ...existing, [entity]: { ...(existing[entity] ?? {}), [key.keyId]: signature } };
  return { ...obj, signatures };
}

/** The signature entity/keyId carries on obj, if any. */
export function signatureOf(obj: object, entity: string, keyId: string): string | undefined {
  const signatures = (obj as Record<string, unknown>).signatures;
  if (typeof signatures !== 'object' || signatures === null) return undefined;
  const byEntity = (signatures as Record<string, unknown>)[entity];
  if (typeof byEntity !== 'object' || byEntity === null) return undefined;
  const sig = (byEntity as Record<string, unknown>)[keyId];
  return typeof sig === 'string' ? sig : undefined;
}

/** True when obj carries a valid signature by entity with keyId for publicKey. */
export function verifyJsonSignature(obj: object, entity: string, keyId: string, publicKey: Uint8Array): boolean {
  // Spec step 2: a key id of an algorithm other than ed25519 cannot be checked with an ed25519 key.
  if (!keyId.startsWith('ed25519:')) return false;
  const sig = signatureOf(obj, entity, keyId);
  if (sig === undefined) return false;
  const bytes = decodeBase64(sig);
  if (!bytes) return false;
  let message: Buffer;
  try {
    message = signedBytes(obj);
  } catch {
    return false;
  }
  return verify(publicKey, message, bytes);
}
