/**
 * Shape and signature checks of uploaded keys (spec "Key algorithms",
 * "Uploading keys", "Cross-signing"). Each check throws the MatrixError the
 * client gets; nothing here touches storage.
 */
import { decodeBase64 } from '../../core/base64.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { MatrixError } from '../../core/errors.js';
import { verifyJsonSignature } from '../../core/signing.js';
import type { CrossSigningKey, OneTimeKey } from './api.js';
import type { CrossSigningUsage } from './storage.js';

const invalid = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
const badSignature = (msg: string) => new MatrixError(400, 'M_INVALID_SIGNATURE', msg);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The 32 bytes of an unpadded-base64 public key, or undefined. */
export function publicKeyBytes(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = decodeBase64(text);
  return bytes && bytes.length === 32 ? new Uint8Array(bytes) : undefined;
}

/** `signatures` must be user → key id → string, when present. */
function checkSignaturesShape(sigs: unknown, what: string): void {
  if (sigs === undefined) return;
  if (!isObject(sigs)) throw invalid(`${what}: signatures must be an object`);
  for (const byUser of Object.values(sigs)) {
    if (!isObject(byUser) || Object.values(byUser).some((s) => typeof s !== 'string')) throw invalid(`${what}: signatures must map user ids to key ids to strings`);
  }
}

/**
 * Device keys of the requester's device: its ids, an ed25519 key named
 * after the device, well-formed keys, and a valid self-signature. Returns
 * the device's ed25519 public key.
 */
export function checkDeviceKeys(dk: unknown, userId: string, deviceId: string): Uint8Array {
  if (!isObject(dk)) throw invalid('device_keys must be an object');
  if (dk.user_id !== userId) throw invalid(`device_keys.user_id must be ${userId}, the uploading user`);
  if (dk.device_id !== deviceId) throw invalid(`device_keys.device_id must be ${deviceId}, the uploading device`);
  if (!Array.isArray(dk.algorithms) || dk.algorithms.some((a) => typeof a !== 'string')) throw invalid('device_keys.algorithms must be a list of strings');
  if (!isObject(dk.keys)) throw invalid('device_keys.keys must be an object');
  for (const [name, value] of Object.entries(dk.keys)) {
    const colon = name.indexOf(':');
    if (colon <= 0 || name.slice(colon + 1) !== deviceId) throw invalid(`device_keys.keys: ${name} is not <algorithm>:${deviceId}`);
    if (typeof value !== 'string') throw invalid(`device_keys.keys: ${name} must be a string`);
    const algorithm = name.slice(0, colon);
    if ((algorithm === 'ed25519' || algorithm === 'curve25519') && !publicKeyBytes(value)) throw invalid(`device_keys.keys: ${name} is not a 32-byte base64 key`);
  }
  const ed25519 = publicKeyBytes(dk.keys[`ed25519:${deviceId}`]);
  if (!ed25519) throw invalid(`device_keys.keys must hold ed25519:${deviceId}`);
  checkSignaturesShape(dk.signatures, 'device_keys');
  if (!verifyJsonSignature(dk, userId, `ed25519:${deviceId}`, ed25519)) throw badSignature('device_keys is not signed by the device\'s ed25519 key');
  return ed25519;
}

/** `<algorithm>:<key id>` split, or a 400. */
export function splitKeyName(name: string, what: string): { algorithm: string; id: string } {
  const colon = name.indexOf(':');
  if (colon <= 0 || colon === name.length - 1) throw invalid(`${what}: ${name} is not <algorithm>:<key id>`);
  return { algorithm: name.slice(0, colon), id: name.slice(colon + 1) };
}

/**
 * One one-time or fallback key: a signed key object (signed by the device's
 * ed25519 key), or a bare string for unsigned algorithms.
 */
export function checkOneTimeKey(name: string, key: unknown, userId: string, deviceId: string, ed25519: Uint8Array | undefined, what: string): OneTimeKey {
  const { algorithm } = splitKeyName(name, what);
  if (typeof key === 'string') {
    if (algorithm.startsWith('signed_')) throw invalid(`${what}: ${name} must be a signed key object`);
    if (algorithm === 'curve25519' && !publicKeyBytes(key)) throw invalid(`${what}: ${name} is not a 32-byte base64 key`);
    return key;
  }
  if (!isObject(key) || typeof key.key !== 'string') throw invalid(`${what}: ${name} must be a key object with a key`);
  if (algorithm.endsWith('curve25519') && !publicKeyBytes(key.key)) throw invalid(`${what}: ${name} is not a 32-byte base64 key`);
  if (key.fallback !== undefined && typeof key.fallback !== 'boolean') throw invalid(`${what}: ${name}.fallback must be a boolean`);
  checkSignaturesShape(key.signatures, `${what}: ${name}`);
  if (!ed25519) throw invalid(`${what}: the device has no device keys to check ${name}'s signature with; upload device_keys first`);
  if (!verifyJsonSignature(key, userId, `ed25519:${deviceId}`, ed25519)) throw badSignature(`${what}: ${name} is not signed by the device's ed25519 key`);
  return key as OneTimeKey;
}

const USAGE_FIELD: Record<CrossSigningUsage, string> = { master: 'master_key', self_signing: 'self_signing_key', user_signing: 'user_signing_key' };

/** A cross-signing key's shape; returns its public key (unpadded base64, as in its id). */
export function checkCrossSigningKey(key: unknown, userId: string, usage: CrossSigningUsage): string {
  const what = USAGE_FIELD[usage];
  if (!isObject(key)) throw invalid(`${what} must be an object`);
  if (key.user_id !== userId) throw invalid(`${what}.user_id must be ${userId}`);
  if (!Array.isArray(key.usage) || !key.usage.includes(usage) || key.usage.some((u) => typeof u !== 'string')) throw invalid(`${what}.usage must include ${usage}`);
  if (!isObject(key.keys)) throw invalid(`${what}.keys must be an object`);
  const entries = Object.entries(key.keys);
  if (entries.length !== 1) throw invalid(`${what}.keys must hold exactly one key`);
  const [name, value] = entries[0]!;
  if (!name.startsWith('ed25519:') || name.slice('ed25519:'.length) !== value || !publicKeyBytes(value)) {
    throw invalid(`${what}.keys must be ed25519:<public key> → the 32-byte public key`);
  }
  checkSignaturesShape(key.signatures, what);
  return value as string;
}

/** The public key (unpadded base64) of a stored cross-signing key. */
export function crossSigningPublicKey(key: CrossSigningKey): string {
  return Object.values(key.keys)[0]!;
}

/** Throws M_INVALID_SIGNATURE unless `key` carries a valid signature of `userId`'s master key. */
export function requireSignedByMaster(key: CrossSigningKey, userId: string, masterPublic: string, what: string): void {
  if (!verifyJsonSignature(key, userId, `ed25519:${masterPublic}`, publicKeyBytes(masterPublic)!)) throw badSignature(`${what} is not signed by the master key`);
}

/** Equal as JSON, whatever the key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/** Equal but for `signatures` and `unsigned` (what /keys/signatures/upload may add). */
export function sameSignedContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const { signatures: _a, unsigned: _au, ...ra } = a;
  const { signatures: _b, unsigned: _bu, ...rb } = b;
  return sameJson(ra, rb);
}
