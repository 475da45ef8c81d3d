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
