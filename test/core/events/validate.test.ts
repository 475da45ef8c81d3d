import t from 'tap';
import { canonicalJsonBytes, type JsonObject } from '../../../src/core/canonical-json.js';
import { eventJsonBytes } from '../../../src/core/events/event-json.js';
import { buildEvent, EventBuildError } from '../../../src/core/events/sign.js';
import { MAX_AUTH_EVENTS, MAX_PDU_BYTES, MAX_PREV_EVENTS, validateEvent } from '../../../src/core/events/validate.js';
import { ALL_VERSIONS, rv, specKey } from './helpers.js';

const HASH_ROOM = '!' + 'R'.repeat(42) + 'A';

function idFor(id: string, n: number): string {
  const format = rv(id).eventIdFormat;
  if (format === 'v1') return `$e${n}:example.org`;
  // 43 characters; the last one must leave the spare bits zero.
  return '$' + String(n).padStart(42, format === 'v3' ? '+' : '-') + 'A';
}

function refsFor(id: string, count: number): unknown[] {
  return Array.from({ length: count }, (_, n) =>
    rv(id).eventIdFormat === 'v1' ? [idFor(id, n), { sha256: 'aGFzaA' }] : idFor(id, n),
  );
}

/** A valid event of the version, as received (hashes and signatures need not verify for format checks). */
function valid(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const version = rv(id);
  const pdu: Record<string, unknown> = {
    room_id: version.roomIdIsCreateEventHash ? HASH_ROOM : '!room:example.org',
    sender: '@alice:example.org',
    type: 'm.room.message',
    content: { body: 'hi' },
    depth: 10,
    origin_server_ts: 1_700_000_000_000,
    prev_events: refsFor(id, 1),
    auth_events: refsFor(id, 3),
    hashes: { sha256: 'A'.repeat(43) },
    signatures: { 'example.org': { 'ed25519:a': 'S'.repeat(86) } },
    unsigned: { age: 5 },
  };
  if (version.eventIdFormat === 'v1') pdu.event_id = '$local:example.org';
  return { ...pdu, ...extra };
}

function without(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _drop, ...rest } = obj;
  return rest;
}

t.test('a well-formed event passes in every version', async (t) => {
  for (const id of ALL_VERSIONS) t.equal(validateEvent(valid(id), rv(id)), undefined, `v${id}`);
});

t.test('total size: 65536 bytes pass, 65537 do not', async (t) => {
  for (const id of ['1', '6', '12']) {
    const version = rv(id);
    const size = (body: string) => canonicalJsonBytes(valid(id, { content: { body } })).length;
    const body = 'x'.repeat(MAX_PDU_BYTES - size(''));
    t.equal(size(body), 65536);
    t.equal(validateEvent(valid(id, { content: { body } }), version), undefined, `v${id}: 65536 bytes`);
    t.match(validateEvent(valid(id, { content: { body: body + 'x' } }), version), /65537 bytes/, `v${id}: 65537 bytes`);
    // Multi-byte characters count as bytes, and unsigned and signatures count too.
    t.match(validateEvent(valid(id, { content: { body: body.slice(1) + 'é' } }), version), /65537 bytes/, `v${id}: é is two bytes`);
    t.match(validateEvent(valid(id, { content: { body }, unsigned: { age: 55 } }), version), /65537 bytes/, `v${id}: unsigned counts`);
  }
});

t.test('buildEvent enforces the size limit on the signed event', async (t) => {
  const opts = { roomVersion: rv('10'), serverName: 'example.org', key: specKey };
  const proto = (body: string) => ({
    type: 'm.room.message', sender: '@alice:example.org', room_id: '!room:example.org', content: { body },
    prev_events: [] as string[], auth_events: [] as string[], depth: 1, origin_server_ts: 1_700_000_000_000,
  });
  // Hashes and signatures have fixed lengths, so one measurement tells how much to pad.
  const small = buildEvent(proto(''), opts);
  const fill = MAX_PDU_BYTES - canonicalJsonBytes(small.pdu).length;
  const atLimit = buildEvent(proto('x'.repeat(fill)), opts);
  t.equal(canonicalJsonBytes(atLimit.pdu).length, 65536);
  t.throws(() => buildEvent(proto('x'.repeat(fill + 1)), opts), EventBuildError);
  // The limit is in bytes of canonical JSON: multi-byte characters and escapes count as what they encode to.
  for (const [what, unit, bytes] of [['é', 'é', 2], ['\\u0001', '\u0001', 6], ['a quote', '"', 2], ['€', '€', 3]] as const) {
    const n = Math.floor(fill / bytes);
    const pad = 'x'.repeat(fill - n * bytes);
    const fits = buildEvent(proto(unit.repeat(n) + pad), opts);
    t.equal(canonicalJsonBytes(fits.pdu).length, 65536, `${what}: 65536 bytes`);
    t.throws(() => buildEvent(proto(unit.repeat(n) + pad + 'x'), opts), /65537 bytes/, `${what}: 65537 bytes refused`);
  }
});

t.test('buildEvent: the size limit in room versions with lenient numbers (v1) and without a room id in create (v12)', async (t) => {
  const v1 = { roomVersion: rv('1'), serverName: 'example.org', key: specKey, localId: 'abc' };
  const message = (content: JsonObject) => ({
    type: 'm.room.message', sender: '@alice:example.org', room_id: '!room:example.org', content,
    prev_events: [] as [string, { sha256: string }][], auth_events: [] as [string, { sha256: string }][], depth: 1, origin_server_ts: 1_700_000_000_000,
  });
  const small = buildEvent(message({ body: '', f: 1.25 }), v1);
  const fill = MAX_PDU_BYTES - eventJsonBytes(small.pdu, rv('1')).length;
  t.equal(eventJsonBytes(buildEvent(message({ body: 'x'.repeat(fill), f: 1.25 }), v1).pdu, rv('1')).length, 65536);
  t.throws(() => buildEvent(message({ body: 'x'.repeat(fill + 1), f: 1.25 }), v1), /65537 bytes/);

  const v12 = { roomVersion: rv('12'), serverName: 'example.org', key: specKey };
  const create = (pad: string) => ({
    type: 'm.room.create', state_key: '', sender: '@alice:example.org', content: { room_version: '12', pad },
    prev_events: [] as string[], auth_events: [] as string[], depth: 1, origin_server_ts: 1_700_000_000_000,
  });
  const c = buildEvent(create(''), v12);
  const cfill = MAX_PDU_BYTES - canonicalJsonBytes(c.pdu).length;
  t.equal(canonicalJsonBytes(buildEvent(create('x'.repeat(cfill)), v12).pdu).length, 65536);
  t.throws(() => buildEvent(create('x'.repeat(cfill + 1)), v12), /65537 bytes/);
});

t.test('255-byte limits', async (t) => {
  const v = rv('10');
  t.equal(validateEvent(valid('10', { type: 't'.repeat(255) }), v), undefined);
  t.match(validateEvent(valid('10', { type: 't'.repeat(256) }), v), /type is longer than 255 bytes/);
  t.equal(validateEvent(valid('10', { state_key: 's'.repeat(255) }), v), undefined);
  t.match(validateEvent(valid('10', { state_key: 's'.repeat(254) + 'é' }), v), /state_key is longer/, 'bytes, not characters');
  const user = (n: number) => '@' + 'u'.repeat(n - '@:example.org'.length) + ':example.org';
  t.equal(validateEvent(valid('10', { sender: user(255) }), v), undefined);
  t.match(validateEvent(valid('10', { sender: user(256) }), v), /sender.*255 bytes/);
  const room = (n: number) => '!' + 'r'.repeat(n - '!:example.org'.length) + ':example.org';
  t.equal(validateEvent(valid('10', { room_id: room(255) }), v), undefined);
  t.match(validateEvent(valid('10', { room_id: room(256) }), v), /room_id.*255 bytes/);
  const event = (n: number) => '$' + 'e'.repeat(n - '$:example.org'.length) + ':example.org';
  t.equal(validateEvent(valid('1', { event_id: event(255) }), rv('1')), undefined);
  t.match(validateEvent(valid('1', { event_id: event(256) }), rv('1')), /event_id.*255 bytes/);
});

t.test('floats and out-of-range integers are rejected only from v6', async (t) => {
  for (const id of ALL_VERSIONS) {
    const strict = rv(id).strictCanonicalJson;
    const float = validateEvent(valid(id, { content: { body: 'hi', x: 1.5 } }), rv(id));
    const big = validateEvent(valid(id, { content: { body: 'hi', n: 2 ** 53 } }), rv(id));
    if (strict) {
      t.match(float, /canonical JSON.*not an integer/, `v${id}: float rejected`);
      t.match(big, /canonical JSON.*outside/, `v${id}: 2^53 rejected`);
    } else {
      t.equal(float, undefined, `v${id}: float accepted`);
      t.equal(big, undefined, `v${id}: 2^53 accepted`);
    }
    t.equal(validateEvent(valid(id, { content: { n: Number.MAX_SAFE_INTEGER, m: -Number.MAX_SAFE_INTEGER } }), rv(id)), undefined, `v${id}: ±(2^53−1) accepted`);
  }
  t.equal(strictFrom(), '6');
  // JSON.parse turns 1e400 into Infinity: beyond a double, rejected everywhere.
  t.match(validateEvent(valid('5', { content: JSON.parse('{"x": 1e400}') }), rv('5')), /not finite/);
});

function strictFrom(): string | undefined {
  return ALL_VERSIONS.find((id) => rv(id).strictCanonicalJson);
}

t.test('depth and origin_server_ts', async (t) => {
  for (const key of ['depth', 'origin_server_ts']) {
    t.match(validateEvent(valid('5', { [key]: 1.5 }), rv('5')), new RegExp(`${key} is not an integer`));
    t.match(validateEvent(valid('10', { [key]: 1.5 }), rv('10')), /canonical JSON.*not an integer/, 'v6+: caught as non-canonical');
    t.match(validateEvent(valid('10', { [key]: '10' }), rv('10')), new RegExp(`${key} is not an integer`));
    t.match(validateEvent(valid('10', { [key]: -1 }), rv('10')), new RegExp(`${key} -1 is outside`));
    t.match(validateEvent(without(valid('10'), key), rv('10')), new RegExp(`${key} is not an integer`));
    t.equal(validateEvent(valid('10', { [key]: 0 }), rv('10')), undefined);
    t.equal(validateEvent(valid('10', { [key]: Number.MAX_SAFE_INTEGER }), rv('10')), undefined);
    // v1–v5 allow int64 values (as far as a double can hold them).
    t.equal(validateEvent(valid('5', { [key]: 2 ** 60 }), rv('5')), undefined, `${key} 2^60 in v5`);
    t.match(validateEvent(valid('5', { [key]: 2 ** 64 }), rv('5')), /outside/, `${key} 2^64 in v5`);
    t.match(validateEvent(valid('6', { [key]: 2 ** 60 }), rv('6')), /outside|canonical/, `${key} 2^60 in v6`);
  }
});

t.test('prev_events ≤ 20 and auth_events ≤ 10', async (t) => {
  for (const id of ['1', '3', '4', '12']) {
    const v = rv(id);
    t.equal(validateEvent(valid(id, { prev_events: refsFor(id, MAX_PREV_EVENTS) }), v), undefined, `v${id}: 20 prev`);
    t.match(validateEvent(valid(id, { prev_events: refsFor(id, 21) }), v), /prev_events has 21 entries/, `v${id}: 21 prev`);
    t.equal(validateEvent(valid(id, { auth_events: refsFor(id, MAX_AUTH_EVENTS) }), v), undefined, `v${id}: 10 auth`);
    t.match(validateEvent(valid(id, { auth_events: refsFor(id, 11) }), v), /auth_events has 11 entries/, `v${id}: 11 auth`);
    t.equal(validateEvent(valid(id, { prev_events: [] }), v), undefined, `v${id}: empty prev_events`);
  }
});

t.test('reference shapes per version', async (t) => {
  t.match(validateEvent(valid('1', { prev_events: ['$a:example.org'] }), rv('1')), /pairs/);
  t.match(validateEvent(valid('1', { prev_events: [['$a:example.org', {}]] }), rv('1')), /sha256/);
  t.match(validateEvent(valid('4', { prev_events: [['$a:example.org', { sha256: 'x' }]] }), rv('4')), /event ids/);
  t.match(validateEvent(valid('4', { prev_events: ['$a:example.org'] }), rv('4')), /invalid event id/, 'v4 ids are hashes');
  t.match(validateEvent(valid('4', { prev_events: [idFor('3', 1)] }), rv('4')), /invalid event id/, 'a v3 id (with +) in a v4 room');
  t.match(validateEvent(valid('3', { prev_events: [idFor('4', 1)] }), rv('3')), /invalid event id/, 'a v4 id (with -) in a v3 room');
  t.match(validateEvent(valid('4', { auth_events: 'nope' }), rv('4')), /auth_events is not an array/);
});

t.test('room_id grammar: !local:server until v11, ! + hash in v12', async (t) => {
  t.equal(validateEvent(valid('11', { room_id: '!abc:example.org' }), rv('11')), undefined);
  t.match(validateEvent(valid('11', { room_id: HASH_ROOM }), rv('11')), /room_id/);
  t.match(validateEvent(valid('11', { room_id: 'abc:example.org' }), rv('11')), /room_id/);
  t.match(validateEvent(valid('11', { room_id: '!abc:bad_server' }), rv('11')), /room_id/);
  t.match(validateEvent(valid('12', { room_id: '!abc:example.org' }), rv('12')), /room_id/);
  t.equal(validateEvent(valid('12', { room_id: HASH_ROOM }), rv('12')), undefined);
  t.match(validateEvent(valid('12', { room_id: '!' + 'R'.repeat(43) }), rv('12')), /room_id/, 'spare bits set');

  t.equal(validateEvent(without(valid('12', { type: 'm.room.create', state_key: '' }), 'room_id'), rv('12')), undefined, 'v12 create without room_id');
  t.match(validateEvent(without(valid('12'), 'room_id'), rv('12')), /room_id is missing/, 'v12 message without room_id');
  t.match(validateEvent(without(valid('11', { type: 'm.room.create', state_key: '' }), 'room_id'), rv('11')), /room_id is missing/, 'v11 create without room_id');
});

t.test('required fields and JSON types', async (t) => {
  for (const id of ['1', '3', '12']) {
    const v = rv(id);
    for (const key of ['type', 'sender', 'content', 'hashes', 'signatures', 'prev_events', 'auth_events']) {
      t.type(validateEvent(without(valid(id), key), v), 'string', `v${id}: missing ${key}`);
    }
    t.match(validateEvent(valid(id, { type: 5 }), v), /type/);
    t.match(validateEvent(valid(id, { sender: 'alice' }), v), /sender/);
    t.match(validateEvent(valid(id, { content: [] }), v), /content/);
    t.match(validateEvent(valid(id, { state_key: 5 }), v), /state_key/);
    t.match(validateEvent(valid(id, { hashes: { sha256: 5 } }), v), /hashes/);
    t.match(validateEvent(valid(id, { hashes: {} }), v), /hashes/);
    t.match(validateEvent(valid(id, { signatures: { s: 'x' } }), v), /signatures/);
    t.match(validateEvent(valid(id, { signatures: { s: { k: 1 } } }), v), /signatures/);
    t.match(validateEvent(valid(id, { unsigned: 'x' }), v), /unsigned/);
    t.equal(validateEvent(without(valid(id), 'unsigned'), v), undefined, `v${id}: unsigned optional`);
    t.equal(validateEvent(valid(id, { state_key: '' }), v), undefined, `v${id}: empty state_key`);
    t.equal(validateEvent(valid(id, { extra_key: { any: 'thing' } }), v), undefined, `v${id}: unknown keys allowed`);
  }
  t.match(validateEvent(without(valid('1'), 'event_id'), rv('1')), /event_id/, 'v1 needs event_id');
  t.equal(validateEvent(valid('3'), rv('3')), undefined, 'v3 has none');
  t.match(validateEvent(valid('1', { event_id: 'nope' }), rv('1')), /event_id/);
});

t.test('redacts: an event id at the top level until v10', async (t) => {
  t.equal(validateEvent(valid('10', { type: 'm.room.redaction', redacts: idFor('10', 1) }), rv('10')), undefined);
  t.match(validateEvent(valid('10', { type: 'm.room.redaction', redacts: 5 }), rv('10')), /redacts/);
  t.match(validateEvent(valid('10', { type: 'm.room.redaction', redacts: '$x:example.org' }), rv('10')), /redacts/);
  t.equal(validateEvent(valid('11', { type: 'm.room.redaction', redacts: 5, content: { redacts: idFor('11', 1) } }), rv('11')), undefined, 'ignored from v11');
});

t.test('never throws on garbage', async (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const deep = JSON.parse('['.repeat(5000) + ']'.repeat(5000));
  const inputs: unknown[] = [null, undefined, 5, 'event', [], [valid('10')], {}, cyclic, valid('10', { content: deep }), valid('10', { content: { s: '\ud800' } }), valid('10', { sender: null })];
  for (const [i, input] of inputs.entries()) {
    for (const id of ['1', '10', '12']) {
      let result: string | undefined;
      t.doesNotThrow(() => (result = validateEvent(input, rv(id))), `input ${i} v${id}`);
      t.type(result, 'string', `input ${i} v${id} rejected`);
    }
  }
});
