/**
 * Events that arrive whole (from federation or backfill): the checks on
 * receipt, in order, on events built and signed with this server's real key,
 * and tampered with where a test needs it. Forks are resolved, soft failures
 * kept out of the current state, and no bad event stops the others.
 */
import { join } from 'node:path';
import t from 'tap';
import type { JsonObject } from '../../../src/core/canonical-json.js';
import { generateSigningKey, type SigningKey } from '../../../src/core/ed25519.js';
import type { PDU } from '../../../src/core/events/pdu.js';
import { withContentHash } from '../../../src/core/events/hashes.js';
import { buildEvent } from '../../../src/core/events/sign.js';
import { roomVersion } from '../../../src/core/room-versions.js';
import { readSigningKey } from '../../../src/platform/config/signing-key.js';
import { roomserverApi, type InputEvent } from '../../../src/components/roomserver/api.js';
import { startComponents } from '../../helpers/components.js';

const SERVER = 'test.neurite.local';
const alice = `@alice:${SERVER}`;
const bob = `@bob:${SERVER}`;
const eve = `@eve:${SERVER}`;

const h = await startComponents(['roomserver', 'serverkeyapi'], { serverName: SERVER });
t.teardown(() => h.stop());
const rs = h.apis.get(roomserverApi);
const key = readSigningKey(join(h.dataDir, 'keys', 'signing.key'));
const v12 = roomVersion('12')!;

interface Proto {
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: JsonObject;
  prev: string[];
  ts?: number;
}

/** Builds an event the way a remote server would, citing the auth events of the state after its (first) prev event. */
async function remoteEvent(p: Proto, signWith: SigningKey = key, server = SERVER) {
  const state = (await rs.queryStateAtEvent({ event_id: p.prev[0]!, after: true })).events;
  const want = (type: string, sk: string) => state.find((e) => e.pdu.type === type && e.pdu.state_key === sk)?.event_id;
  const auth = [want('m.room.power_levels', ''), want('m.room.member', p.sender)];
  if (p.type === 'm.room.member') auth.push(want('m.room.join_rules', ''), p.state_key !== p.sender ? want('m.room.member', p.state_key!) : undefined);
  const prevEvents = (await rs.queryEvents({ event_ids: p.prev })).events;
  const depth = Math.max(...prevEvents.map((e) => e.pdu.depth)) + 1;
  return buildEvent(
    {
      room_id: p.room_id,
      sender: p.sender,
      type: p.type,
      ...(p.state_key !== undefined ? { state_key: p.state_key } : {}),
      content: p.content,
      prev_events: p.prev,
      auth_events: [...new Set(auth.filter((x): x is string => x !== undefined))],
      depth,
      origin_server_ts: p.ts ?? Date.now(),
    },
    { roomVersion: v12, serverName: server, key: signWith },
  );
}

const input = (pdu: PDU, kind: InputEvent['kind'] = 'new') => ({ pdu, room_version: '12', kind });

async function newRoom() {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '12', preset: 'public_chat', name: 'Start' });
  await rs.sendEvent({ room_id, sender: bob, type: 'm.room.member', state_key: bob, content: { membership: 'join' } });
  return room_id;
}

const latestOf = async (room_id: string) => (await rs.queryRoom({ room_id }))!.latest_event_ids;

t.test('a valid event extends the room; sending it again is a duplicate', async (t) => {
  const room_id = await newRoom();
  const ev = await remoteEvent({ room_id, sender: bob, type: 'm.room.message', content: { body: 'from afar' }, prev: await latestOf(room_id) });
  const [r] = (await rs.inputEvents({ events: [input(ev.pdu)] })).results;
  t.same(r, { event_id: ev.eventId });
  t.same(await latestOf(room_id), [ev.eventId]);
  const [again] = (await rs.inputEvents({ events: [input(ev.pdu)] })).results;
  t.same(again, { event_id: ev.eventId, duplicate: true });
});

t.test('signatures, hashes, sizes and number ranges are checked on receipt', async (t) => {
  const room_id = await newRoom();
  const prev = await latestOf(room_id);
  const good = await remoteEvent({ room_id, sender: bob, type: 'm.room.message', content: { body: 'signed' }, prev });

  const badSig = structuredClone(good.pdu);
  const sig = badSig.signatures[SERVER]![key.keyId]!;
  badSig.signatures[SERVER]![key.keyId] = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
  const stranger = await remoteEvent({ room_id, sender: `@carol:elsewhere.example`, type: 'm.room.message', content: { body: 'hi' }, prev }, generateSigningKey('ed25519:x'), 'elsewhere.example');
  const unsigned = structuredClone(good.pdu);
  unsigned.signatures = {};
  const tampered = structuredClone(good.pdu);
  tampered.content = { body: 'changed after signing' };
  const huge = structuredClone(good.pdu);
  huge.content = { body: 'x'.repeat(66_000) };
  const float = structuredClone(good.pdu);
  float.content = { body: 'f', n: 1.5 };

  const results = (await rs.inputEvents({ events: [input(badSig), input(stranger.pdu), input(unsigned), input(huge), input(float), input(tampered)] })).results;
  t.match(results[0]!.rejected, /signature of test\.neurite\.local does not verify/);
  t.match(results[1]!.rejected, /no known key of elsewhere\.example/);
  t.match(results[2]!.rejected, /not signed by test\.neurite\.local/);
  t.match(results[3]!.rejected, /65536|bytes/);
  t.match(results[4]!.rejected, /integer|float|number/i);
  t.same(results[5], { event_id: good.eventId }, 'a wrong content hash is not fatal: the event is accepted redacted');
  const [stored] = (await rs.queryEvents({ event_ids: [good.eventId] })).events;
  t.same(stored!.pdu.content, {}, 'and stored without its content');
  t.same((await rs.queryEvents({ event_ids: [stranger.eventId] })).events, [], 'refused events are not stored');
});

t.test('an event that fails the auth rules is rejected, and the next one still goes in', async (t) => {
  const room_id = await newRoom();
  const prev = await latestOf(room_id);
  const intruder = await remoteEvent({ room_id, sender: eve, type: 'm.room.message', content: { body: 'not a member' }, prev });
  const fine = await remoteEvent({ room_id, sender: bob, type: 'm.room.message', content: { body: 'ok' }, prev });
  const [r1, r2] = (await rs.inputEvents({ events: [input(intruder.pdu), input(fine.pdu)] })).results;
  t.match(r1!.rejected, /not joined|member/);
  t.same(r2, { event_id: fine.eventId });
  t.same((await rs.queryEvents({ event_ids: [intruder.eventId] })).events, [], 'rejected events are never served');
  const [again] = (await rs.inputEvents({ events: [input(intruder.pdu)] })).results;
  t.equal(again!.duplicate, true, 'a rejected event is remembered, not checked again');
});

t.test('a fork is merged by state resolution', async (t) => {
  const room_id = await newRoom();
  const base = await latestOf(room_id);
  const t0 = Date.now();
  const first = await remoteEvent({ room_id, sender: alice, type: 'm.room.name', state_key: '', content: { name: 'Fork A' }, prev: base, ts: t0 });
  const second = await remoteEvent({ room_id, sender: alice, type: 'm.room.name', state_key: '', content: { name: 'Fork B' }, prev: base, ts: t0 + 1000 });
  const results = (await rs.inputEvents({ events: [input(second.pdu), input(first.pdu)] })).results;
  t.same(results, [{ event_id: second.eventId }, { event_id: first.eventId }]);
  t.same((await latestOf(room_id)).sort(), [first.eventId, second.eventId].sort(), 'two forward extremities');
  const name = (await rs.queryCurrentState({ room_id, keys: [['m.room.name', '']] })).events[0]!;
  t.equal(name.pdu.content.name, 'Fork B', 'the later name wins (same power: mainline, then timestamp)');
  const merge = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: { body: 'merging' } });
  const [m] = (await rs.queryEvents({ event_ids: [merge.event_id] })).events;
  t.same((m!.pdu.prev_events as string[]).sort(), [first.eventId, second.eventId].sort(), 'the next local event closes the fork');
  t.same(await latestOf(room_id), [merge.event_id]);
});

t.test('an event allowed by its past but not by the present is soft-failed', async (t) => {
  const room_id = await newRoom();
  const beforeBan = await latestOf(room_id);
  await rs.sendEvent({ room_id, sender: alice, type: 'm.room.member', state_key: bob, content: { membership: 'ban' } });
  const latest = await latestOf(room_id);
  const late = await remoteEvent({ room_id, sender: bob, type: 'm.room.message', content: { body: 'sent before I saw the ban' }, prev: beforeBan });
  const [r] = (await rs.inputEvents({ events: [input(late.pdu)] })).results;
  t.same(r, { event_id: late.eventId, soft_failed: true });
  t.same(await latestOf(room_id), latest, 'it does not become a forward extremity');
});

t.test('outliers are stored without moving the room', async (t) => {
  const room_id = await newRoom();
  const latest = await latestOf(room_id);
  const ev = await remoteEvent({ room_id, sender: bob, type: 'm.room.message', content: { body: 'outlier' }, prev: latest });
  const [r] = (await rs.inputEvents({ events: [input(ev.pdu, 'outlier')] })).results;
  t.same(r, { event_id: ev.eventId });
  t.same(await latestOf(room_id), latest);
  t.equal((await rs.queryEvents({ event_ids: [ev.eventId] })).events.length, 1);
  t.same((await rs.queryStateAtEvent({ event_id: ev.eventId })).events, [], 'no state is known at an outlier');
});

t.test('a room can start from a create event received whole', async (t) => {
  const create = buildEvent(
    { sender: alice, type: 'm.room.create', state_key: '', content: { room_version: '12' }, prev_events: [], auth_events: [], depth: 1, origin_server_ts: Date.now() },
    { roomVersion: v12, serverName: SERVER, key },
  );
  const [r] = (await rs.inputEvents({ events: [input(create.pdu)] })).results;
  t.same(r, { event_id: create.eventId });
  t.equal((await rs.queryRoom({ room_id: create.roomId }))?.room_version, '12');
});

t.test('a long request: checks run ahead several at a time, the room takes the events in the order given', async (t) => {
  const room_id = await newRoom();
  let prev = await latestOf(room_id);
  const state = (await rs.queryStateAtEvent({ event_id: prev[0]!, after: true })).events;
  const auth = ['m.room.power_levels', 'm.room.member'].map((type) => state.find((e) => e.pdu.type === type && e.pdu.state_key === (type === 'm.room.member' ? bob : ''))!.event_id);
  let depth = (await rs.queryEvents({ event_ids: prev })).events[0]!.pdu.depth;
  // A chain: each event cites the one before it, so none can go in before its predecessor.
  const chain = [];
  for (let i = 0; i < 40; i++) {
    const ev = buildEvent(
      { room_id, sender: bob, type: 'm.room.message', content: { body: `chain ${i}` }, prev_events: prev, auth_events: auth, depth: ++depth, origin_server_ts: Date.now() },
      { roomVersion: v12, serverName: SERVER, key },
    );
    chain.push(ev);
    prev = [ev.eventId];
  }
  const forged = structuredClone(chain[25]!.pdu);
  forged.content = { body: 'forged' };
  // A matching content hash, under the original signature, which covers the hash.
  const events = [...chain.slice(0, 20).map((e) => input(e.pdu)), input(chain[3]!.pdu), input(withContentHash(forged, v12)), ...chain.slice(20).map((e) => input(e.pdu))];

  const results = (await rs.inputEvents({ events })).results;
  t.equal(results.length, events.length, 'one answer per event, in the order given');
  t.same(results.slice(0, 20), chain.slice(0, 20).map((e) => ({ event_id: e.eventId })), 'the first twenty go in, each after the one it cites');
  t.same(results[20], { event_id: chain[3]!.eventId, duplicate: true }, 'a repeat of an event earlier in the same request is a duplicate');
  t.match(results[21]!.rejected, /signature of test\.neurite\.local does not verify/, 'an event whose signature fails is refused');
  t.same(results.slice(22), chain.slice(20).map((e) => ({ event_id: e.eventId })), 'and the rest still go in');
  t.same(await latestOf(room_id), [chain.at(-1)!.eventId], 'the room ends at the last of the chain');
  const stored = (await rs.queryEvents({ event_ids: chain.map((e) => e.eventId) })).events;
  t.same(stored.map((e) => e.pdu.content.body), chain.map((_, i) => `chain ${i}`), 'every event of the chain is stored whole');
});
