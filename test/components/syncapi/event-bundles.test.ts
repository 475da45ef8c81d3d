/**
 * GET /rooms/{roomId}/event/{eventId} carries the event's bundled
 * aggregations (the spec lists this endpoint among those that should): the
 * ClientAPI serves the event, the SyncAPI its bundle, as each viewer sees it.
 */
import t from 'tap';
import { enc, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');

t.test('an edited thread root: m.replace and m.thread from /event, as /context gives them', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  const root = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'root' });
  const edit = await ops.send(alice, roomId, { msgtype: 'm.text', body: '* root, edited', 'm.new_content': { msgtype: 'm.text', body: 'root, edited' }, 'm.relates_to': { rel_type: 'm.replace', event_id: root } });
  const reply = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'reply', 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
  const plain = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'no relations' });
  await new SyncStream(s, alice).untilEvent(roomId, plain);

  const ev = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/event/${enc(root)}`);
  t.equal(ev.status, 200);
  const rel = ev.body.unsigned['m.relations'];
  t.equal(rel?.['m.replace']?.event_id, edit, 'the latest edit');
  t.match(rel?.['m.thread'], { count: 1, current_user_participated: true, latest_event: { event_id: reply } }, 'the thread summary');
  const ctx = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/context/${enc(root)}?limit=0`);
  const ageless = (x: unknown) => JSON.parse(JSON.stringify(x), (k, v) => (k === 'age' ? undefined : v));
  t.same(ageless(rel), ageless(ctx.body.event.unsigned['m.relations']), 'the same bundle /context gives (ages apart)');
  const forBob = (await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/event/${enc(root)}`)).body.unsigned['m.relations'];
  t.equal(forBob['m.thread'].current_user_participated, true, "bob's own view: he replied");
  t.notOk('m.relations' in (await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/event/${enc(plain)}`)).body.unsigned, 'an event nothing relates to has none');
});
