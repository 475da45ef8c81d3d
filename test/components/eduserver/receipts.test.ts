/**
 * Receipts and read markers through the ClientAPI: public and private
 * receipts, threaded receipts, receipts that would move back, the fully read
 * marker in room account data, restart, and every refusal with nothing
 * changed.
 */
import t from 'tap';
import { receiptEvents, type ReceiptRecord } from '../../../src/components/eduserver/topics.js';
import { accountDataChanges, type AccountDataChange } from '../../../src/components/userapi/topics.js';
import { logReaderApi } from '../../../src/platform/log/reader-api.js';
import { enc, expectError, expectOk } from '../../helpers/clientapi.js';
import { roomWith, sendText, startEdu, type EduHarness, type EduUser } from '../../helpers/edu.js';

let h: EduHarness = await startEdu();
t.teardown(() => h.stop());
const alice = await h.register('alice');
const bob = await h.register('bob');
const carol = await h.register('carol');
const roomId = await roomWith(h, alice, [bob]);
const otherRoom = await roomWith(h, carol, []);
const V3 = '/_matrix/client/v3';
const e1 = await sendText(h, roomId, alice, 'one (a thread root)');
const e2 = await sendText(h, roomId, alice, 'two');
const e3 = await sendText(h, roomId, alice, 'three');
const inThread = await sendText(h, roomId, alice, 'in the thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: e1 } });
const { event_id: reaction } = await h.cctx.roomserver.sendEvent({
  room_id: roomId,
  sender: alice.user_id,
  type: 'm.reaction',
  content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: inThread, key: '👍' } },
});
const { event_id: rootReaction } = await h.cctx.roomserver.sendEvent({
  room_id: roomId,
  sender: alice.user_id,
  type: 'm.reaction',
  content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: e1, key: '👍' } },
});
const elsewhere = await sendText(h, otherRoom, carol, 'in another room');

const receipt = (user: EduUser | undefined, type: string, eventId: string, body: unknown = {}, room = roomId) =>
  h.call(user, 'POST', `${V3}/rooms/${enc(room)}/receipt/${enc(type)}/${enc(eventId)}`, body);
const markers = (user: EduUser | undefined, body: unknown, room = roomId) => h.call(user, 'POST', `${V3}/rooms/${enc(room)}/read_markers`, body);
const records = () => h.records<ReceiptRecord>(receiptEvents);
const receiptsOf = async (viewer?: string) =>
  (await h.cctx.eduserver.queryReceipts({ room_id: roomId, ...(viewer ? { viewer } : {}) })).receipts
    .map((r) => `${r.user_id} ${r.receipt_type} ${r.thread_id ?? '-'} ${r.event_id}`)
    .sort();
const fullyRead = async (user: EduUser, room = roomId) =>
  (await h.cctx.userapi.queryAccountData({ user_id: user.user_id, room_id: room, type: 'm.fully_read' }))?.content ?? null;

t.test('m.read: written with its ts, never moved back, not repeated', async (t) => {
  const before = (await records()).length;
  const sent = Date.now();
  await expectOk(t, await receipt(bob, 'm.read', e2), 'POST /rooms/{roomId}/receipt/{receiptType}/{eventId}');
  const [rec] = (await records()).slice(before);
  t.match(rec, { room_id: roomId, user_id: bob.user_id, receipt_type: 'm.read', event_id: e2 });
  t.notOk('thread_id' in rec!, 'unthreaded');
  t.ok(rec!.ts >= sent && rec!.ts <= Date.now(), 'ts set by the server');
  t.equal((await receipt(bob, 'm.read', e1)).status, 200, 'an older event: accepted');
  t.equal((await receipt(bob, 'm.read', e2)).status, 200, 'the same event again: accepted');
  t.equal((await records()).length, before + 1, 'neither wrote anything');
  t.same(await receiptsOf(), [`${bob.user_id} m.read - ${e2}`]);
  await receipt(bob, 'm.read', e3);
  t.same(await receiptsOf(), [`${bob.user_id} m.read - ${e3}`], 'moved forward');
  t.equal((await records()).length, before + 2);
});

t.test('m.read.private is seen only by its owner', async (t) => {
  const before = (await records()).length;
  await expectOk(t, await receipt(alice, 'm.read.private', e2), 'POST /rooms/{roomId}/receipt/{receiptType}/{eventId}');
  t.match((await records()).slice(before), [{ user_id: alice.user_id, receipt_type: 'm.read.private', event_id: e2 }], 'one record, typed private (consumers filter by it)');
  t.ok((await receiptsOf(alice.user_id)).includes(`${alice.user_id} m.read.private - ${e2}`), 'alice sees hers');
  t.notOk((await receiptsOf(bob.user_id)).some((r) => r.includes('m.read.private')), 'bob does not');
  t.notOk((await receiptsOf()).some((r) => r.includes('m.read.private')), 'nor does a query without viewer');
  // Private and public receipts are separate: a public one behind the private one is still written.
  await receipt(alice, 'm.read', e1);
  t.ok((await receiptsOf(alice.user_id)).includes(`${alice.user_id} m.read - ${e1}`));
});

t.test('threaded receipts: main and each thread apart from the unthreaded one', async (t) => {
  const before = (await records()).length;
  await expectOk(t, await receipt(bob, 'm.read', inThread, { thread_id: e1 }), 'POST /rooms/{roomId}/receipt/{receiptType}/{eventId}', 'in a thread');
  t.equal((await receipt(bob, 'm.read', e2, { thread_id: 'main' })).status, 200, 'main timeline');
  t.equal((await receipt(bob, 'm.read', reaction, { thread_id: e1 })).status, 200, 'a reaction to a thread event is in the thread');
  t.equal((await receipt(bob, 'm.read', rootReaction, { thread_id: 'main' })).status, 200, 'a reaction to the root is in the main timeline');
  t.match((await records()).slice(before), [
    { user_id: bob.user_id, event_id: inThread, thread_id: e1 },
    { user_id: bob.user_id, event_id: e2, thread_id: 'main' },
    { user_id: bob.user_id, event_id: reaction, thread_id: e1 },
    { user_id: bob.user_id, event_id: rootReaction, thread_id: 'main' },
  ]);
  t.same(
    (await receiptsOf()).filter((r) => r.startsWith(bob.user_id)),
    [`${bob.user_id} m.read - ${e3}`, `${bob.user_id} m.read ${e1} ${reaction}`, `${bob.user_id} m.read main ${rootReaction}`].sort(),
    'one receipt per thread, the unthreaded one untouched',
  );
  t.equal((await receipt(carol, 'm.read', e1, { thread_id: e1 }, roomId)).status, 403, 'membership still applies');
  t.equal((await receipt(alice, 'm.read', e1, { thread_id: e1 })).status, 200, "a thread's root may take its thread's receipt");
});

t.test('refusals: status, errcode, and nothing changes', async (t) => {
  const before = await records();
  const seen = await receiptsOf(bob.user_id);
  const cases: [string, Promise<{ status: number; body: any }>, number, string][] = [
    ['not in the room', receipt(carol, 'm.read', e2), 403, 'M_FORBIDDEN'],
    ['unknown room', receipt(bob, 'm.read', e2, {}, `!nowhere:${h.serverName}`), 404, 'M_NOT_FOUND'],
    ['not a room id', receipt(bob, 'm.read', e2, {}, 'nowhere'), 400, 'M_INVALID_PARAM'],
    ['unknown event', receipt(bob, 'm.read', `$${'A'.repeat(43)}`), 404, 'M_NOT_FOUND'],
    ['an event of another room', receipt(bob, 'm.read', elsewhere), 404, 'M_NOT_FOUND'],
    ['not an event id', receipt(bob, 'm.read', 'e2'), 400, 'M_INVALID_PARAM'],
    ['unknown receipt type', receipt(bob, 'm.seen', e2), 400, 'M_INVALID_PARAM'],
    ['empty thread_id', receipt(bob, 'm.read', e2, { thread_id: '' }), 400, 'M_INVALID_PARAM'],
    ['thread_id neither main nor an event id', receipt(bob, 'm.read', e2, { thread_id: 'side' }), 400, 'M_INVALID_PARAM'],
    ['thread_id not a string', receipt(bob, 'm.read', e2, { thread_id: 5 }), 400, 'M_BAD_JSON'],
    ['a thread event as main', receipt(bob, 'm.read', inThread, { thread_id: 'main' }), 400, 'M_INVALID_PARAM'],
    ['a main event in a thread', receipt(bob, 'm.read', e3, { thread_id: e1 }), 400, 'M_INVALID_PARAM'],
    ['a thread event as its own root', receipt(bob, 'm.read', inThread, { thread_id: inThread }), 400, 'M_INVALID_PARAM'],
    ['m.fully_read with a thread_id', receipt(bob, 'm.fully_read', e3, { thread_id: 'main' }), 400, 'M_INVALID_PARAM'],
    ['body not an object', receipt(bob, 'm.read', e3, '[]'), 400, 'M_BAD_JSON'],
    ['no token', receipt(undefined, 'm.read', e3), 401, 'M_MISSING_TOKEN'],
  ];
  for (const [what, res, status, errcode] of cases) expectError(t, await res, status, errcode, what);
  t.same(await records(), before, 'no record written');
  t.same(await receiptsOf(bob.user_id), seen, 'no receipt moved');
});

t.test('read markers: m.fully_read into room account data, with m.read and m.read.private', async (t) => {
  const dave = await h.register('dave');
  await h.cctx.roomserver.performJoin({ room_id: roomId, user_id: dave.user_id });
  const before = (await records()).length;
  const r = await markers(dave, { 'm.fully_read': e2, 'm.read': e2, 'm.read.private': e3 });
  await expectOk(t, r, 'POST /rooms/{roomId}/read_markers');
  t.same(await fullyRead(dave), { event_id: e2 }, 'm.fully_read set');
  t.match((await records()).slice(before), [
    { user_id: dave.user_id, receipt_type: 'm.read', event_id: e2 },
    { user_id: dave.user_id, receipt_type: 'm.read.private', event_id: e3 },
  ]);
  const { records: adRecords } = await h.comps.apis.get(logReaderApi('userapi')).read({ topic: accountDataChanges.name, consumer: 'test', from: 1, limit: 1000, waitMs: 0, durable: 0 });
  t.match(
    adRecords.map((x) => x.record as AccountDataChange).filter((x) => x.user_id === dave.user_id),
    [{ room_id: roomId, type: 'm.fully_read', content: { event_id: e2 } }],
    'the change reaches the account_data log, for the SyncAPI',
  );

  await markers(dave, { 'm.fully_read': e1 });
  t.same(await fullyRead(dave), { event_id: e2 }, 'the marker does not move back');
  t.equal((await markers(dave, {})).status, 200, 'nothing to set is fine');
  await expectOk(t, await receipt(dave, 'm.fully_read', e3), 'POST /rooms/{roomId}/receipt/{receiptType}/{eventId}', 'the receipt endpoint with m.fully_read');
  t.same(await fullyRead(dave), { event_id: e3 });
  t.notOk((await receiptsOf(dave.user_id)).some((x) => x.includes('m.fully_read')), 'm.fully_read is not a receipt');

  const adBefore = await fullyRead(dave);
  const rcBefore = await records();
  expectError(t, await markers(dave, { 'm.fully_read': inThread, 'm.read': `$${'A'.repeat(43)}` }), 404, 'M_NOT_FOUND', 'one unknown event');
  expectError(t, await markers(dave, { 'm.read': inThread, 'm.fully_read': elsewhere }), 404, 'M_NOT_FOUND', 'a marker in another room');
  expectError(t, await markers(dave, { 'm.fully_read': 'e3' }), 400, 'M_INVALID_PARAM', 'not an event id');
  expectError(t, await markers(dave, { 'm.fully_read': 3 }), 400, 'M_BAD_JSON', 'not a string');
  expectError(t, await markers(carol, { 'm.fully_read': e3 }), 403, 'M_FORBIDDEN', 'not in the room');
  expectError(t, await markers(dave, { 'm.fully_read': e3 }, `!nowhere:${h.serverName}`), 404, 'M_NOT_FOUND', 'unknown room');
  expectError(t, await markers(undefined, { 'm.fully_read': e3 }), 401, 'M_MISSING_TOKEN', 'no token');
  t.same(await fullyRead(dave), adBefore, 'a refused request changes no marker');
  t.same(await records(), rcBefore, '... and no receipt');

  await t.rejects(
    h.cctx.userapi.setAccountData({ user_id: dave.user_id, room_id: roomId, type: 'm.fully_read', content: { event_id: e1 } }),
    { name: 'MatrixError', status: 405, errcode: 'M_BAD_JSON' },
    'clients still cannot set m.fully_read as account data',
  );
});

t.test('receipts survive a restart', async (t) => {
  const seen = await receiptsOf(bob.user_id);
  h = await h.restart();
  t.same(await receiptsOf(bob.user_id), seen);
  const before = (await records()).length;
  await receipt(bob, 'm.read', e1);
  t.equal((await records()).length, before, 'an older event is still ignored after the restart');
});
