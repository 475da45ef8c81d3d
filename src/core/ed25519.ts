/**
 * Ed25519 keys, signatures and verification. node:crypto (OpenSSL) is the
 * default path: it verifies several times faster than tweetnacl's pure
 * JavaScript. tweetnacl stays as a second, independent implementation in
 * ed25519-tweetnacl.ts (not loaded by the server): the tests check that both
 * agree, and `make bench` compares them.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

export interface SigningKey {
  /** e.g. `ed25519:a_AbCd` */
  readonly keyId: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Cached OpenSSL key; not part of the key's identity. */
  readonly privateKeyObject: KeyObject;
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function signingKeyFromSeed(keyId: string, seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new Error(`an ed25519 seed is 32 bytes, not ${seed.length}`);
  const privateKeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKeyObject).export({ format: 'der', type: 'spki' });
  return { keyId, seed: Uint8Array.from(seed), publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)), privateKeyObject };
}

export function generateSigningKey(keyId: string): SigningKey {
  return signingKeyFromSeed(keyId, randomBytes(32));
}

export function sign(key: SigningKey, message: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, message, key.privateKeyObject));
}

// Verification keys are few (one or two per server) and reused for every
// event, so their parsed form is worth keeping.
const publicKeyCache = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  if (publicKey.length !== 32) return undefined;
  const cacheKey = Buffer.from(publicKey).toString('base64');
  let key = publicKeyCache.get(cacheKey);
  if (!key) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    } catch {
      return undefined;
    }
    if (publicKeyCache.size > 10_000) publicKeyCache.clear();
    publicKeyCache.set(cacheKey, key);
  }
  return key;
}

export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const key = publicKeyObject(publicKey);
  if (!key) return false;
  try {
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * verify() on one of libuv's pool threads instead of the caller's: about
 * 105 µs of CPU each, so checks started together (the events of a
 * federation transaction or of a room's state) use both cores of the board
 * instead of one. Resolves false for anything verify() would; never rejects.
 */
export function verifyAsync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.length !== 64) return Promise.resolve(false);
  const key = publicKeyObject(publicKey);
  if (!key) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(null, message, key, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}
