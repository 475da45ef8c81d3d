import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  canonicalJson,
  canonicalJsonBytes,
  canonicalProblem,
  canonicalTextProblem,
  compareCodePoints,
  CanonicalJsonError,
  copyJson,
} from '../../src/core/canonical-json.js';
import { roomVersion } from '../../src/core/room-versions.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

interface SpecVector {
  category: string;
  name: string;
  input: unknown;
  input_text: string;
  expected: string;
}

interface GmslVector {
  kind: string;
  name?: string;
  input_text: string;
  expected?: string;
  expected_valid?: boolean | Record<string, boolean>;
  source_path: string;
  notes?: string;
}

t.test('spec vectors: canonical_json', async (t) => {
  const vectors = (load('test-vectors.json').vectors as SpecVector[]).filter((v) => v.category === 'canonical_json');
  t.equal(vectors.length, 10, 'all ten spec vectors are present');
  for (const v of vectors) {
    t.equal(canonicalJson(v.input), v.expected, `${v.name}: from the parsed input`);
    // canonical_json_10 only means something from the raw text (-0, 1e10).
    t.equal(canonicalJson(JSON.parse(v.input_text)), v.expected, `${v.name}: from input_text`);
    t.equal(canonicalJsonBytes(v.input).toString('utf8'), v.expected, `${v.name}: as UTF-8 bytes`);
  }
});

/**
 * gomatrixserverlib's behaviour where it is not the spec's. Our choice is
 * asserted instead, with the reason.
 */
const GMSL_ENCODE_DIVERGENCES: Record<string, { throws: 'CanonicalJsonError' | 'SyntaxError'; why: string }> = {
  // gomatrixserverlib drops the lone surrogate. A lone surrogate has no UTF-8
  // encoding, so there is no canonical form to sign; we refuse the value.
  'json_test.go:118': { throws: 'CanonicalJsonError', why: 'lone surrogate is refused, not dropped' },
  // A lone `"` is not JSON; gomatrixserverlib's byte-level compactor echoes it.
  'json_test.go:121': { throws: 'SyntaxError', why: 'malformed JSON is refused at parse time' },
};

/** Whether a server accepts this JSON text in an event of the room version. */
function acceptedInRoomVersion(text: string, version: string): boolean {
  const rv = roomVersion(version);
  if (!rv) throw new Error(`unknown room version ${version}`);
  JSON.parse(text);
  return rv.strictCanonicalJson ? canonicalTextProblem(text) === undefined : true;
}

t.test('gomatrixserverlib vectors: canonical_json', async (t) => {
  const vectors = load('gomatrixserverlib-vectors.json').canonical_json as GmslVector[];
  t.equal(vectors.length, 48, 'all 48 cases are present');
  const seen: Record<string, number> = {};
  for (const v of vectors) {
    const label = `${v.kind} ${v.source_path}${v.name ? ` (${v.name})` : ''}`;
    seen[v.kind] = (seen[v.kind] ?? 0) + 1;
    switch (v.kind) {
      // Three kinds that all mean: parse the text, encode canonically, compare.
      case 'sort_keys':
      case 'compact_string_escapes':
      case 'canonical_conversion': {
        const divergence = GMSL_ENCODE_DIVERGENCES[v.source_path];
        if (divergence) {
          t.throws(() => canonicalJson(JSON.parse(v.input_text)), { name: divergence.throws }, `${label}: ${divergence.why}`);
          break;
        }
        const out = canonicalJson(JSON.parse(v.input_text));
        t.equal(out, v.expected, label);
        t.equal(canonicalJson(JSON.parse(out)), out, `${label}: the output is a fixed point`);
        break;
      }
      // Room v6+ enforcement on raw text (the spec forbids exponents, fractions and -0 in the text).
      case 'strict_canonical_check_room_v11':
        t.equal(canonicalTextProblem(v.input_text) === undefined, v.expected_valid, label);
        t.equal(acceptedInRoomVersion(v.input_text, '11'), v.expected_valid, `${label}: in room v11`);
        break;
      // expected_valid maps room version -> accepted; v1–v5 must not enforce.
      case 'room_version_number_rules':
        for (const [version, valid] of Object.entries(v.expected_valid as Record<string, boolean>)) {
          t.equal(acceptedInRoomVersion(v.input_text, version), valid, `${label}: room v${version}`);
        }
        break;
      default:
        t.fail(`unknown kind ${v.kind}`);
    }
  }
  t.same(seen, {
    sort_keys: 5,
    compact_string_escapes: 27,
    canonical_conversion: 7,
    strict_canonical_check_room_v11: 6,
    room_version_number_rules: 3,
  });
});

t.test('keys are ordered by code point, not UTF-16 unit', async (t) => {
  const privateUse = '\uE000'; // BMP, U+E000
  const astral = '\u{1F600}'; // U+1F600, UTF-16 D83D DE00: sorts *before* U+E000 by code unit
  t.ok(astral < privateUse, 'precondition: JavaScript compares UTF-16 units');
  t.equal(canonicalJson({ [astral]: 2, [privateUse]: 1 }), `{"${privateUse}":1,"${astral}":2}`);
  t.equal(canonicalJson({ '\uFFFF': 1, '\u{10000}': 2, a: 0 }), '{"a":0,"\uFFFF":1,"\u{10000}":2}');
  t.ok(compareCodePoints(privateUse, astral) < 0);
  t.ok(compareCodePoints(astral, privateUse) > 0);
  t.equal(compareCodePoints(astral, astral), 0);
  t.ok(compareCodePoints('a', 'a\u{1F600}') < 0, 'a prefix sorts first');
  t.ok(compareCodePoints('a\u{1F600}', 'a') > 0);
  t.ok(compareCodePoints('\u{1F600}', '\u{1F601}') < 0, 'two astral characters');
  t.ok(compareCodePoints('B', 'a') < 0, 'uppercase ASCII before lowercase');
  // A fuller check against an independent reference: sort by arrays of code points.
  const words = ['\uE000x', '\u{1F600}', 'z', '\uFFFD', '\u{10FFFF}', '\u00E9', '\uD7FF', '\u{1D11E}a', '\u{1D11E}'];
  const byPoints = [...words].sort((a, b) => {
    const x = [...a].map((c) => c.codePointAt(0)!);
    const y = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
  t.same([...words].sort(compareCodePoints), byPoints);
});

t.test('integers at and beyond ±(2^53−1)', async (t) => {
  const max = 2 ** 53 - 1;
  t.equal(canonicalJson(max), '9007199254740991');
  t.equal(canonicalJson(-max), '-9007199254740991');
  t.equal(canonicalJson({ a: [max, -max] }), '{"a":[9007199254740991,-9007199254740991]}');
  for (const n of [2 ** 53, -(2 ** 53), 2 ** 53 + 2, 1e21, Number.MAX_VALUE]) {
    t.throws(() => canonicalJson(n), CanonicalJsonError, `${n} is refused`);
    t.match(canonicalProblem({ a: n }), /outside/, `canonicalProblem flags ${n}`);
  }
  t.equal(canonicalProblem([max, -max]), undefined);
  t.equal(canonicalTextProblem('[9007199254740991,-9007199254740991]'), undefined);
  // 2^53+1 parses to 2^53 as a double; the text check compares exactly.
  t.match(canonicalTextProblem('[9007199254740993]'), /outside/);
  t.match(canonicalTextProblem('[-9007199254740992]'), /outside/);
  t.match(canonicalTextProblem('{"a":123456789012345678901234567890}'), /outside/);
  t.match(canonicalTextProblem(`[-${'9'.repeat(200_000)}]`), /outside/, 'a very long integer');
});

t.test('floats and non-finite numbers are refused', async (t) => {
  for (const n of [1.5, 0.1, -2.25, 1e-7, NaN, Infinity, -Infinity]) {
    t.throws(() => canonicalJson({ n }), CanonicalJsonError, `${n}`);
    t.ok(canonicalProblem({ n }), `canonicalProblem flags ${n}`);
  }
  t.equal(canonicalJson(1e10), '10000000000', 'an integral double is an integer');
  for (const text of ['[1.0]', '[1e5]', '[1E5]', '[1e+5]', '[10e-1]', '[-1.5]', '{"a":{"b":[0.5]}}']) {
    t.match(canonicalTextProblem(text), /fraction or an exponent/, text);
  }
});

t.test('negative zero', async (t) => {
  t.equal(canonicalJson(-0), '0', 'encoded as 0');
  t.equal(canonicalJson({ a: -0 }), '{"a":0}');
  t.match(canonicalProblem({ a: -0 }), /negative zero/, 'but not canonical as input');
  t.match(canonicalTextProblem('{"a":-0}'), /negative zero/);
  t.match(canonicalTextProblem('{"a":-0.0}'), /fraction/);
  t.equal(canonicalTextProblem('{"a":0,"b":-1}'), undefined);
});

t.test('the text check skips strings and rejects non-JSON', async (t) => {
  t.equal(canonicalTextProblem('{"a":"1.5e3 -0","b\\"1.5":"\\\\","c":[-12,0,7]}'), undefined);
  t.equal(canonicalTextProblem(' {"1e5": "\\u0031.5"} '), undefined);
  t.equal(canonicalTextProblem('"just a string"'), undefined);
  t.equal(canonicalTextProblem('true'), undefined);
  t.match(canonicalTextProblem('{"a":1,}'), /not JSON/);
  t.match(canonicalTextProblem(''), /not JSON/);
  t.match(canonicalTextProblem('{"a":"\\udead"}'), /surrogate/);
  t.match(canonicalTextProblem('{"\\udead":1}'), /surrogate/);
});

t.test('lone surrogates are refused, pairs are written as UTF-8', async (t) => {
  for (const s of ['\uD800', '\uDFFF', 'a\uDC00b', '\uDE00\uD83D']) {
    t.throws(() => canonicalJson({ a: s }), CanonicalJsonError, `value ${JSON.stringify(s)}`);
    t.throws(() => canonicalJson({ [s]: 1 }), CanonicalJsonError, `key ${JSON.stringify(s)}`);
    t.match(canonicalProblem({ a: s }), /surrogate/);
    t.match(canonicalProblem({ [s]: 1 }), /surrogate/);
  }
  t.same([...canonicalJsonBytes('\u{1F600}')], [0x22, 0xf0, 0x9f, 0x98, 0x80, 0x22]);
  t.same([...canonicalJsonBytes('\u00e9')], [0x22, 0xc3, 0xa9, 0x22]);
});

t.test('string escapes are the shortest ones', async (t) => {
  t.equal(canonicalJson('\u0000\u001f\u0008\t\n\u000b\f\r'), '"\\u0000\\u001f\\b\\t\\n\\u000b\\f\\r"');
  t.equal(canonicalJson('"\\/'), '"\\"\\\\/"', 'solidus is not escaped');
  t.equal(canonicalJson('\u007f\u2028\u2029'), '"\u007f\u2028\u2029"', 'DEL and the line separators stay raw');
});

t.test('nesting depth', async (t) => {
  const nest = (levels: number): unknown => {
    let v: unknown = 0;
    for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };
  t.doesNotThrow(() => canonicalJson(nest(513)), 'the encoder takes 513 levels');
  t.throws(() => canonicalJson(nest(514)), CanonicalJsonError, 'and refuses 514 with its own error, not a stack overflow');
  t.throws(() => canonicalJson(nest(100_000)), CanonicalJsonError);
  t.equal(canonicalProblem(nest(100)), undefined, '100 levels pass the default check');
  t.match(canonicalProblem(nest(101)), /deeper than 100/);
  t.equal(canonicalProblem(nest(3), 3), undefined);
  t.match(canonicalProblem(nest(4), 3), /deeper than 3/);
  t.match(canonicalTextProblem(JSON.stringify(nest(101))), /deeper/);
});

t.test('values JSON cannot hold', async (t) => {
  for (const v of [10n, () => 1, Symbol('s'), undefined, new Map([['a', 1]]), new Date(0), new Uint8Array(2), new (class X {})()]) {
    t.throws(() => canonicalJson([v]), CanonicalJsonError, Object.prototype.toString.call(v));
  }
  t.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}', 'an undefined member is left out, as JSON.stringify does');
  t.equal(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 })), '{"a":2,"b":1}', 'null-prototype objects are fine');
});

t.test('a parsed __proto__ key is an ordinary key', async (t) => {
  const parsed = JSON.parse('{"b":1,"__proto__":{"x":1.5}}');
  t.equal(Object.getPrototypeOf(parsed), Object.prototype, 'JSON.parse made it an own property');
  t.throws(() => canonicalJson(parsed), CanonicalJsonError, 'the float under __proto__ is seen');
  t.match(canonicalProblem(parsed), /not an integer/);
  t.equal(canonicalJson(JSON.parse('{"b":1,"__proto__":2}')), '{"__proto__":2,"b":1}');
});

t.test('copyJson: an equal, independent copy; a __proto__ key stays an own property', async (t) => {
  const original = JSON.parse('{"a":[1,{"b":null,"c":"x"}],"d":{"e":true,"f":-5},"__proto__":{"polluted":1}}');
  const copy = copyJson(original);
  t.same(copy, original);
  t.equal(canonicalJson(copy), canonicalJson(original), 'the same canonical JSON');
  copy.a[1].c = 'changed';
  copy.d.e = false;
  t.equal(original.a[1].c, 'x', 'nested objects are copies');
  t.equal(original.d.e, true);
  t.ok(Object.hasOwn(copy, '__proto__'), '__proto__ is an own key of the copy');
  t.equal(Object.getPrototypeOf(copy), Object.prototype, 'the prototype is untouched');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'nothing reached Object.prototype');
  t.equal(copyJson('s'), 's');
  t.equal(copyJson(null), null);
});
