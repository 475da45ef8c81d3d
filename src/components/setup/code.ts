/**
 * The one-time setup code that claims the device: generated at the first
 * start, written to `<data-dir>/setup-code.txt` (and to the extra places
 * NEURITE_SETUP_CODE_FILES names, such as the boot partition), compared in
 * constant time, and deleted once setup is complete.
 *
 * 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L): about
 * 59 bits, far beyond what the guess limit lets anyone try.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_FILE = 'setup-code.txt';

export function generateCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

/** What a person typed, in the code's canonical form: case, spaces and dashes do not matter. */
export function normalizeCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Constant time: both sides are hashed to the same length first. */
export function codeMatches(input: string, code: string): boolean {
  const a = createHash('sha256').update(normalizeCode(input)).digest();
  const b = createHash('sha256').update(normalizeCode(code)).digest();
  return timingSafeEqual(a, b);
}

function extraFiles(): string[] {
  return (process.env.NEURITE_SETUP_CODE_FILES ?? '').split(':').filter((p) => p !== '');
}

/**
 * The code of this data directory, made and written on first call. The
 * supervisor calls this as root in a folder the unprivileged user may own
 * (src/supervisor/privileges.ts): only a plain file with one name is read,
 * anything else in its place is removed, and the new file is created
 * exclusively, so that a planted link never makes root read or write
 * through it.
 */
export function ensureCode(dataDir: string): string {
  const file = join(dataDir, CODE_FILE);
  const s = lstatSync(file, { throwIfNoEntry: false });
  if (s?.isFile() && s.nlink === 1) {
    const existing = readFileSync(file, 'utf8').match(/[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}/)?.[0];
    if (existing) return existing;
  }
  if (s) rmSync(file, { force: true, recursive: s.isDirectory() });
  const code = generateCode();
  const text = `${code}\n`;
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  for (const extra of extraFiles()) {
    try {
      writeFileSync(extra, text, { mode: 0o600 });
    } catch {
      // An extra copy is a convenience (the boot partition may be read-only or absent).
    }
  }
  return code;
}

/**
 * Setup is complete: the code is forgotten everywhere it was written. The
 * copy in the data directory must go; an extra copy this process may not
 * remove (the boot partition, when the setup component runs unprivileged)
 * is removed by the supervisor when it starts the configured server.
 */
export function forgetCode(dataDir: string): void {
  rmSync(join(dataDir, CODE_FILE), { force: true });
  for (const extra of extraFiles()) {
    try {
      rmSync(extra, { force: true });
    } catch {
      // See above.
    }
  }
}

/**
 * Wrong guesses: five are free, then each one locks the wizard for twice as
 * long as the last (30 s, 1 min, 2 min … at most an hour). Kept on disk so
 * that a restart does not reset it.
 */
export interface GuessState {
  failures: number;
  locked_until: number;
}

export const FREE_GUESSES = 5;

export function lockedFor(g: GuessState, now: number): number {
  return Math.max(0, g.locked_until - now);
}

export function afterFailure(g: GuessState, now: number): GuessState {
  const failures = g.failures + 1;
  const over = failures - FREE_GUESSES;
  const lock = over > 0 ? Math.min(30_000 * 2 ** (over - 1), 3_600_000) : 0;
  return { failures, locked_until: lock > 0 ? now + lock : 0 };
}
