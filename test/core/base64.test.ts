import t from 'tap';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { decodeBase64, encodeBase64, encodeBase64Url } from '../../src/core/base64.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

t.test('spec vectors: unpadded_base64', async (t) => {
  const vectors = (load('test-vectors.json').vectors as { category: string; name: string; input: string; expected: string }[]).filter(
    (v) => v.category === 'unpadded_base64',
  );
  t.equal(vectors.length, 7, 'all seven spec vectors are present');
  for (const v of vectors) {
    const bytes = Buffer.from(v.input, 'utf8');
    t.equal(encodeBase64(bytes), v.expected, `${v.name}: encode`);
    t.same(decodeBase64(v.expected), bytes, `${v.name}: decode`);
    const padded = v.expected + '='.repeat((4 - (v.expected.length % 4)) % 4);
    t.same(decodeBase64(padded), bytes, `${v.name}: decode with padding ${JSON.stringify(padded)}`);
  }
});

t.test('the two alphabets', async (t) => {
  const bytes = Uint8Array.from([0xfb, 0xff, 0xbf]);
  t.equal(encodeBase64(bytes), '+/+/');
  t.equal(encodeBase64Url(bytes), '-_-_');
  t.equal(encodeBase64Url(Uint8Array.from([0xfb, 0xff])), '-_8', 'URL-safe is unpadded too');
  t.same(decodeBase64('+/+/'), Buffer.from(bytes));
  t.same(decodeBase64('-_-_'), Buffer.from(bytes));
  t.same(decodeBase64('-_8='), Buffer.from([0xfb, 0xff]), 'padded URL-safe');
  t.equal(decodeBase64('+_8'), undefined, 'mixed alphabets are refused');
  t.equal(decodeBase64('-/8'), undefined);
});

t.test('malformed base64 is refused', async (t) => {
  for (const text of ['Z', 'Zm9vY', 'Zg=', 'Zm9v==', 'Zm9v=', '=', '==', 'Zg===', 'Z=g', 'Zm 9v', 'Zm9v\n', 'Zm9v!', 'Zg==Zg', 'é']) {
    t.equal(decodeBase64(text), undefined, JSON.stringify(text));
  }
  t.same(decodeBase64(''), Buffer.alloc(0), 'empty text is zero bytes');
});

t.test('spare bits in the last character are ignored', async (t) => {
  // The spec's signing test key: its last character "1" leaves non-zero spare bits.
  const seed = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
  t.equal(seed?.toString('hex'), '6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d');
  t.same(decodeBase64('Zh'), decodeBase64('Zg'));
});

t.test('encoding reads only the view, not the whole buffer', async (t) => {
  const backing = Uint8Array.from([1, 2, 3, 0x66, 0x6f, 0x6f, 9, 9]);
  const view = new Uint8Array(backing.buffer, 3, 3);
  t.equal(encodeBase64(view), 'Zm9v');
  t.equal(encodeBase64Url(view), 'Zm9v');
});

t.test('round trips of every length up to 66 bytes', async (t) => {
  for (let n = 0; n <= 66; n++) {
    const bytes = randomBytes(n);
    const std = encodeBase64(bytes);
    const url = encodeBase64Url(bytes);
    t.notOk(std.includes('=') || url.includes('='), `length ${n}: unpadded`);
    t.equal(std.length, Math.ceil((n * 4) / 3));
    t.same(decodeBase64(std), bytes);
    t.same(decodeBase64(url), bytes);
    t.equal(url, std.replaceAll('+', '-').replaceAll('/', '_'));
  }
});
