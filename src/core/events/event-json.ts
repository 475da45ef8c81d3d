/**
 * Canonical JSON as a room version understands it. From v6 the strict form
 * applies (integers within ±(2^53−1) only). Versions 1–5 must not enforce it
 * (rooms/fragments/v1-canonical-json.md): their events can carry floats, for
 * instance in power levels, and still have to be hashed and signed.
 */
import { canonicalJson, canonicalJsonBytes, compareCodePoints, CanonicalJsonError } from '../canonical-json.js';
import type { RoomVersion } from '../room-versions.js';

// Same bound as the strict encoder, so both refuse the same pathological input.
const MAX_NESTING = 512;

/**
 * The legacy encoding: canonical in every respect except numbers, which are
 * written in JavaScript's shortest round-trip form. Numbers past 2^53 have
 * already lost precision when parsed, so their hashes cannot match the
 * origin's; that is a limit of holding JSON as JavaScript values.
 */
function encodeLenient(value: unknown, depth: number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`number ${value} is not finite`);
    return Object.is(value, -0) ? '0' : JSON.stringify(value);
  }
  if (typeof value !== 'object' || value === null) return canonicalJson(value);
  if (depth > MAX_NESTING) throw new CanonicalJsonError('value is nested too deeply');
  if (Array.isArray(value)) return '[' + value.map((v) => encodeLenient(v, depth + 1)).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareCodePoints);
  return '{' + keys.map((k) => canonicalJson(k) + ':' + encodeLenient(obj[k], depth + 1)).join(',') + '}';
}

/** Canonical JSON bytes of value under the room version's number rules; throws CanonicalJsonError. */
export function eventJsonBytes(value: unknown, version: RoomVersion): Buffer {
  if (version.strictCanonicalJson) return canonicalJsonBytes(value);
  return Buffer.from(encodeLenient(value, 0), 'utf8');
}
