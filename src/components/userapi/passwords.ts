/**
 * Password hashes: scrypt from node:crypto with N=2^14, r=8, p=1, which
 * needs 16 MiB and takes tens of milliseconds on a Raspberry Pi 4 class
 * CPU: slow for a guesser with a stolen database, bearable for a login.
 * The stored form names its parameters so that they can change later.
 *
 * A check against an unknown user runs the same computation against a dummy
 * hash, so that the answer's timing does not tell which users exist.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

const CURRENT: ScryptParams = { N: 16384, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Longer inputs are refused before hashing: nobody types more, and scrypt's cost grows with the input. */
export const MAX_PASSWORD_LENGTH = 512;

/** The key derivation; a parameter of verifyPassword so that a test can count the work done. */
export type Kdf = (password: string, salt: Buffer, params: ScryptParams) => Promise<Buffer>;

export const scryptKdf: Kdf = (password, salt, params) => {
  return new Promise((resolve, reject) => {
    // maxmem: 128·N·r bytes plus slack; node's default (32 MiB) is enough for these parameters but not for stronger ones.
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { ...params, maxmem: 256 * params.N * params.r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
};

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptKdf(password, salt, CURRENT);
  return `scrypt$${CURRENT.N}$${CURRENT.r}$${CURRENT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return undefined;
  return { params: { N, r, p }, salt: Buffer.from(parts[4]!, 'base64'), key: Buffer.from(parts[5]!, 'base64') };
}

/** A hash no password matches (random key), computed with the current parameters like a real one. */
const DUMMY = `scrypt$${CURRENT.N}$${CURRENT.r}$${CURRENT.p}$${randomBytes(SALT_BYTES).toString('base64')}$${randomBytes(KEY_BYTES).toString('base64')}`;

/**
 * True when `password` matches `stored`. With no stored hash (unknown user,
 * no password set) it hashes against a dummy anyway and answers false.
 */
export async function verifyPassword(password: string, stored: string | undefined, kdf: Kdf = scryptKdf): Promise<boolean> {
  const parsed = parse(stored ?? DUMMY) ?? parse(DUMMY)!;
  const key = await kdf(password, parsed.salt, parsed.params);
  const match = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  return match && stored !== undefined;
}
