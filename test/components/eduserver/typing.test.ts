/**
 * Typing notifications through PUT /rooms/{roomId}/typing/{userId}: the
 * typing topic's records, expiry by itself, restart, and every refusal with
 * nothing changed.
 */
import t from 'tap';
import { typingEvents, type TypingRecord } from '../../../src/components/eduserver/topics.js';
import { enc, expectError, expectOk } from '../../helpers/clientapi.js';
import { roomWith, startEdu, type EduHarness, type EduUser } from '../../helpers/edu.js';

let h: EduHarness = await startEdu();
t.teardown(() => h.stop());
const alice = await h.register('alice');
const bob = await h.register('bob');
const carol = await h.register('carol');
const roomId = await roomWith(h, alice, [bob]);
const V3 = '/_matrix/client/v3';
const typingUrl = (room: string, user: string) => `${V3}/rooms/${enc(room)}/typing/${enc(user)}`;
const type = (user: EduUser | undefined, body: unknown, room = roomId, as = user?.user_id ?? alice.user_id) => h.call(user, 'PUT', typingUrl(room, as), body);
const typers = async (room = roomId) => (await h.cctx.eduserver.queryTyping({ room_id: room })).user_ids;
const records = () => h.records<TypingRecord>(typingEvents);

/**
 * The newest typing record (of one room), once one about `userId` is
 * committed: the EDUServer changes its memory before the record's write
 * commits, so a test that saw the change may read the log a moment early.
 */
async function newestRecord(userId: string, roomId?: string): Promise<TypingRecord | undefined> {
  const newest = async () => (await records()).filter((r) => roomId === undefined || r.room_id === roomId).at(-1);
  await eventually(async () => (await newest())?.user_id === userId);
  return newest();
}

/** Polls (no timed assertion) until `check` holds or a generous bound passes. */
async function eventually(check: () => Promise<boolean>, boundMs = 10_000): Promise<boolean> {
  const end = Date.now() + boundMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

t.test('typing starts, lists everyone typing, stops; each change is a record', async (t) => {
  const before = (await records()).length;
  const started = Date.now();
  const r = await type(alice, { typing: true, timeout: 30_000 });
  await expectOk(t, r, 'PUT /rooms/{roomId}/typing/{userId}');
  t.same(await typers(), [alice.user_id]);
  await type(bob, { typing: true, timeout: 30_000 });
  t.same(await typers(), [alice.user_id, bob.user_id].sort(), 'both, sorted');
  await type(alice, { typing: false });
  t.same(await typers(), [bob.user_id]);
  await type(alice, { typing: false });
  await type(bob, { typing: false });
  t.same(await typers(), []);
  const recs = (await records()).slice(before);
  t.equal(recs.length, 3 + 0 + 1, 'a stop of someone not typing writes nothing');
  t.match(recs[0], { room_id: roomId, user_id: alice.user_id, typing: true, user_ids: [alice.user_id] });
  t.ok(recs[0]!.expires_at! >= started + 30_000 && recs[0]!.expires_at! <= Date.now() + 30_000, 'expires_at is the timeout from now');
  t.same(recs[1]!.user_ids, [alice.user_id, bob.user_id].sort());
  t.match(recs[2], { user_id: alice.user_id, typing: false, user_ids: [bob.user_id] });
  t.notOk('expires_at' in recs[2]!, 'no expiry on a stop');
  t.match(recs[3], { user_id: bob.user_id, typing: false, user_ids: [] });
});

t.test('a refresh repeats the record with a later expiry; timeouts are capped at two minutes', async (t) => {
  const before = (await records()).length;
  await type(alice, { typing: true, timeout: 10_000 });
  await type(alice, { typing: true, timeout: 1_000_000_000 });
  const [first, second] = (await records()).slice(before);
  t.same(second!.user_ids, first!.user_ids, 'the same list');
  t.ok(second!.expires_at! > first!.expires_at!, 'a later expiry');
  t.ok(second!.expires_at! <= Date.now() + 120_000, 'capped');
  await type(alice, { typing: false });
  t.same(await typers(), []);
});

t.test('typing without a timeout lasts 30 s by default', async (t) => {
  const before = (await records()).length;
  await type(alice, { typing: true });
  const [rec] = (await records()).slice(before);
  t.ok(rec!.expires_at! > Date.now() + 20_000 && rec!.expires_at! <= Date.now() + 30_000, 'about 30 s');
  await type(alice, { typing: false });
});

t.test('a timeout runs out by itself and writes typing: false', async (t) => {
  await type(bob, { typing: true, timeout: 300 });
  await type(alice, { typing: true, timeout: 60_000 });
  t.ok(await eventually(async () => !(await typers()).includes(bob.user_id)), 'bob is no longer typing');
  t.same(await typers(), [alice.user_id], 'alice still is');
  t.match(await newestRecord(bob.user_id), { user_id: bob.user_id, typing: false, user_ids: [alice.user_id] });
  await type(alice, { typing: false });
});

t.test('refusals: status, errcode, and nothing changes', async (t) => {
  await type(alice, { typing: true, timeout: 60_000 });
  const before = await records();
  const typing = await typers();
  const guestLogin = (await h.cctx.userapi.createAccount({ guest: true, login: {} })).login!;
  const guest = { user_id: guestLogin.user_id, device_id: guestLogin.device_id, token: guestLogin.access_token };

  expectError(t, await type(carol, { typing: true, timeout: 1000 }), 403, 'M_FORBIDDEN', 'not in the room');
  expectError(t, await type(alice, { typing: true, timeout: 1000 }, roomId, bob.user_id), 403, 'M_FORBIDDEN', 'typing for another user');
  expectError(t, await type(alice, { typing: true, timeout: 1000 }, `!unknown:${h.serverName}`), 404, 'M_NOT_FOUND', 'unknown room');
  expectError(t, await type(alice, { typing: true }, 'not-a-room'), 400, 'M_INVALID_PARAM', 'not a room id');
  expectError(t, await type(alice, { typing: true }, roomId, 'alice'), 400, 'M_INVALID_PARAM', 'not a user id');
  expectError(t, await type(alice, {}), 400, 'M_BAD_JSON', 'typing missing');
  expectError(t, await type(alice, undefined), 400, 'M_BAD_JSON', 'no body');
  expectError(t, await type(alice, { typing: 'yes' }), 400, 'M_BAD_JSON', 'typing not a boolean');
  expectError(t, await type(alice, { typing: true, timeout: 'soon' }), 400, 'M_BAD_JSON', 'timeout not an integer');
  expectError(t, await type(alice, { typing: true, timeout: 1.5 }), 400, 'M_BAD_JSON', 'timeout not an integer (fraction)');
  expectError(t, await type(alice, { typing: true, timeout: -1 }), 400, 'M_INVALID_PARAM', 'negative timeout');
  expectError(t, await type(alice, '[true]'), 400, 'M_BAD_JSON', 'body not an object');
  expectError(t, await type(alice, '{"typing": tru'), 400, 'M_NOT_JSON', 'not JSON');
  expectError(t, await type(undefined, { typing: true }), 401, 'M_MISSING_TOKEN', 'no access token');
  expectError(t, await type({ ...alice, token: 'nope' }, { typing: true }), 401, 'M_UNKNOWN_TOKEN', 'unknown access token');
  expectError(t, await type(guest, { typing: true }, roomId, guest.user_id), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guests');

  t.same(await records(), before, 'no record written');
  t.same(await typers(), typing, 'nobody started or stopped typing');
  await type(alice, { typing: false });
});

t.test('a member who leaves stops typing at once, and may no longer type', async (t) => {
  const dave = await h.register('dave');
  const room = await roomWith(h, alice, [dave, bob]);
  await type(dave, { typing: true, timeout: 120_000 }, room);
  await type(bob, { typing: true, timeout: 120_000 }, room);
  t.same(await typers(room), [bob.user_id, dave.user_id].sort());
  await h.cctx.roomserver.sendEvent({ room_id: room, sender: dave.user_id, type: 'm.room.member', state_key: dave.user_id, content: { membership: 'leave' } });
  // The EDUServer learns of the leave from the roomserver's log: polled, well before the two-minute timeout.
  t.ok(await eventually(async () => !(await typers(room)).includes(dave.user_id)), 'dave no longer types');
  t.same(await typers(room), [bob.user_id], 'bob, who stayed, still does');
  t.match(await newestRecord(dave.user_id, room), { user_id: dave.user_id, typing: false, user_ids: [bob.user_id] }, 'the end is a record');
  expectError(t, await type(dave, { typing: true, timeout: 60_000 }, room), 403, 'M_FORBIDDEN', 'after leaving');
});

t.test('a member who is kicked or banned stops typing too', async (t) => {
  const erin = await h.register('erin');
  const frank = await h.register('frank');
  const room = await roomWith(h, alice, [erin, frank]);
  await type(erin, { typing: true, timeout: 120_000 }, room);
  await type(frank, { typing: true, timeout: 120_000 }, room);
  await h.cctx.roomserver.sendEvent({ room_id: room, sender: alice.user_id, type: 'm.room.member', state_key: erin.user_id, content: { membership: 'leave', reason: 'kick' } });
  t.ok(await eventually(async () => !(await typers(room)).includes(erin.user_id)), 'the kicked member no longer types');
  await h.cctx.roomserver.sendEvent({ room_id: room, sender: alice.user_id, type: 'm.room.member', state_key: frank.user_id, content: { membership: 'ban' } });
  t.ok(await eventually(async () => (await typers(room)).length === 0), 'nor does the banned one');
});

t.test('typing survives a restart; what ran out meanwhile expires on start', async (t) => {
  await type(alice, { typing: true, timeout: 120_000 });
  await type(bob, { typing: true, timeout: 400 });
  h = await h.restart();
  // bob's 400 ms may or may not have passed during the restart: wait for it either way.
  t.ok(await eventually(async () => !(await typers()).includes(bob.user_id)), 'bob expired');
  t.same(await typers(), [alice.user_id], 'alice is still typing after the restart');
  t.match(await newestRecord(bob.user_id), { user_id: bob.user_id, typing: false, user_ids: [alice.user_id] }, 'the expiry is a record');
  const r = await type(alice, { typing: false });
  t.equal(r.status, 200, 'the same token works after the restart');
  t.same(await typers(), []);
});
