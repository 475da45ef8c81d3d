/**
 * Ed25519 in pure JavaScript (tweetnacl): the second implementation the
 * tests cross-check node:crypto against. The server itself does not load it.
 */
import nacl from 'tweetnacl';

/** The pure-JavaScript implementation, kept for cross-checking and benchmarks. */
export const tweetnacl = {
  publicKeyFromSeed(seed: Uint8Array): Uint8Array {
    return nacl.sign.keyPair.fromSeed(seed).publicKey;
  },
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
    return nacl.sign.detached(message, nacl.sign.keyPair.fromSeed(seed).secretKey);
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    return nacl.sign.detached.verify(message, signature, publicKey);
  },
};
