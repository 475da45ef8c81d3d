/**
 * Relations and threads at the spec's edges: relations across rooms are
 * ignored, `recurse` with filters and its recursion_depth, redacted thread
 * replies and originals, invalid edits, ignored users and history
 * visibility in the m.thread bundle, /threads' limit.
 */
import t from 'tap';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3, type User } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const mallory = await s.user('mallory');

const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Relations' });
await ops.join(bob, roomId);
await ops.join(mallory, roomId);
const V1 = (room = roomId) => `/_matrix/client/v1/rooms/${enc(room)}`;
const msg = (body: string, rel?: Record<string, unknown>) => ({ msgtype: 'm.text', body, ...(rel ? { 'm.relates_to': rel } : {}) });
const inThread = (root: string) => ({ rel_type: 'm.thread', event_id: root });
const ids = (chunk: any[]) => chunk.map((e: any) => e.event_id);
let redactions = 0;
const redact = async (u: User, room: string, id: string) => {
  const r = await s.call(u, 'PUT', `${V3}/rooms/${enc(room)}/redact/${enc(id)}/red${++redactions}`, {});
  if (r.status !== 200) throw new Error(`redact: ${JSON.stringify(r.body)}`);
  return r.body.event_id as string;
};
/** The bundled aggregations of an event as `u` reads it through /context. */
const relationsOf = async (u: User, id: string, room = roomId) => {
  const r = await s.call(u, 'GET', `${V3}/rooms/${enc(room)}/context/${enc(id)}?limit=0`);
  if (r.status !== 200) throw new Error(`context: ${JSON.stringify(r.body)}`);
  return r.body.event.unsigned?.['m.relations'];
};
const synced = (u: User, room: string, id: string) => new SyncStream(s, u).untilEvent(room, id);

t.test('a relation to an event of another room is ignored', async (t) => {
  const secret = await ops.create(alice, { preset: 'private_chat', name: 'Secret' });
  const hidden = await ops.send(alice, secret, msg('the secret plan'));
  await ops.send(mallory, roomId, msg('tell me', inThread(hidden)));
  const react = await ops.send(mallory, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: hidden, key: 'x' } }, 'm.reaction');
  await synced(mallory, roomId, react);

  const list = await s.call(mallory, 'GET', `${V1()}/threads`);
  await expectOk(t, list, 'GET /rooms/{roomId}/threads');
  t.notOk(ids(list.body.chunk).includes(hidden), "the other room's event is not listed as a thread root");
  t.notOk(JSON.stringify(list.body).includes('the secret plan'), 'nor its content anywhere');
  expectError(t, await s.call(mallory, 'GET', `${V1()}/relations/${enc(hidden)}`), 404, 'M_NOT_FOUND', 'its relations through the room of the children');
  const own = await s.call(alice, 'GET', `${V1(secret)}/relations/${enc(hidden)}`);
  t.same(own.body.chunk, [], 'the children are not children in its own room');
  t.notOk(await relationsOf(alice, hidden, secret), 'and bundle nothing');
});

t.test('recurse: recursion_depth whenever given, and filters apply to the events recursed through', async (t) => {
  const root = await ops.send(alice, roomId, msg('recursion root'));
  const reply = await ops.send(bob, roomId, msg('in thread', inThread(root)));
  const onReply = await ops.send(alice, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: reply, key: '👍' } }, 'm.reaction');
  const onRoot = await ops.send(alice, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } }, 'm.reaction');
  const onReaction = await ops.send(bob, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: onRoot, key: '👀' } }, 'm.reaction');
  await synced(alice, roomId, onReaction);

  const off = await s.call(alice, 'GET', `${V1()}/relations/${enc(root)}?recurse=false`);
  await expectOk(t, off, 'GET /rooms/{roomId}/relations/{eventId}', 'recurse=false');
  t.equal(off.body.recursion_depth, 1, 'recurse=false: recursion_depth 1');
  t.same(ids(off.body.chunk), [onRoot, reply]);
  t.notOk('recursion_depth' in (await s.call(alice, 'GET', `${V1()}/relations/${enc(root)}`)).body, 'no recurse: no recursion_depth');

  const all = await s.call(alice, 'GET', `${V1()}/relations/${enc(root)}?recurse=true`);
  t.same(ids(all.body.chunk), [onReaction, onRoot, onReply, reply], 'recurse without filters: everything');
  const annotations = await s.call(alice, 'GET', `${V1()}/relations/${enc(root)}/m.annotation?recurse=true`);
  t.same(ids(annotations.body.chunk), [onReaction, onRoot], 'a rel_type: not the reaction reached only through the thread reply');
  t.equal(annotations.body.recursion_depth, 2);
  const messages = await s.call(alice, 'GET', `${V1()}/relations/${enc(root)}/m.thread/m.room.message?recurse=true`);
  t.same(ids(messages.body.chunk), [reply], 'a rel_type and event type: the matching reply only');
  t.equal(messages.body.recursion_depth, 1, 'nothing matching below it');
});

t.test('a redacted thread reply is de-aggregated', async (t) => {
  const root = await ops.send(alice, roomId, msg('root A'));
  const a1 = await ops.send(bob, roomId, msg('a1', inThread(root)));
  const other = await ops.send(alice, roomId, msg('root B'));
  await ops.send(alice, roomId, msg('b1', inThread(other)));
  const a2 = await ops.send(mallory, roomId, msg('a2', inThread(root)));
  await synced(alice, roomId, a2);
  t.match((await relationsOf(alice, root))['m.thread'], { count: 2, latest_event: { event_id: a2 } }, 'before: two replies');
  t.same(ids((await s.call(alice, 'GET', `${V1()}/threads?limit=2`)).body.chunk), [root, other], 'root A has the latest activity');

  await synced(alice, roomId, await redact(mallory, roomId, a2));
  const thread = (await relationsOf(alice, root))['m.thread'];
  t.match(thread, { count: 1, latest_event: { event_id: a1 } }, 'the redacted reply neither counts nor is the latest');
  t.equal((await relationsOf(mallory, root))['m.thread'].current_user_participated, false, 'its sender no longer took part');
  t.same(ids((await s.call(alice, 'GET', `${V1()}/threads?limit=2`)).body.chunk), [other, root], '/threads orders by the latest remaining reply');

  await synced(alice, roomId, await redact(bob, roomId, a1));
  t.notOk((await relationsOf(alice, root))?.['m.thread'], 'no reply left: no m.thread bundle');
  t.notOk(ids((await s.call(alice, 'GET', `${V1()}/threads`)).body.chunk).includes(root), 'nor a thread in /threads');
});

t.test('m.replace: only valid edits of an unredacted original are bundled', async (t) => {
  const edit = (of: string, body: string, extra: Record<string, unknown> = {}) =>
    ops.send(alice, roomId, { msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: of }, ...extra });
  const original = await ops.send(alice, roomId, msg('original'));
  const valid = await edit(original, 'valid');
  const noNewContent = await ops.send(alice, roomId, { msgtype: 'm.text', body: '* no new content', 'm.relates_to': { rel_type: 'm.replace', event_id: original } });
  const stringNewContent = await edit(original, 'x', { 'm.new_content': 'not an object' });
  const asState = await ops.state(alice, roomId, 'm.room.message', '', { msgtype: 'm.text', body: '* state', 'm.new_content': { msgtype: 'm.text', body: 'state' }, 'm.relates_to': { rel_type: 'm.replace', event_id: original } });
  const editOfEdit = await edit(valid, 'edit of an edit');
  await synced(alice, roomId, editOfEdit);
  t.equal((await relationsOf(alice, original))['m.replace'].event_id, valid, 'the latest valid edit, not the later ones without m.new_content or with a state_key');
  const children = await s.call(alice, 'GET', `${V1()}/relations/${enc(original)}/m.replace`);
  t.same(ids(children.body.chunk), [asState, stringNewContent, noNewContent, valid], '/relations still lists them all');
  t.notOk(children.body.chunk.find((e: any) => e.event_id === valid).unsigned['m.relations'], 'an edit of an edit is not bundled with the edit');

  const room = await ops.create(alice, { preset: 'private_chat', name: 'Encrypted' });
  const sealed = await ops.send(alice, room, { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'a' }, 'm.room.encrypted');
  const sealedEdit = await ops.send(alice, room, { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'b', 'm.relates_to': { rel_type: 'm.replace', event_id: sealed } }, 'm.room.encrypted');
  await synced(alice, room, sealedEdit);
  t.equal((await relationsOf(alice, sealed, room))['m.replace'].event_id, sealedEdit, 'an encrypted edit keeps m.new_content in its ciphertext: bundled');

  await synced(alice, roomId, await redact(alice, roomId, original));
  t.notOk((await relationsOf(alice, original))?.['m.replace'], 'a redacted original: no m.replace');
});

t.test("ignored users' replies and roots in threads", async (t) => {
  const root = await ops.send(alice, roomId, msg('ignore root'));
  const fromBob = await ops.send(bob, roomId, msg('from bob', inThread(root)));
  const fromMallory = await ops.send(mallory, roomId, msg('from mallory', inThread(root)));
  const root2 = await ops.send(alice, roomId, msg('ignore root 2'));
  await ops.send(mallory, roomId, msg('from mallory', inThread(root2)));
  const lastFromBob = await ops.send(bob, roomId, msg('from bob', inThread(root2)));
  const malloryRoot = await ops.send(mallory, roomId, msg('mallory starts a thread'));
  const answer = await ops.send(alice, roomId, msg('answer', inThread(malloryRoot)));
  const stream = new SyncStream(s, bob);
  await stream.untilEvent(roomId, answer);
  await s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/account_data/m.ignored_user_list`, { ignored_users: { [mallory.user_id]: {} } });
  await stream.until((b) => b.account_data?.events.some((e: any) => e.type === 'm.ignored_user_list'));

  t.match((await relationsOf(bob, root))['m.thread'], { count: 1, latest_event: { event_id: fromBob } }, "bob: mallory's reply neither counts nor is the latest");
  t.match((await relationsOf(bob, root2))['m.thread'], { count: 1, latest_event: { event_id: lastFromBob } }, "nor when the latest reply is bob's own");
  t.match((await relationsOf(alice, root))['m.thread'], { count: 2, latest_event: { event_id: fromMallory } }, 'alice ignores nobody: both');
  const list = await s.call(bob, 'GET', `${V1()}/threads?limit=2`);
  await expectOk(t, list, 'GET /rooms/{roomId}/threads', "bob's threads");
  t.same(ids(list.body.chunk), [malloryRoot, root2], "mallory's root is listed to bob");
  t.same(list.body.chunk[0].content, {}, 'redacted');
  t.equal(list.body.chunk[0].unsigned['m.relations']['m.thread'].latest_event.event_id, answer, 'with its thread');
  t.equal((await s.call(alice, 'GET', `${V1()}/threads?limit=1`)).body.chunk[0].content.body, 'mallory starts a thread', 'to alice, as it is');
  await s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/account_data/m.ignored_user_list`, { ignored_users: {} });
});

t.test('a newest reply the viewer cannot see: the newest one they can see is the latest', async (t) => {
  const eve = await s.user('eve');
  await ops.join(eve, roomId);
  const root = await ops.send(alice, roomId, msg('seen root'));
  const seen = await ops.send(bob, roomId, msg('seen reply', inThread(root)));
  await synced(eve, roomId, seen);
  await ops.leave(eve, roomId);
  const unseen = await ops.send(bob, roomId, msg('after eve left', inThread(root)));
  await synced(alice, roomId, unseen);
  t.match((await relationsOf(eve, root))['m.thread'], { count: 2, latest_event: { event_id: seen } }, 'eve: the reply she saw is the latest');
  t.equal((await relationsOf(alice, root))['m.thread'].latest_event.event_id, unseen, 'alice: the newest');
});

t.test('/threads: limit must be greater than zero', async (t) => {
  expectError(t, await s.call(alice, 'GET', `${V1()}/threads?limit=0`), 400, 'M_INVALID_PARAM', 'limit=0');
  t.equal((await s.call(alice, 'GET', `${V1()}/threads?limit=1`)).status, 200, 'limit=1');
});
