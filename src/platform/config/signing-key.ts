/**
 * The server's signing key file, in the format Synapse and its tools use:
 * one line `ed25519 <version> <unpadded base64 seed>`.
 */
import { readFileSync } from 'node:fs';
import { decodeBase64, encodeBase64 } from '../../core/base64.js';
import { signingKeyFromSeed, type SigningKey } from '../../core/ed25519.js';

export function formatSigningKey(key: SigningKey): string {
  const version = key.keyId.slice('ed25519:'.length);
  return `ed25519 ${version} ${encodeBase64(key.seed)}\n`;
}

export function parseSigningKey(text: string, source = 'signing key'): SigningKey {
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  const parts = line?.trim().split(/\s+/) ?? [];
  if (parts.length !== 3 || parts[0] !== 'ed25519') throw new Error(`${source}: expected "ed25519 <version> <base64 seed>"`);
  const seed = decodeBase64(parts[2]!);
  if (!seed || seed.length !== 32) throw new Error(`${source}: the seed is not 32 bytes of base64`);
  return signingKeyFromSeed(`ed25519:${parts[1]}`, seed);
}

export function readSigningKey(path: string): SigningKey {
  return parseSigningKey(readFileSync(path, 'utf8'), path);
}
