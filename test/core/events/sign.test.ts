import t from 'tap';
import { referenceIds, type EventReferenceV1, type PDU } from '../../../src/core/events/pdu.js';
import { eventId, eventReference } from '../../../src/core/events/event-id.js';
import { checkContentHash, withContentHash } from '../../../src/core/events/hashes.js';
import { redact } from '../../../src/core/events/redaction.js';
import { buildEvent, EventBuildError, signEvent, verifyEventSignature, type EventPrototype } from '../../../src/core/events/sign.js';
import { validateEvent } from '../../../src/core/events/validate.js';
import { ALL_VERSIONS, asPdu, otherKey, rv, specKey, tamperBase64 } from './helpers.js';

const opts = (id: string) => ({ roomVersion: rv(id), serverName: 'domain', key: specKey });

/** A prototype in the shape the version needs: v1/v2 references are pairs. */
function proto(id: string, extra: Partial<EventPrototype> = {}): EventPrototype {
  const pairs = rv(id).eventIdFormat === 'v1';
  const ref = (local: string): string | EventReferenceV1 =>
    pairs ? [`$${local}:domain`, { sha256: 'OKVqNsbTQAe8Kdk9WqK1wlTxVPpVhTNbKxM4A7XNSK0' }] : rv(id).eventIdFormat === 'v3' ? `$${'a'.repeat(42)}${local}` : `$${'b'.repeat(42)}${local}`;
  return {
    type: 'm.room.message',
    sender: '@u:domain',
    room_id: rv(id).roomIdIsCreateEventHash ? '!' + 'c'.repeat(42) + 'A' : '!r:domain',
    content: { body: 'hello', msgtype: 'm.text' },
    prev_events: [ref('A')] as string[] | EventReferenceV1[],
    auth_events: [ref('E'), ref('I')] as string[] | EventReferenceV1[],
    depth: 4,
    origin_server_ts: 1_700_000_000_000,
    ...extra,
  };
}

t.test('build → verify round trip in every room version', async (t) => {
  for (const id of ALL_VERSIONS) {
    const version = rv(id);
    const built = buildEvent(proto(id), opts(id));
    t.equal(validateEvent(built.pdu, version), undefined, `v${id}: valid`);
    t.equal(await verifyEventSignature(built.pdu, 'domain', 'ed25519:1', specKey.publicKey, version), undefined, `v${id}: signature`);
    t.ok(checkContentHash(built.pdu, version), `v${id}: content hash`);
    t.equal(built.eventId, eventId(built.pdu, version), `v${id}: event id`);
    t.equal(built.roomVersion, id);
    t.equal(built.roomId, built.pdu.room_id);
    // The redacted copy a server might send still verifies.
    t.equal(await verifyEventSignature(redact(built.pdu, version), 'domain', 'ed25519:1', specKey.publicKey, version), undefined, `v${id}: redacted copy verifies`);
    t.notOk(checkContentHash(redact(built.pdu, version), version), `v${id}: but its content hash does not match`);
  }
});

t.test('tampering', async (t) => {
  for (const id of ['1', '5', '10', '12']) {
    const version = rv(id);
    const { pdu } = buildEvent(proto(id), opts(id));
    const check = (p: PDU) => verifyEventSignature(p, 'domain', 'ed25519:1', specKey.publicKey, version);

    const body = asPdu({ ...pdu, content: { ...pdu.content, body: 'evil' } });
    t.equal(await check(body), undefined, `v${id}: content outside the redacted form is not signed directly...`);
    t.notOk(checkContentHash(body, version), `v${id}: ...but the content hash catches it`);

    t.match(await check(asPdu({ ...pdu, sender: '@mallory:domain' })), /does not match/, `v${id}: changed sender`);
    t.match(await check(asPdu({ ...pdu, depth: 5 })), /does not match/, `v${id}: changed depth`);
    const forgedHash = withContentHash(asPdu({ ...pdu, content: { body: 'evil' } }), version);
    t.ok(checkContentHash(forgedHash, version), `v${id}: recomputed hash matches the new content`);
    t.match(await check(forgedHash), /does not match/, `v${id}: but the signature covers hashes`);

    const sig = pdu.signatures.domain!['ed25519:1']!;
    t.match(await check(asPdu({ ...pdu, signatures: { domain: { 'ed25519:1': tamperBase64(sig) } } })), /does not match/, `v${id}: changed signature`);
    t.match(await check(asPdu({ ...pdu, signatures: { domain: { 'ed25519:1': '!!!' } } })), /not base64/, `v${id}: signature not base64`);
    t.match(await check(asPdu({ ...pdu, signatures: {} })), /no signature from domain/, `v${id}: unsigned`);
    t.match(await verifyEventSignature(pdu, 'domain', 'ed25519:2', specKey.publicKey, version), /no signature/, `v${id}: other key id`);
    t.match(await verifyEventSignature(pdu, 'domain', 'ed25519:1', otherKey.publicKey, version), /does not match/, `v${id}: wrong public key`);
    t.match(await verifyEventSignature(pdu, 'elsewhere', 'ed25519:1', specKey.publicKey, version), /no signature from elsewhere/, `v${id}: other server`);

    // unsigned is covered by neither.
    const aged = asPdu({ ...pdu, unsigned: { age: 12345 } });
    t.equal(await check(aged), undefined, `v${id}: unsigned may change`);
    t.ok(checkContentHash(aged, version));
  }
});

t.test('signEvent adds a co-signature and keeps the rest', async (t) => {
  const version = rv('10');
  const { pdu } = buildEvent(proto('10'), opts('10'));
  const cosigned = signEvent(pdu, 'resident.example', otherKey, version);
  t.same(cosigned.hashes, pdu.hashes, 'hashes untouched');
  t.equal(cosigned.signatures.domain!['ed25519:1'], pdu.signatures.domain!['ed25519:1']);
  t.equal(await verifyEventSignature(cosigned, 'domain', 'ed25519:1', specKey.publicKey, version), undefined);
  t.equal(await verifyEventSignature(cosigned, 'resident.example', 'ed25519:other', otherKey.publicKey, version), undefined);
  t.notOk('resident.example' in pdu.signatures, 'the input is not modified');
  t.equal(eventId(cosigned, version), eventId(pdu, version), 'signatures do not change the event id');
});

t.test('buildEvent: v1/v2 shape', async (t) => {
  for (const id of ['1', '2']) {
    const built = buildEvent(proto(id), opts(id));
    t.match(built.pdu.event_id, /^\$[A-Za-z0-9_-]+:domain$/, `v${id}: event_id field`);
    t.equal(built.eventId, built.pdu.event_id);
    t.ok(Array.isArray(built.pdu.prev_events[0]), `v${id}: pairs`);
    t.same(referenceIds(built.pdu.auth_events), ['$E:domain', '$I:domain']);
    t.equal(buildEvent(proto(id), { ...opts(id), localId: 'fixed' }).eventId, '$fixed:domain');
    t.not(buildEvent(proto(id), opts(id)).eventId, built.eventId, 'random local ids differ');
  }
  t.throws(() => buildEvent(proto('1', { prev_events: ['$x:domain'] }), opts('1')), EventBuildError, 'v1 needs the hashes');
});

t.test('buildEvent: v3+ shape', async (t) => {
  for (const id of ['3', '4', '11']) {
    const built = buildEvent(proto(id), opts(id));
    t.notOk('event_id' in built.pdu, `v${id}: no event_id field`);
    t.type(built.pdu.prev_events[0], 'string', `v${id}: plain ids`);
  }
  t.throws(() => buildEvent(proto('4', { prev_events: [['$x:domain', { sha256: 'x' }]] }), opts('4')), EventBuildError, 'v4 takes ids');
});

t.test('buildEvent chains events through eventReference', async (t) => {
  for (const id of ['2', '9']) {
    const first = buildEvent(proto(id), opts(id));
    const ref = eventReference(first.pdu, rv(id));
    const second = buildEvent(proto(id, { prev_events: [ref] as string[] | EventReferenceV1[], depth: 5 }), opts(id));
    t.same(referenceIds(second.pdu.prev_events), [first.eventId]);
    t.equal(validateEvent(second.pdu, rv(id)), undefined);
  }
});

t.test('buildEvent: redacts moves into content from v11', async (t) => {
  const target = '$' + 'd'.repeat(42) + 'A';
  const v10 = buildEvent(proto('10', { type: 'm.room.redaction', content: { reason: 'spam' }, redacts: target }), opts('10'));
  t.equal(v10.pdu.redacts, target);
  t.same(v10.pdu.content, { reason: 'spam' });
  for (const id of ['11', '12']) {
    const built = buildEvent(proto(id, { type: 'm.room.redaction', content: { reason: 'spam' }, redacts: target }), opts(id));
    t.notOk('redacts' in built.pdu, `v${id}: no top-level redacts`);
    t.same(built.pdu.content, { reason: 'spam', redacts: target });
    t.same(redact(built.pdu, rv(id)).content, { redacts: target }, `v${id}: survives redaction`);
  }
});

t.test('buildEvent: v12 create has no room_id, other events need one', async (t) => {
  const create = proto('12', { type: 'm.room.create', state_key: '', content: { room_version: '12' }, prev_events: [], auth_events: [], depth: 1 });
  delete create.room_id;
  const built = buildEvent(create, opts('12'));
  t.notOk('room_id' in built.pdu);
  t.match(built.roomId, /^![A-Za-z0-9_-]{43}$/);

  t.throws(() => buildEvent({ ...create, room_id: '!' + 'c'.repeat(42) + 'A' }, opts('12')), EventBuildError, 'v12 create with a room_id');
  const { room_id: _r, ...noRoom } = proto('12');
  t.throws(() => buildEvent(noRoom, opts('12')), EventBuildError, 'v12 message without a room_id');
  const v11create = proto('11', { type: 'm.room.create', state_key: '', content: {}, prev_events: [], auth_events: [], depth: 1 });
  delete v11create.room_id;
  t.throws(() => buildEvent(v11create, opts('11')), EventBuildError, 'v11 create without a room_id');
});

t.test('buildEvent copies its input and refuses invalid events', async (t) => {
  const p = proto('10');
  const built = buildEvent(p, opts('10'));
  (p.content as Record<string, unknown>).body = 'changed later';
  (p.prev_events as string[]).push('$late');
  t.equal(built.pdu.content.body, 'hello');
  t.equal(built.pdu.prev_events.length, 1);
  t.ok(checkContentHash(built.pdu, rv('10')));

  t.throws(() => buildEvent(proto('10', { content: { x: 1.5 } }), opts('10')), EventBuildError, 'float in v10');
  t.throws(() => buildEvent(proto('10', { type: 'x'.repeat(256) }), opts('10')), /type is longer/);
});

t.test('v1–v5 events with floats hash, sign and verify', async (t) => {
  for (const id of ['1', '5']) {
    const version = rv(id);
    const pl = proto(id, { type: 'm.room.power_levels', state_key: '', content: { users: { '@u:domain': 50.57 }, ban: 50 } });
    const built = buildEvent(pl, opts(id));
    t.equal(built.pdu.content.users && (built.pdu.content.users as Record<string, number>)['@u:domain'], 50.57);
    t.equal(await verifyEventSignature(built.pdu, 'domain', 'ed25519:1', specKey.publicKey, version), undefined, `v${id}: float inside the signed (redacted) content`);
    t.ok(checkContentHash(built.pdu, version));
    const changed = asPdu({ ...built.pdu, content: { ...built.pdu.content, users: { '@u:domain': 50.58 } } });
    t.match(await verifyEventSignature(changed, 'domain', 'ed25519:1', specKey.publicKey, version), /does not match/, `v${id}: float change detected`);
  }
});
