/**
 * History endpoints: /messages in both directions with from/to, limits and
 * filters (lazy-loaded members in `state`), paginating back to the room's
 * creation; /context; /relations with rel_type, event_type, recursion and
 * pagination; /threads; bundled aggregations (threads, edits, references).
 */
import t from 'tap';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const eve = await s.user('eve');

const roomId = await ops.create(alice, { preset: 'public_chat', name: 'History' });
await ops.join(bob, roomId);
const sent: string[] = [];
for (let i = 0; i < 25; i++) sent.push(await ops.send(i % 2 ? bob : alice, roomId, { msgtype: 'm.text', body: `n${i}` }));
await new SyncStream(s, alice).untilEvent(roomId, sent.at(-1)!);
const R = `${V3}/rooms/${enc(roomId)}`;
const V1 = `/_matrix/client/v1/rooms/${enc(roomId)}`;
const bodies = (chunk: any[]) => chunk.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

t.test('/messages backwards to the creation of the room', async (t) => {
  const seenIds: string[] = [];
  let from: string | undefined;
  let pages = 0;
  for (;;) {
    const r = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=7${from ? `&from=${from}` : ''}`);
    if (pages === 0) await expectOk(t, r, 'GET /rooms/{roomId}/messages', 'first page');
    pages++;
    t.ok(r.body.chunk.length <= 7, 'at most the limit');
    seenIds.push(...r.body.chunk.map((e: any) => e.event_id));
    if (!r.body.end) break;
    from = r.body.end;
    if (pages > 20) throw new Error('no end');
  }
  t.equal(new Set(seenIds).size, seenIds.length, 'no event twice');
  t.ok(pages >= 5, `${pages} pages`);
  const lastPage = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=7&from=${from}`);
  t.same(lastPage.body.chunk, [], 'the page after the one holding the create event is empty (that one still had an end, as Synapse gives)');
  const msgs = seenIds.filter((id) => sent.includes(id));
  t.same(msgs, [...sent].reverse(), 'every message, newest first');
  const last = (await s.call(bob, 'GET', `${R}/event/${enc(seenIds.at(-1)!)}`)).body;
  t.equal(last.type, 'm.room.create', 'the last page ends with the create event');
});

t.test('/messages forwards, from/to, filters, limits', async (t) => {
  const fwd = await s.call(bob, 'GET', `${R}/messages?dir=f&limit=100`);
  await expectOk(t, fwd, 'GET /rooms/{roomId}/messages', 'forwards from the start');
  t.equal(fwd.body.chunk[0].type, 'm.room.create', 'from the start');
  t.same(bodies(fwd.body.chunk), sent.map((_, i) => `n${i}`), 'in order');
  t.ok(fwd.body.end, 'at the live edge of a room bob is in: an end token for what comes next (below)');

  const page1 = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=3`);
  const page2 = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=3&from=${page1.body.end}`);
  t.same(bodies(page2.body.chunk), ['n21', 'n20', 'n19']);
  // Forwards from page 2's end up to page 1's end covers exactly pages 2 and 1 in order.
  const span = await s.call(bob, 'GET', `${R}/messages?dir=f&limit=100&from=${page2.body.end}&to=${page1.body.start}`);
  t.same(bodies(span.body.chunk), ['n19', 'n20', 'n21', 'n22', 'n23', 'n24']);

  const onlyBob = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=5&filter=${enc(JSON.stringify({ senders: [bob.user_id], types: ['m.room.message'] }))}`);
  t.same(bodies(onlyBob.body.chunk), ['n23', 'n21', 'n19', 'n17', 'n15'], 'a filter applies before the limit');
  const lazy = await s.call(alice, 'GET', `${R}/messages?dir=b&limit=2&filter=${enc(JSON.stringify({ lazy_load_members: true }))}`);
  t.same(lazy.body.state.map((e: any) => e.state_key).sort(), [alice.user_id, bob.user_id].sort(), 'lazy-loading: the senders\' members in state');
  const firstPage = await s.call(alice, 'GET', `${R}/messages?dir=f&limit=8&filter=${enc(JSON.stringify({ lazy_load_members: true }))}`);
  const ownJoin = firstPage.body.chunk.find((e: any) => e.type === 'm.room.member' && e.state_key === alice.user_id);
  t.ok(ownJoin, "the room's first page holds alice's join");
  t.ok(firstPage.body.state.some((e: any) => e.event_id === ownJoin.event_id), 'and its state lists it too, though the chunk has it');
  const filtLimit = await s.call(bob, 'GET', `${R}/messages?dir=b&filter=${enc(JSON.stringify({ limit: 2 }))}`);
  t.equal(filtLimit.body.chunk.length, 2, "the filter's limit when there is no limit parameter");
  const otherRoom = JSON.stringify({ rooms: ['!elsewhere:localhost'] });
  for (const f of [JSON.stringify({ not_rooms: [roomId] }), otherRoom, JSON.stringify({ rooms: [roomId], not_rooms: [roomId] })]) {
    const out = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=5&filter=${enc(f)}`);
    t.same(out.body.chunk, [], `a filter's room lists leave this room out (${f}): no events`);
    t.notOk('end' in out.body, 'and no end to page on from');
  }
  const listed = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=2&filter=${enc(JSON.stringify({ rooms: [roomId] }))}`);
  t.same(bodies(listed.body.chunk), ['n24', 'n23'], 'a filter listing the room in rooms gives its events');

  expectError(t, await s.call(bob, 'GET', `${R}/messages?dir=x`), 400, 'M_INVALID_PARAM', 'dir not b or f');
  expectError(t, await s.call(bob, 'GET', `${R}/messages?dir=b&from=nonsense`), 400, 'M_INVALID_PARAM', 'a from token that is not one');
  expectError(t, await s.call(bob, 'GET', `${R}/messages?dir=b&filter=notjson`), 400, 'M_NOT_JSON', 'a filter that is not JSON');
  expectError(t, await s.call(eve, 'GET', `${R}/messages?dir=b`), 403, 'M_FORBIDDEN', 'a stranger');
});

t.test('/context', async (t) => {
  const mid = sent[12]!;
  const r = await s.call(bob, 'GET', `${R}/context/${enc(mid)}?limit=4`);
  await expectOk(t, r, 'GET /rooms/{roomId}/context/{eventId}');
  t.equal(r.body.event.event_id, mid);
  t.same(bodies(r.body.events_before), ['n11', 'n10'], 'before: newest first');
  t.same(bodies(r.body.events_after), ['n13', 'n14'], 'after: oldest first');
  t.ok(r.body.state.some((e: any) => e.type === 'm.room.create'), 'the state at the last event');
  const back = await s.call(bob, 'GET', `${R}/messages?dir=b&limit=2&from=${r.body.start}`);
  t.same(bodies(back.body.chunk), ['n9', 'n8'], 'start continues backwards');
  const fwd = await s.call(bob, 'GET', `${R}/messages?dir=f&limit=2&from=${r.body.end}`);
  t.same(bodies(fwd.body.chunk), ['n15', 'n16'], 'end continues forwards');
  const lazy = await s.call(bob, 'GET', `${R}/context/${enc(mid)}?limit=2&filter=${enc(JSON.stringify({ lazy_load_members: true }))}`);
  t.same(lazy.body.state.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort(), [alice.user_id, bob.user_id].sort());
  const notHere = await s.call(bob, 'GET', `${R}/context/${enc(mid)}?limit=4&filter=${enc(JSON.stringify({ not_rooms: [roomId] }))}`);
  t.equal(notHere.body.event.event_id, mid, 'a filter leaving the room out: the event itself still');
  t.same([notHere.body.events_before, notHere.body.events_after, notHere.body.state], [[], [], []], 'but nothing before, after, nor in state');
  expectError(t, await s.call(bob, 'GET', `${R}/context/${enc('$nope')}`), 404, 'M_NOT_FOUND', 'an unknown event');
  expectError(t, await s.call(eve, 'GET', `${R}/context/${enc(mid)}`), 403, 'M_FORBIDDEN', 'a stranger: not in the room (as /messages answers)');
  expectError(t, await s.call(eve, 'GET', `${R}/context/${enc('$nope')}`), 403, 'M_FORBIDDEN', 'the same whether the event exists or not: nothing to probe');
});

t.test('relations, threads and bundled aggregations', async (t) => {
  const root = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'root' });
  const thread = (body: string, u = bob) => ops.send(u, roomId, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: root } } });
  const r1 = await thread('reply 1');
  const r2 = await thread('reply 2', alice);
  const r3 = await thread('reply 3');
  const react = await ops.send(bob, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } }, 'm.reaction');
  const edit = await ops.send(alice, roomId, { msgtype: 'm.text', body: '* root!', 'm.new_content': { msgtype: 'm.text', body: 'root!' }, 'm.relates_to': { rel_type: 'm.replace', event_id: root } });
  const editOfReply = await ops.send(bob, roomId, { msgtype: 'm.text', body: '* reply 3!', 'm.new_content': { msgtype: 'm.text', body: 'reply 3!' }, 'm.relates_to': { rel_type: 'm.replace', event_id: r3 } });
  const ref = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'see above', 'm.relates_to': { rel_type: 'm.reference', event_id: root } });
  await new SyncStream(s, bob).untilEvent(roomId, ref);

  const all = await s.call(bob, 'GET', `${V1}/relations/${enc(root)}`);
  await expectOk(t, all, 'GET /rooms/{roomId}/relations/{eventId}', 'all relations');
  t.same(all.body.chunk.map((e: any) => e.event_id), [ref, edit, react, r3, r2, r1], 'every child, newest first');
  const threads = await s.call(bob, 'GET', `${V1}/relations/${enc(root)}/m.thread?dir=f&limit=2`);
  t.same(threads.body.chunk.map((e: any) => e.event_id), [r1, r2], 'rel_type, forwards, limited');
  const more = await s.call(bob, 'GET', `${V1}/relations/${enc(root)}/m.thread?dir=f&limit=2&from=${threads.body.next_batch}`);
  t.same(more.body.chunk.map((e: any) => e.event_id), [r3], 'next_batch continues');
  t.notOk(more.body.next_batch, 'and ends');
  const typed = await s.call(bob, 'GET', `${V1}/relations/${enc(root)}/m.annotation/m.reaction`);
  t.same(typed.body.chunk.map((e: any) => e.event_id), [react], 'rel_type and event type');
  const rec = await s.call(bob, 'GET', `${V1}/relations/${enc(root)}?recurse=true`);
  await expectOk(t, rec, 'GET /rooms/{roomId}/relations/{eventId}', 'recursive');
  t.ok(rec.body.chunk.some((e: any) => e.event_id === editOfReply), 'recurse: the edit of a reply (two hops)');
  t.equal(rec.body.recursion_depth, 2);
  t.notOk((await s.call(bob, 'GET', `${V1}/relations/${enc(root)}`)).body.chunk.some((e: any) => e.event_id === editOfReply), 'not without recurse');

  const ctx = await s.call(bob, 'GET', `${R}/context/${enc(root)}?limit=0`);
  const rel = ctx.body.event.unsigned['m.relations'];
  t.match(rel['m.thread'], { count: 3, current_user_participated: true, latest_event: { event_id: r3 } }, 'm.thread aggregation');
  t.equal(rel['m.thread'].latest_event.unsigned['m.relations']['m.replace'].event_id, editOfReply, "the latest event's own edit");
  t.equal(rel['m.replace'].event_id, edit, 'm.replace: the latest edit');
  t.same(rel['m.reference'], { chunk: [{ event_id: ref }] }, 'm.reference');
  const eveView = await s.call(eve, 'GET', `${V1}/relations/${enc(root)}`);
  expectError(t, eveView, 404, 'M_NOT_FOUND', 'relations of an event one cannot see');

  const other = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'second root' });
  await ops.send(alice, roomId, { msgtype: 'm.text', body: 'x', 'm.relates_to': { rel_type: 'm.thread', event_id: other } });
  const latest = await thread('reply 4');
  await new SyncStream(s, bob).untilEvent(roomId, latest);
  const list = await s.call(bob, 'GET', `${V1}/threads`);
  await expectOk(t, list, 'GET /rooms/{roomId}/threads');
  t.same(list.body.chunk.map((e: any) => e.event_id), [root, other], 'by latest activity');
  const page = await s.call(bob, 'GET', `${V1}/threads?limit=1`);
  t.same(page.body.chunk.map((e: any) => e.event_id), [root]);
  const page2 = await s.call(bob, 'GET', `${V1}/threads?limit=1&from=${page.body.next_batch}`);
  t.same(page2.body.chunk.map((e: any) => e.event_id), [other]);
  const mine = await s.call(eve, 'GET', `${V1}/threads`);
  t.equal(mine.status, 403, 'a stranger cannot list threads');
  await ops.join(eve, roomId);
  const participated = await s.call(eve, 'GET', `${V1}/threads?include=participated`);
  t.same(participated.body.chunk, [], 'eve took part in no thread');
  const bobs = await s.call(alice, 'GET', `${V1}/threads?include=participated`);
  t.same(bobs.body.chunk.map((e: any) => e.event_id), [root, other], 'alice took part in both (root of one, reply in the other)');
});

t.test('read your writes: what a send or createRoom acknowledged is in the reads that follow at once', async (t) => {
  let missed = 0;
  for (let i = 0; i < 30; i++) {
    const id = await ops.send(alice, roomId, { msgtype: 'm.text', body: `ryw ${i}` });
    const r = await s.call(alice, 'GET', `${R}/messages?dir=b&limit=1`);
    if (r.body.chunk[0]?.event_id !== id) missed++;
  }
  t.equal(missed, 0, '/messages right after each of 30 sends holds the event');
  let roomsMissed = 0;
  for (let i = 0; i < 10; i++) {
    const fresh = await ops.create(bob, { preset: 'private_chat', name: `fresh ${i}` });
    const sync = await ops.sync(bob, { timeout: 0, filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) });
    if (!(fresh in sync.body.rooms.join)) roomsMissed++;
  }
  t.equal(roomsMissed, 0, 'an initial sync right after each of 10 createRooms holds the room');
});

t.test('/messages forwards at the live edge: the end token brings what comes next', async (t) => {
  const room = await ops.create(alice, { preset: 'public_chat', name: 'Edge' });
  await ops.join(bob, room);
  const first = await ops.send(alice, room, { msgtype: 'm.text', body: 'first' });
  const stream = new SyncStream(s, bob);
  await stream.untilEvent(room, first);
  const RR = `${V3}/rooms/${enc(room)}`;
  const edge = await s.call(bob, 'GET', `${RR}/messages?dir=f&limit=100`);
  t.equal(edge.body.chunk.at(-1).event_id, first);
  t.ok(edge.body.end, 'an end token at the edge');
  const later = await ops.send(alice, room, { msgtype: 'm.text', body: 'later' });
  await stream.untilEvent(room, later);
  const next = await s.call(bob, 'GET', `${RR}/messages?dir=f&limit=100&from=${edge.body.end}`);
  t.same(next.body.chunk.map((e: any) => e.event_id), [later], 'exactly the events sent since');
  t.notOk((await s.call(bob, 'GET', `${RR}/messages?dir=f&limit=100&from=${next.body.end}`)).body.end, 'an empty page: no end (the client keeps its token)');
  await ops.leave(bob, room);
  await ops.send(alice, room, { msgtype: 'm.text', body: 'after bob left' });
  const gone = await s.call(bob, 'GET', `${RR}/messages?dir=f&limit=100`);
  t.notOk(gone.body.end, 'a room bob left: his history ends, no end token');
});
