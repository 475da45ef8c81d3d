/**
 * Order-preserving composite keys for LevelDB. A key is a tuple of parts;
 * encoded keys sort exactly as the tuples do (strings by code unit, numbers
 * numerically), so a prefix of parts selects a contiguous range.
 *
 * Strings are escaped so that neither the separator (\x00) nor the number
 * marker (\x02) can appear inside a part: \x00 → \x01\x01, \x01 → \x01\x02,
 * \x02 → \x01\x03. Order is kept because every escape starts with \x01 and
 * its second byte keeps the original order. Numbers are non-negative safe
 * integers written as 14 hex digits behind the \x02 marker.
 */

export type KeyPart = string | number;

const SEP = '\x00';
const NUM = '\x02';

function encodeString(s: string): string {
  // Fast path: ids and event types never hold control characters.
  if (!/[\x00-\x02]/.test(s)) return s;
  return s.replace(/[\x00-\x02]/g, (c) => '\x01' + String.fromCharCode(c.charCodeAt(0) + 1));
}

function decodeString(s: string): string {
  if (!s.includes('\x01')) return s;
  return s.replace(/\x01([\x01-\x03])/g, (_, c: string) => String.fromCharCode(c.charCodeAt(0) - 1));
}

export function encodeNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`key number ${n} is not a non-negative safe integer`);
  return NUM + n.toString(16).padStart(14, '0');
}

export function encodeKey(...parts: KeyPart[]): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out += SEP;
    const p = parts[i]!;
    out += typeof p === 'number' ? encodeNumber(p) : encodeString(p);
  }
  return out;
}

export function decodeKey(key: string): KeyPart[] {
  return key.split(SEP).map((p) => (p.startsWith(NUM) && p.length === 15 ? parseInt(p.slice(1), 16) : decodeString(p)));
}

/**
 * The range holding every key that starts with these parts (and at least one more part).
 * `gt` is the prefix's own key, not `base + SEP`: a following empty string part
 * (state key "") encodes to exactly `base + SEP`, and nothing sorts between
 * `base` and `base + SEP`.
 */
export function prefixRange(...parts: KeyPart[]): { gt: string; lt: string } {
  const base = encodeKey(...parts);
  return { gt: base, lt: base + '\x01' };
}
