/**
 * Room tags: set, read, remove; carried to every device as the room's `m.tag`
 * account data in /sync; concurrent changes all kept; bad input refused and
 * nothing changed.
 */
import t from 'tap';
import { enc, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const roomId = await ops.create(alice, { preset: 'private_chat', name: 'Tagged' });
const tags = (user = alice) => `${V3}/user/${enc(user.user_id)}/rooms/${enc(roomId)}/tags`;

t.test('set, read, sync, remove', async (t) => {
  t.same((await s.call(alice, 'GET', tags())).body, { tags: {} }, 'no tags at first');
  const stream = new SyncStream(s, alice);
  await stream.next();
  t.equal((await s.call(alice, 'PUT', `${tags()}/m.favourite`, { order: 0.25 })).status, 200);
  t.equal((await s.call(alice, 'PUT', `${tags()}/u.Family`, {})).status, 200);
  t.same((await s.call(alice, 'GET', tags())).body, { tags: { 'm.favourite': { order: 0.25 }, 'u.Family': {} } });
  const b = await stream.until((x) => (x.rooms.join[roomId]?.account_data.events ?? []).some((e: any) => e.type === 'm.tag' && Object.keys(e.content.tags).length === 2));
  t.same(
    b.rooms.join[roomId].account_data.events.find((e: any) => e.type === 'm.tag'),
    { type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.25 }, 'u.Family': {} } } },
    'the room account data in /sync carries them',
  );
  t.equal((await s.call(alice, 'DELETE', `${tags()}/m.favourite`)).status, 200);
  t.same((await s.call(alice, 'GET', tags())).body, { tags: { 'u.Family': {} } }, 'removed');
  t.equal((await s.call(alice, 'DELETE', `${tags()}/m.lowpriority`)).status, 200, 'removing a tag that is not there is fine');
  const initial = await ops.sync(alice);
  t.same(initial.body.rooms.join[roomId].account_data.events.find((e: any) => e.type === 'm.tag')?.content, { tags: { 'u.Family': {} } }, 'an initial sync shows the current tags');
  t.same((await s.call(bob, 'GET', tags(bob))).body, { tags: {} }, "tags are the user's own");
});

t.test('an initial sync taken while the tags change still shows them', async (t) => {
  // Each change stores the tags again at a new position: a sync that took its
  // position just before a change lands must show them all the same.
  t.equal((await s.call(alice, 'PUT', `${tags()}/u.Always`, {})).status, 200);
  let changing = true;
  const changes = (async () => {
    for (let i = 0; changing; i++) await s.call(alice, 'PUT', `${tags()}/u.Churn`, { order: (i % 10) / 10 });
  })();
  let missing = 0;
  const filter = encodeURIComponent(JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 1 }, state: { types: [] } }, presence: { types: [] } }));
  for (let i = 0; i < 150; i++) {
    const r = await s.call(alice, 'GET', `${V3}/sync?filter=${filter}`);
    const tag = r.body.rooms?.join?.[roomId]?.account_data?.events?.find((e: any) => e.type === 'm.tag');
    if (!tag?.content?.tags?.['u.Always']) missing++;
  }
  changing = false;
  await changes;
  t.equal(missing, 0, 'every initial sync carried the tags');
  for (const tag of ['u.Always', 'u.Churn']) t.equal((await s.call(alice, 'DELETE', `${tags()}/${tag}`)).status, 200);
});

t.test('concurrent changes are all kept', async (t) => {
  const names = Array.from({ length: 12 }, (_, i) => `u.t${i}`);
  const answers = await Promise.all(names.map((n, i) => s.call(alice, 'PUT', `${tags()}/${n}`, { order: i / 20 })));
  t.ok(answers.every((a) => a.status === 200));
  const got = (await s.call(alice, 'GET', tags())).body.tags;
  t.same(names.filter((n) => !(n in got)), [], 'no tag lost to another change');
  await Promise.all(names.map((n) => s.call(alice, 'DELETE', `${tags()}/${n}`)));
  t.same(Object.keys((await s.call(alice, 'GET', tags())).body.tags), ['u.Family']);
});

t.test('bad input is refused and changes nothing', async (t) => {
  const before = (await s.call(alice, 'GET', tags())).body;
  const cases: [string, string, unknown, number, string][] = [
    ['an order above 1', `${tags()}/m.favourite`, { order: 2 }, 400, 'M_INVALID_PARAM'],
    ['an order that is not a number', `${tags()}/m.favourite`, { order: 'first' }, 400, 'M_INVALID_PARAM'],
    ['a tag name over 255 bytes', `${tags()}/${encodeURIComponent('é'.repeat(128))}`, {}, 400, 'M_INVALID_PARAM'],
    ['a body that is not an object', `${tags()}/m.favourite`, '[1]', 400, 'M_BAD_JSON'],
    ["another user's tags", `${tags(bob)}/m.favourite`, {}, 403, 'M_FORBIDDEN'],
    ['a malformed room id', `${V3}/user/${enc(alice.user_id)}/rooms/not-a-room/tags/m.favourite`, {}, 400, 'M_INVALID_PARAM'],
  ];
  for (const [what, url, body, status, errcode] of cases) {
    const r = await s.call(alice, 'PUT', url, body);
    t.same([r.status, r.body.errcode], [status, errcode], what);
  }
  t.same((await s.call(alice, 'GET', tags())).body, before, 'nothing changed');
  t.equal((await s.call(undefined, 'GET', tags())).status, 401, 'without a token');
});
