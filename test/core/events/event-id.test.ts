import t from 'tap';
import { createHash } from 'node:crypto';
import { encodeBase64 } from '../../../src/core/base64.js';
import { canonicalJsonBytes } from '../../../src/core/canonical-json.js';
import { parseEventId, parseRoomId } from '../../../src/core/identifiers.js';
import { EventIdError, eventId, eventReference, roomIdOfCreateEvent, toEvent } from '../../../src/core/events/event-id.js';
import { referenceHash } from '../../../src/core/events/hashes.js';
import { buildEvent } from '../../../src/core/events/sign.js';
import { ALL_VERSIONS, asPdu, rv, specKey } from './helpers.js';

const message = asPdu({
  room_id: '!r:domain',
  sender: '@u:domain',
  type: 'm.room.message',
  content: { body: 'hello' },
  depth: 2,
  origin_server_ts: 1000,
  prev_events: [],
  auth_events: [],
  hashes: { sha256: 'AAAA' },
  signatures: { domain: { 'ed25519:1': 'sig' } },
  unsigned: { age: 1 },
});

t.test('v1/v2 read event_id; without it there is no id', async (t) => {
  const withId = asPdu({ ...message, event_id: '$abc:domain' });
  t.equal(eventId(withId, rv('1')), '$abc:domain');
  t.equal(eventId(withId, rv('2')), '$abc:domain');
  t.throws(() => eventId(message, rv('1')), EventIdError);
});

t.test('v3 is $ + standard base64 of the reference hash, v4+ URL-safe', async (t) => {
  // Find a depth whose reference hash holds "+" or "/" so that the two alphabets differ.
  let pdu = message;
  for (let depth = 1; ; depth++) {
    pdu = asPdu({ ...message, depth });
    if (/[+/]/.test(encodeBase64(referenceHash(pdu, rv('3'))))) break;
  }
  const hash = referenceHash(pdu, rv('4'));
  t.equal(eventId(pdu, rv('3')), '$' + hash.toString('base64').replace(/=+$/, ''));
  for (const id of ['4', '5', '10', '11', '12']) t.equal(eventId(pdu, rv(id)), '$' + hash.toString('base64url'), `v${id}`);
  t.match(eventId(pdu, rv('3')), /[+/]/);
  t.notMatch(eventId(pdu, rv('4')), /[+/=]/);
  t.ok(parseEventId(eventId(pdu, rv('3')), 'v3').ok);
  t.ok(parseEventId(eventId(pdu, rv('4')), 'v4').ok);
});

t.test('the reference hash is the sha256 of the redacted event without signatures and unsigned', async (t) => {
  // For m.room.message the redacted content is {}; hashes stay.
  const { signatures: _s, unsigned: _u, ...rest } = message as Record<string, unknown>;
  const expected = createHash('sha256').update(canonicalJsonBytes({ ...rest, content: {} })).digest();
  t.same(referenceHash(message, rv('10')), expected);
  t.same(referenceHash(asPdu({ ...message, content: { body: 'other' } }), rv('10')), expected, 'redacted content does not count');
  t.same(referenceHash(asPdu({ ...message, unsigned: { age: 99 } }), rv('10')), expected, 'unsigned does not count');
  t.same(referenceHash(asPdu({ ...message, signatures: {} }), rv('10')), expected, 'signatures do not count');
  t.notSame(referenceHash(asPdu({ ...message, hashes: { sha256: 'BBBB' } }), rv('10')), expected, 'hashes count');
  t.notSame(referenceHash(asPdu({ ...message, depth: 3 }), rv('10')), expected, 'depth counts');
});

t.test('v12: the room id is ! + the create event reference hash', async (t) => {
  const version = rv('12');
  const create = buildEvent(
    { type: 'm.room.create', state_key: '', sender: '@u:domain', content: { room_version: '12' }, prev_events: [], auth_events: [], depth: 1, origin_server_ts: 1000 },
    { roomVersion: version, serverName: 'domain', key: specKey },
  );
  t.notOk('room_id' in create.pdu, 'the create event has no room_id');
  t.equal(create.roomId, '!' + encodeBase64(referenceHash(create.pdu, version)).replace(/\+/g, '-').replace(/\//g, '_'));
  t.equal(create.roomId, roomIdOfCreateEvent(create.pdu, version));
  t.equal(create.roomId.slice(1), create.eventId.slice(1), 'room id and event id share the hash');
  t.ok(parseRoomId(create.roomId, 'hash').ok);

  t.throws(() => roomIdOfCreateEvent(create.pdu, rv('11')), EventIdError, 'v11 room ids are not derived');
  t.throws(() => roomIdOfCreateEvent(asPdu({ ...create.pdu, type: 'm.room.topic' }), version), EventIdError, 'only create events define rooms');
});

t.test('eventReference: [id, {sha256}] in v1/v2, the id from v3', async (t) => {
  const withId = asPdu({ ...message, event_id: '$abc:domain' });
  t.same(eventReference(withId, rv('1')), ['$abc:domain', { sha256: encodeBase64(referenceHash(withId, rv('1'))) }]);
  t.equal(eventReference(message, rv('3')), eventId(message, rv('3')));
  t.equal(eventReference(message, rv('12')), eventId(message, rv('12')));
});

t.test('toEvent pairs the pdu with its id and version', async (t) => {
  for (const id of ALL_VERSIONS.filter((v) => rv(v).eventIdFormat !== 'v1')) {
    const event = toEvent(message, rv(id));
    t.equal(event.eventId, eventId(message, rv(id)));
    t.equal(event.roomVersion, id);
    t.equal(event.pdu, message);
  }
});
