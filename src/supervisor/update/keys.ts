/**
 * Release keys. A public key file holds one `ed25519:<base64>` line (comments
 * start with #); a secret key file holds `ed25519-seed:<base64 of the 32-byte
 * seed>`. The device trusts the key baked into its root file system.
 */
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import nacl from 'tweetnacl';
import { BundleError } from './bundle.js';

export const SYSTEM_PUBLIC_KEY = '/etc/neurite/release.pub';
export const SYSTEM_BOARD_FILE = '/etc/neurite/board';

function keyLine(text: string, prefix: string, file: string): Uint8Array {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.startsWith(prefix));
  const raw = line ? Buffer.from(line.slice(prefix.length), 'base64') : undefined;
  if (!raw || raw.length !== 32) throw new BundleError(`${file} holds no ${prefix}<base64 of 32 bytes> line`);
  return new Uint8Array(raw);
}

export function parsePublicKey(text: string, file = 'the key'): Uint8Array {
  return keyLine(text, 'ed25519:', file);
}

export function readPublicKey(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BundleError(`cannot read the release public key ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parsePublicKey(text, file);
}

/** The secret key (tweetnacl's 64-byte form) and its public key, from a seed file. */
export function readSecretKey(file: string): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const seed = keyLine(readFileSync(file, 'utf8'), 'ed25519-seed:', file);
  const kp = nacl.sign.keyPair.fromSeed(seed);
  return { secretKey: kp.secretKey, publicKey: kp.publicKey };
}

export function formatKeyPair(seed: Uint8Array, header: string): { secret: string; public: string } {
  const kp = nacl.sign.keyPair.fromSeed(seed);
  const comment = header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n');
  return {
    secret: `${comment}\ned25519-seed:${Buffer.from(seed).toString('base64')}\n`,
    public: `${comment}\ned25519:${Buffer.from(kp.publicKey).toString('base64')}\n`,
  };
}

/** The keys this system trusts for application bundles: NEURITE_RELEASE_PUBKEY, else the baked-in one. */
export function trustedKeys(file = process.env.NEURITE_RELEASE_PUBKEY || SYSTEM_PUBLIC_KEY): Uint8Array[] {
  return [readPublicKey(file)];
}

/** This board's name: NEURITE_BOARD, else the image's /etc/neurite/board, else generic-<arch> (development machines). */
export function currentBoard(): string {
  if (process.env.NEURITE_BOARD) return process.env.NEURITE_BOARD;
  try {
    const b = readFileSync(SYSTEM_BOARD_FILE, 'utf8').trim();
    if (b) return b;
  } catch {
    /* not the appliance */
  }
  return `generic-${arch()}`;
}
