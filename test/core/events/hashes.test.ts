import t from 'tap';
import { createHash } from 'node:crypto';
import { CanonicalJsonError } from '../../../src/core/canonical-json.js';
import { encodeBase64 } from '../../../src/core/base64.js';
import { checkContentHash, contentHash, referenceHash, withContentHash } from '../../../src/core/events/hashes.js';
import { eventJsonBytes } from '../../../src/core/events/event-json.js';
import { asPdu, rv, tamperBase64 } from './helpers.js';

const event = {
  room_id: '!r:domain',
  sender: '@u:domain',
  type: 'm.room.message',
  content: { body: 'hello' },
  depth: 2,
  origin_server_ts: 1000,
  prev_events: [],
  auth_events: [],
  hashes: { sha256: 'ignored' },
  signatures: { domain: { 'ed25519:1': 'ignored' } },
  unsigned: { age: 1 },
};

t.test('the content hash covers everything but unsigned, signatures and hashes', async (t) => {
  const v = rv('10');
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event;
  const expected = createHash('sha256').update(JSON.stringify(Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1))))).digest();
  t.same(contentHash(event, v), expected);
  t.same(contentHash({ ...event, unsigned: { age: 2 } }, v), expected, 'unsigned excluded');
  t.same(contentHash({ ...event, signatures: {} }, v), expected, 'signatures excluded');
  t.same(contentHash({ ...event, hashes: { sha256: 'x', other: 'y' } }, v), expected, 'hashes excluded');
  t.notSame(contentHash({ ...event, content: { body: 'hellO' } }, v), expected, 'content included');
  t.notSame(contentHash({ ...event, origin: 'domain' }, v), expected, 'unknown top-level keys included');
});

t.test('withContentHash sets sha256 and keeps other algorithms', async (t) => {
  const v = rv('10');
  const hashed = withContentHash({ ...event, hashes: { sha256: 'old', blake3: 'keep' } }, v);
  t.same(hashed.hashes, { sha256: encodeBase64(contentHash(event, v)), blake3: 'keep' });
  t.equal(event.hashes.sha256, 'ignored', 'input untouched');
});

t.test('checkContentHash', async (t) => {
  const v = rv('10');
  const good = withContentHash(event, v);
  t.ok(checkContentHash(good, v));
  t.ok(checkContentHash({ ...good, hashes: { sha256: good.hashes.sha256 + '=' } }, v), 'padded base64 is accepted');
  t.notOk(checkContentHash({ ...good, content: { body: 'changed' } }, v), 'changed content');
  t.notOk(checkContentHash({ ...good, hashes: { sha256: tamperBase64(good.hashes.sha256) } }, v), 'changed hash');
  t.notOk(checkContentHash({ ...good, hashes: { sha256: good.hashes.sha256.slice(0, 40) } }, v), 'truncated hash');
  t.notOk(checkContentHash({ ...good, hashes: { sha256: '%%%' } }, v), 'not base64');
  t.notOk(checkContentHash({ ...good, hashes: {} }, v), 'no sha256');
  t.notOk(checkContentHash({ ...good, hashes: undefined }, v), 'no hashes');
  t.notOk(checkContentHash({ ...good, content: { x: 1.5 } }, v), 'unencodable in v10: false, not a throw');
});

t.test('v1–v5 hash floats, v6+ refuse them', async (t) => {
  const floaty = { ...event, content: { users: { '@u:domain': 50.57 } } };
  t.equal(eventJsonBytes(floaty.content, rv('5')).toString(), '{"users":{"@u:domain":50.57}}');
  t.ok(checkContentHash(withContentHash(floaty, rv('5')), rv('5')));
  t.throws(() => contentHash(floaty, rv('6')), CanonicalJsonError);
  t.throws(() => contentHash({ ...event, content: { x: Infinity } }, rv('5')), CanonicalJsonError, 'infinity has no JSON form');
  // Legacy encoding is otherwise canonical: sorted keys, no spaces, -0 as 0.
  t.equal(eventJsonBytes({ b: 1, a: [-0, 2.5e-7, true, null, 'é'] }, rv('1')).toString(), '{"a":[0,2.5e-7,true,null,"é"],"b":1}');
  t.equal(eventJsonBytes({ b: 1, a: [-0, 2, true, null, 'é'] }, rv('1')).toString(), eventJsonBytes({ b: 1, a: [-0, 2, true, null, 'é'] }, rv('6')).toString(), 'same bytes as strict when there are no floats');
});

t.test('reference hash ignores what redaction removes', async (t) => {
  const v = rv('10');
  const pdu = asPdu(withContentHash(event, v));
  const ref = referenceHash(pdu, v);
  t.same(referenceHash(asPdu({ ...pdu, content: {} }), v), ref, 'redacted copy: same reference hash, so the same event id');
  t.notSame(referenceHash(asPdu(withContentHash({ ...event, content: { body: 'other' } }, v)), v), ref, 'a new content hash changes it');
});
