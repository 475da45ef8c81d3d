/**
 * Canonical JSON (spec appendix "Canonical JSON"): object keys sorted by
 * Unicode code point, no insignificant whitespace, shortest escapes, and
 * numbers restricted to integers in [-(2^53)+1, (2^53)-1].
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * A deep copy of JSON data (objects, arrays and primitives), for parsed
 * JSON about twenty times cheaper than structuredClone. A `__proto__` key
 * stays an own property, as JSON.parse made it.
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = copyJson((value as Record<string, unknown>)[key]);
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out as T;
}

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Orders strings by Unicode code point. JavaScript's `<` compares UTF-16 code
 * units, which differs from code-point order only when one side holds a
 * surrogate pair and the other a character in U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function encodeString(s: string): string {
  // JSON.stringify already uses the shortest escapes with lowercase \u00XX;
  // a lone surrogate cannot be encoded as UTF-8, so it is refused.
  if (SURROGATE.test(s) && !s.isWellFormed()) throw new CanonicalJsonError('string holds a lone UTF-16 surrogate');
  return JSON.stringify(s);
}

function encode(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      if (!Number.isInteger(value)) throw new CanonicalJsonError(`number ${value} is not an integer`);
      if (value > MAX_SAFE_INTEGER || value < -MAX_SAFE_INTEGER) {
        throw new CanonicalJsonError(`integer ${value} is outside ±(2^53−1)`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth > 512) throw new CanonicalJsonError('value is nested too deeply');
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += encode(value[i], depth + 1);
        }
        return out + ']';
      }
      // Anything but a plain object (Map, Date, Uint8Array, class instances)
      // would otherwise be encoded from its own enumerable keys, often as {}.
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError('only plain objects are JSON objects');
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
      keys.sort(compareCodePoints);
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (i > 0) out += ',';
        out += encodeString(k) + ':' + encode(obj[k], depth + 1);
      }
      return out + '}';
    }
    default:
      throw new CanonicalJsonError(`a ${typeof value} is not a JSON value`);
  }
}

/** Encodes a value as canonical JSON; throws CanonicalJsonError on values canonical JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

/** Canonical JSON as UTF-8 bytes, the form that is hashed and signed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/**
 * Checks that a parsed JSON value could be canonical: integers only, in range,
 * no negative zero, no lone surrogates, nested no deeper than maxDepth.
 * Returns a reason when it is not. Parsing loses how a number was written
 * (`1e5`, `1.0`), which canonicalTextProblem also checks.
 */
export function canonicalProblem(value: unknown, maxDepth = 100): string | undefined {
  const walk = (v: unknown, depth: number): string | undefined => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) return `number ${v} is not an integer`;
      if (v > MAX_SAFE_INTEGER || v < -MAX_SAFE_INTEGER) return `integer ${v} is outside ±(2^53−1)`;
      if (Object.is(v, -0)) return 'negative zero is not canonical';
      return undefined;
    }
    if (typeof v === 'string') return v.isWellFormed() ? undefined : 'a string holds a lone UTF-16 surrogate';
    if (typeof v !== 'object' || v === null) return undefined;
    if (depth >= maxDepth) return `JSON is nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      for (const x of v) {
        const p = walk(x, depth + 1);
        if (p) return p;
      }
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!k.isWellFormed()) return 'a key holds a lone UTF-16 surrogate';
      const p = walk((v as Record<string, unknown>)[k], depth + 1);
      if (p) return p;
    }
    return undefined;
  };
  return walk(value, 0);
}

const MAX_SAFE_BIGINT = BigInt(MAX_SAFE_INTEGER);

/**
 * Checks JSON text the way room versions 6+ enforce canonical JSON: valid
 * JSON whose numbers are written as integers (no fraction, no exponent, no
 * `-0`) within ±(2^53−1), plus everything canonicalProblem checks.
 */
export function canonicalTextProblem(text: string, maxDepth = 100): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the text is not JSON';
  }
  // The text parsed, so its syntax is sound: outside strings, a token that
  // starts with "-" or a digit is a number and runs until a delimiter.
  // (JSON.parse keeps -0, so canonicalProblem finds that one.)
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) continue;
    let j = i + 1;
    for (; j < n; j++) {
      const d = text.charCodeAt(j);
      if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)) break;
    }
    const token = text.slice(i, j);
    if (!/^-?[0-9]+$/.test(token)) return `number ${token} has a fraction or an exponent`;
    // BigInt compares exactly (a double would round 9007199254740993 down);
    // more than 16 digits is out of range without converting a long token.
    const digits = token.length - (c === 0x2d ? 1 : 0);
    if (digits > 16 || BigInt(token) > MAX_SAFE_BIGINT || BigInt(token) < -MAX_SAFE_BIGINT) {
      return `integer ${token.length > 40 ? token.slice(0, 40) + '…' : token} is outside ±(2^53−1)`;
    }
    i = j - 1;
  }
  return canonicalProblem(value, maxDepth);
}
