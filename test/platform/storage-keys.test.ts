/**
 * Order-preserving tuple keys: a property test over random tuples (strings
 * holding the escaped bytes \x00-\x02, astral characters and characters from
 * the top of the BMP, numbers up to 2^53-1), checked both as JS strings and
 * through a real LevelDB, which orders keys by their UTF-8 bytes.
 */
import { rng } from '../helpers/random.js';
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/platform/storage/database.js';
import { decodeKey, encodeKey, encodeNumber, prefixRange, type KeyPart } from '../../src/platform/storage/keys.js';


// \x00-\x02 are escaped; \x03 sorts right after the escapes; \uE000/\uFFFF sort
// above surrogates by code unit but below astral characters by code point.
const ALPHABET = ['\x00', '\x01', '\x02', '\x03', '\x1f', 'a', 'b', '~', '\x7f', 'é', 'ÿ', '\u0100', '\uD7FF', '\uE000', '\uFFFF', '😀', '𐀀', '\u{10FFFF}'];
const NUMBERS = [0, 1, 2, 15, 16, 255, 256, 65535, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];

function genPart(r: () => number): KeyPart {
  if (r() < 0.35) {
    const x = r();
    return x < 0.5 ? NUMBERS[Math.floor(r() * NUMBERS.length)]! : Math.floor(r() * (x < 0.8 ? 300 : Number.MAX_SAFE_INTEGER));
  }
  const len = Math.floor(r() * 5);
  let s = '';
  for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

function genTuple(r: () => number, prefix: KeyPart[] = []): KeyPart[] {
  const len = 1 + Math.floor(r() * 4);
  const out = [...prefix];
  while (out.length < prefix.length + len) out.push(genPart(r));
  return out;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return Math.sign(x.length - y.length);
}

/**
 * Tuple order: part by part, numbers numerically, strings by `cmp`, a proper
 * prefix first. Parts of different types at the first difference have no
 * specified order: undefined.
 */
function tupleCompare(a: KeyPart[], b: KeyPart[], cmp: (x: string, y: string) => number): number | undefined {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x !== typeof y) return undefined;
    return typeof x === 'number' ? Math.sign(x - (y as number)) : cmp(x, y as string);
  }
  return Math.sign(a.length - b.length);
}

const startsWith = (tuple: KeyPart[], prefix: KeyPart[]) => tuple.length > prefix.length && prefix.every((p, i) => tuple[i] === p);
const show = (k: KeyPart[]) => JSON.stringify(k);

function corpus(seed: number, n: number): KeyPart[][] {
  const r = rng(seed);
  const out: KeyPart[][] = [];
  for (let i = 0; i < n; i++) {
    // Half the tuples extend an earlier one, so that shared prefixes are common.
    const base = out.length > 0 && r() < 0.5 ? out[Math.floor(r() * out.length)]! : [];
    out.push(genTuple(r, base.slice(0, Math.floor(r() * (base.length + 1)))));
  }
  // Cases the random walk may miss: an empty last part right after a prefix.
  out.push(['a'], ['a', ''], ['a', '', ''], ['a', 0], ['a\x00'], ['a', '\x00'], ['a\x01', 1], ['', ''], [''], ['', 0]);
  return out;
}

const SEEDS = [1, 2, 0xdecaf, Date.now() % 1_000_000];

t.test('decodeKey(encodeKey(x)) is x', async (t) => {
  for (const seed of SEEDS) {
    const bad = corpus(seed, 2000).filter((k) => show(decodeKey(encodeKey(...k))) !== show(k));
    t.same(bad.slice(0, 5).map(show), [], `seed ${seed}: every tuple round-trips`);
  }
  t.same(decodeKey(encodeKey('\x00\x01\x02', Number.MAX_SAFE_INTEGER, '')), ['\x00\x01\x02', Number.MAX_SAFE_INTEGER, '']);
  t.equal(encodeKey('room', 255), 'room\x00\x02000000000000ff', 'numbers are 14 hex digits behind \\x02');
  t.equal(encodeKey('\x00\x01\x02x'), '\x01\x01\x01\x02\x01\x03x', 'the three escapes');
  t.notOk(/\x00/.test(encodeKey('a\x00b')), 'no separator inside a part');
  t.same(decodeKey(encodeKey('\x02' + '0'.repeat(14))), ['\x02' + '0'.repeat(14)], 'a string that looks like an encoded number stays a string');
  t.same(decodeKey(encodeKey('\x01\x02')), ['\x01\x02'], 'an escape character followed by an escapable one');
});

t.test('numbers outside the safe range are refused', async (t) => {
  for (const n of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, -0.5]) {
    t.throws(() => encodeKey('x', n), RangeError, `${n}`);
    t.throws(() => encodeNumber(n), RangeError);
  }
  t.equal(encodeNumber(0), '\x02' + '0'.repeat(14));
});

t.test('encoded order is tuple order (JS strings, by code unit)', async (t) => {
  for (const seed of SEEDS) {
    const keys = corpus(seed, 450);
    const bad: string[] = [];
    let compared = 0;
    for (const a of keys) {
      for (const b of keys) {
        const want = tupleCompare(a, b, byCodeUnit);
        if (want === undefined) continue;
        compared++;
        const got = byCodeUnit(encodeKey(...a), encodeKey(...b));
        if (got !== want && bad.length < 5) bad.push(`${show(a)} vs ${show(b)}: tuple ${want}, encoded ${got}`);
      }
    }
    t.ok(compared > 50_000, `seed ${seed}: ${compared} ordered pairs compared`);
    t.same(bad, [], `seed ${seed}: every pair agrees`);
  }
});

t.test('through LevelDB: iteration order, decode, prefixRange', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'nt-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = await Database.open(join(dir, 'db'));
  t.teardown(() => db.close());

  for (const seed of SEEDS) {
    const tuples = corpus(seed, 600);
    const unique = new Map(tuples.map((k) => [encodeKey(...k), k]));
    await db.write([...unique.keys()].map((key) => ({ type: 'put' as const, key: `${seed}\x00${key}`, value: 1 })));

    const range = { gte: `${seed}\x00`, lt: `${seed}\x01` };
    const stored = (await db.keys(range)).map((k) => k.slice(`${seed}\x00`.length));
    t.equal(stored.length, unique.size, `seed ${seed}: every key stored`);
    const decoded = stored.map((k) => decodeKey(k));
    t.same(
      decoded.filter((d, i) => show(d) !== show(unique.get(stored[i]!)!)).map(show).slice(0, 5),
      [],
      'keys read back from LevelDB decode to their tuples',
    );
    // LevelDB compares UTF-8 bytes, i.e. code points: check every ordered pair.
    const bad: string[] = [];
    for (let i = 0; i < decoded.length; i++) {
      for (let j = i + 1; j < decoded.length; j++) {
        const c = tupleCompare(decoded[i]!, decoded[j]!, byCodePoint);
        if (c !== undefined && c >= 0 && bad.length < 5) bad.push(`${show(decoded[i]!)} before ${show(decoded[j]!)}`);
      }
    }
    t.same(bad, [], `seed ${seed}: LevelDB iterates in tuple order (strings by code point)`);

    // prefixRange: exactly the tuples that extend the prefix by at least one part.
    const r = rng(seed + 7);
    const prefixes: KeyPart[][] = [['a'], [''], ['a', ''], ['a\x00']];
    for (let i = 0; i < 60; i++) {
      const k = tuples[Math.floor(r() * tuples.length)]!;
      prefixes.push(k.slice(0, Math.floor(r() * (k.length + 1))));
    }
    const wrong: string[] = [];
    for (const p of prefixes.filter((p) => p.length > 0)) {
      const pr = prefixRange(...p);
      const want = [...unique.values()].filter((k) => startsWith(k, p)).map(show).sort();
      const jsGot = [...unique.entries()].filter(([e]) => e > pr.gt && e < pr.lt).map(([, k]) => show(k)).sort();
      const dbGot = (await db.keys({ gt: `${seed}\x00${pr.gt}`, lt: `${seed}\x00${pr.lt}` })).map((k) => show(decodeKey(k.slice(`${seed}\x00`.length)))).sort();
      if (show(jsGot) !== show(want) || show(dbGot) !== show(want)) {
        wrong.push(`prefix ${show(p)}: want ${want.length} ${show(want.filter((w) => !dbGot.includes(w)).slice(0, 3))}, LevelDB gave ${dbGot.length}`);
      }
    }
    t.same(wrong.slice(0, 5), [], `seed ${seed}: prefixRange selects exactly the extensions of ${prefixes.length} prefixes`);
  }
});

t.test('prefixRange includes an empty last part and excludes the prefix itself', async (t) => {
  const pr = prefixRange('!room:x', 'm.room.create');
  const inRange = (k: string) => k > pr.gt && k < pr.lt;
  t.ok(inRange(encodeKey('!room:x', 'm.room.create', '')), 'state key "" (the commonest state key)');
  t.ok(inRange(encodeKey('!room:x', 'm.room.create', '', 'more')));
  t.ok(inRange(encodeKey('!room:x', 'm.room.create', 0)));
  t.notOk(inRange(encodeKey('!room:x', 'm.room.create')), 'the prefix tuple itself has no further part');
  t.notOk(inRange(encodeKey('!room:x', 'm.room.create\x00')), 'a longer last part');
  t.notOk(inRange(encodeKey('!room:x', 'm.room.createx', '')));
  t.notOk(inRange(encodeKey('!room:x', 'm.room.creat', 'e')));
});
