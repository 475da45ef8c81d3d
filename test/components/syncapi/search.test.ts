/**
 * POST /search (room_events): words in body, name and topic, all words
 * required, case and Unicode, only rooms and history the user may see,
 * encrypted and redacted events never found, filters, rank and recent
 * order, pagination, context with profiles, groupings, state, count, bad
 * input; the index rebuilt for a database that has none.
 */
import t from 'tap';
import { componentDatabasePath } from '../../../src/platform/storage/index.js';
import { Database } from '../../../src/platform/storage/database.js';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3, type SyncHarness, type User } from '../../helpers/syncapi.js';

let s: SyncHarness = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const carol = await s.user('carol');
const dave = await s.user('dave');
const erin = await s.user('erin');

// Room A: alice and bob, public, named and with a topic.
const roomA = await ops.create(alice, { preset: 'public_chat', name: 'Garden Planning', topic: 'Tomatoes and basil' });
await ops.join(bob, roomA);
await ops.state(alice, roomA, 'm.room.member', alice.user_id, { membership: 'join', displayname: 'Alice Before' });
const foxTriple = await ops.send(bob, roomA, { msgtype: 'm.text', body: 'fox FOX fox, said the hunter' });
const foxQuick = await ops.send(alice, roomA, { msgtype: 'm.text', body: 'The quick brown fox jumps' });
const unicode = await ops.send(alice, roomA, { msgtype: 'm.text', body: 'Ünïcode: Straße CAFÉ, Привет мир! ﬁre' });
const encrypted = await ops.send(alice, roomA, { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'walrus', body: 'walrus cipher', sender_key: 'k', session_id: 's', device_id: 'D' }, 'm.room.encrypted');
const image = await ops.send(bob, roomA, { msgtype: 'm.image', body: 'fox picture', url: 'mxc://test.neurite.local/abc' });
const toRedact = await ops.send(bob, roomA, { msgtype: 'm.text', body: 'zebra secret mistake' });
const redaction = await s.call(bob, 'PUT', `${V3}/rooms/${enc(roomA)}/redact/${enc(toRedact)}/r1`, { reason: 'oops' });
if (redaction.status !== 200) throw new Error(`redact: ${JSON.stringify(redaction.body)}`);
await ops.state(alice, roomA, 'm.room.member', alice.user_id, { membership: 'join', displayname: 'Alice After' });

// Room B: history visible to joined members only; dave joins late.
const roomB = await ops.create(alice, { preset: 'private_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
const birdEarly = await ops.send(alice, roomB, { msgtype: 'm.text', body: 'early bird and a fox' });
await ops.invite(alice, roomB, dave);
await ops.join(dave, roomB);
const birdLate = await ops.send(alice, roomB, { msgtype: 'm.text', body: 'late bird' });

// Room C: carol's alone.
const roomC = await ops.create(carol, { preset: 'private_chat' });
const carols = await ops.send(carol, roomC, { msgtype: 'm.text', body: 'fox of carol, carolsecret' });

// Room D: erin reads, leaves, the room goes on.
const roomD = await ops.create(alice, { preset: 'public_chat' });
await ops.join(erin, roomD);
const applePie = await ops.send(alice, roomD, { msgtype: 'm.text', body: 'apple pie' });
await ops.leave(erin, roomD);
await ops.send(alice, roomD, { msgtype: 'm.text', body: 'apple crumble' });

// Pagination material in room A: 23 messages with 1–3 occurrences of "pager".
const pagers: string[] = [];
for (let i = 0; i < 23; i++) pagers.push(await ops.send(i % 2 ? bob : alice, roomA, { msgtype: 'm.text', body: `${'pager '.repeat((i % 3) + 1)}item ${i}` }));
await new SyncStream(s, alice).untilEvent(roomA, pagers.at(-1)!);

const search = (u: User | undefined, criteria: unknown, nextBatch?: string) => s.call(u, 'POST', `${V3}/search${nextBatch ? `?next_batch=${enc(nextBatch)}` : ''}`, { search_categories: { room_events: criteria } });
const ids = (r: any): string[] => r.body.search_categories.room_events.results.map((x: any) => x.result.event_id);
const cat = (r: any) => r.body.search_categories.room_events;

t.test('words in body, name and topic; all words required; word-based', async (t) => {
  const r = await search(alice, { search_term: 'fox' });
  await expectOk(t, r, 'POST /search');
  t.same(new Set(ids(r)), new Set([foxTriple, foxQuick, image, birdEarly]), 'every fox alice may see');
  t.equal(cat(r).count, 4, 'count');
  t.same(cat(r).highlights, ['fox'], 'highlights: the words');
  t.same(ids(await search(alice, { search_term: 'quick fox' })), [foxQuick], 'all words must appear');
  t.same(ids(await search(alice, { search_term: 'quick walrus' })), [], 'one word missing: nothing');
  t.same(ids(await search(alice, { search_term: 'fo' })), [], 'words, not prefixes');
  const name = await search(alice, { search_term: 'planning' });
  t.equal(name.body.search_categories.room_events.results[0]?.result.type, 'm.room.name', 'the room name (content.name)');
  const topic = await search(alice, { search_term: 'basil tomatoes' });
  t.equal(cat(topic).results[0]?.result.type, 'm.room.topic', 'the topic (content.topic)');
  t.same(ids(await search(alice, { search_term: 'planning', keys: ['content.body'] })), [], 'keys: not in the body');
  t.equal(ids(await search(alice, { search_term: 'planning', keys: ['content.name'] })).length, 1, 'keys: content.name');
  t.same(ids(await search(alice, { search_term: 'brown', keys: ['content.topic', 'content.name'] })), [], 'keys: body left out');
  const res = cat(await search(alice, { search_term: 'quick brown' })).results[0];
  t.match(res.result, { room_id: roomA, sender: alice.user_id, type: 'm.room.message', content: { body: 'The quick brown fox jumps' } }, 'the event as a client event');
  t.equal(res.rank, 2, 'rank: how often the words occur');
  t.same(ids(await search(alice, { search_term: '!!! ...' })), [], 'a term without words finds nothing');
});

t.test('read your writes: a search right after a send finds it', async (t) => {
  let missed = 0;
  for (let i = 0; i < 30; i++) {
    const id = await ops.send(alice, roomA, { msgtype: 'm.text', body: `rightaway${i}` });
    if (!ids(await search(alice, { search_term: `rightaway${i}` })).includes(id)) missed++;
  }
  t.equal(missed, 0, 'each of 30 messages is found by the search that follows its send');
});

t.test('case and Unicode', async (t) => {
  for (const term of ['straße', 'STRAßE', 'café', 'Café', 'привет', 'МИР', 'ünïcode', 'ÜNÏCODE', 'fire', 'привет straße']) {
    t.same(ids(await search(alice, { search_term: term })), [unicode], `"${term}" is found`);
  }
  t.ok(ids(await search(alice, { search_term: 'BROWN Fox' })).includes(foxQuick), 'upper case finds lower case');
  t.same(ids(await search(alice, { search_term: 'cafe' })), [], 'accents matter (no folding)');
});

t.test('only what the user may see', async (t) => {
  t.same(ids(await search(alice, { search_term: 'carolsecret' })), [], "a room alice is not in is not searched");
  t.same(ids(await search(carol, { search_term: 'carolsecret' })), [carols], 'carol finds her own');
  t.same(ids(await search(carol, { search_term: 'fox' })), [carols], "carol finds only her room's fox");
  t.same(ids(await search(dave, { search_term: 'bird' })), [birdLate], 'joined later (visibility joined): not the earlier message');
  t.same(new Set(ids(await search(alice, { search_term: 'bird' }))), new Set([birdEarly, birdLate]), 'alice: both');
  t.same(ids(await search(erin, { search_term: 'apple' })), [applePie], 'left: not what came after the leave');
  t.same(ids(await search(alice, { search_term: 'walrus' })), [], 'encrypted events are never matched');
  t.same(ids(await search(alice, { search_term: 'cipher' })), [], 'not even by a body in their content');
  t.same(ids(await search(bob, { search_term: 'zebra' })), [], 'a redacted event is not found by its old words');
  t.same(ids(await search(bob, { search_term: 'oops' })), [], 'nor by the reason of its redaction (no body)');
});

t.test('filter: rooms, senders, types, contains_url, limit', async (t) => {
  const f = (filter: unknown) => search(alice, { search_term: 'fox', filter });
  t.same(ids(await f({ rooms: [roomB] })), [birdEarly], 'rooms');
  t.same(new Set(ids(await f({ not_rooms: [roomB] }))), new Set([foxTriple, foxQuick, image]), 'not_rooms');
  t.same(new Set(ids(await f({ senders: [bob.user_id] }))), new Set([foxTriple, image]), 'senders');
  t.same(new Set(ids(await f({ not_senders: [bob.user_id] }))), new Set([foxQuick, birdEarly]), 'not_senders');
  t.same(ids(await search(alice, { search_term: 'garden', filter: { types: ['m.room.name'] } })).length, 1, 'types');
  t.same(ids(await search(alice, { search_term: 'garden', filter: { not_types: ['m.room.*'] } })), [], 'not_types with a wildcard');
  t.same(ids(await f({ contains_url: true })), [image], 'contains_url');
  const limited = await f({ limit: 2 });
  t.equal(ids(limited).length, 2, 'limit');
  t.equal(cat(limited).count, 4, 'count is of all results');
  t.ok(cat(limited).next_batch, 'and a next_batch');
});

t.test('order_by rank and recent', async (t) => {
  const rank = await search(alice, { search_term: 'fox', order_by: 'rank', filter: { rooms: [roomA] } });
  t.equal(ids(rank)[0], foxTriple, 'rank: three occurrences first (though older)');
  t.same(cat(rank).results.map((x: any) => x.rank), [3, 1, 1], 'ranks, highest first');
  t.same(ids(rank).slice(1), [image, foxQuick], 'ties by recency');
  const recent = await search(alice, { search_term: 'fox', order_by: 'recent', filter: { rooms: [roomA] } });
  t.same(ids(recent), [image, foxQuick, foxTriple], 'recent: newest first');
  t.same(ids(await search(alice, { search_term: 'fox', filter: { rooms: [roomA] } })), ids(rank), 'rank is the default');
});

t.test('pagination with next_batch until the end', async (t) => {
  for (const order_by of ['recent', 'rank'] as const) {
    const seen: string[] = [];
    const ranks: number[] = [];
    let next: string | undefined;
    let pages = 0;
    for (;;) {
      const r = await search(bob, { search_term: 'pager', order_by, filter: { limit: 5 } }, next);
      if (pages === 0) await expectOk(t, r, 'POST /search', `${order_by}: first page`);
      t.equal(r.status, 200);
      pages++;
      seen.push(...ids(r));
      t.equal(cat(r).count, pagers.length, `${order_by}: page ${pages} counts all the results, not those left`);
      ranks.push(...cat(r).results.map((x: any) => x.rank));
      next = cat(r).next_batch;
      if (!next) break;
      if (pages > 10) throw new Error('no end');
    }
    t.equal(pages, 5, `${order_by}: 23 results in pages of 5`);
    t.equal(new Set(seen).size, seen.length, `${order_by}: no duplicates`);
    t.same(new Set(seen), new Set(pagers), `${order_by}: nothing missed`);
    if (order_by === 'recent') t.same(seen, [...pagers].reverse(), 'recent: newest first across pages');
    else {
      t.same(ranks, [...ranks].sort((a, b) => b - a), 'rank: never increasing across pages');
      t.equal(ranks[0], 3);
    }
  }
  // A page that is exactly full carries a token (as Synapse's do); the page after it is empty and has none.
  const full = await search(bob, { search_term: 'pager', order_by: 'recent', filter: { limit: pagers.length } });
  t.equal(ids(full).length, pagers.length);
  t.ok(cat(full).next_batch, 'a full page has a next_batch');
  const after = await search(bob, { search_term: 'pager', order_by: 'recent', filter: { limit: pagers.length } }, cat(full).next_batch);
  t.same([ids(after), cat(after).count, cat(after).next_batch], [[], pagers.length, undefined], 'then an empty page, still counting all, with no next_batch');
  // A new match after the first page does not shift the pages.
  const first = await search(bob, { search_term: 'pager', order_by: 'rank', filter: { limit: 5 } });
  const late = await ops.send(bob, roomA, { msgtype: 'm.text', body: 'pager pager pager pager late' });
  await new SyncStream(s, bob).untilEvent(roomA, late);
  const second = await search(bob, { search_term: 'pager', order_by: 'rank', filter: { limit: 5 } }, cat(first).next_batch);
  t.notOk(ids(second).includes(late), 'the window of the first page is kept');
  t.equal(ids((await search(bob, { search_term: 'pager', order_by: 'rank', filter: { limit: 1 } })))[0], late, 'a new search finds it');
});

t.test('event_context with profiles', async (t) => {
  const r = await search(alice, { search_term: 'quick brown', event_context: { before_limit: 2, after_limit: 1, include_profile: true } });
  await expectOk(t, r, 'POST /search', 'with context');
  const ctx = cat(r).results[0].context;
  t.same(ctx.events_before.map((e: any) => e.event_id), [foxTriple, ctx.events_before[1].event_id], 'before: newest first');
  t.equal(ctx.events_before.length, 2);
  t.same(ctx.events_after.map((e: any) => e.event_id), [unicode], 'after');
  t.same(ctx.profile_info[alice.user_id], { displayname: 'Alice Before' }, 'the profile as it was at the event');
  t.ok(ctx.profile_info[bob.user_id], "the context's senders too");
  const back = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomA)}/messages?dir=b&limit=1&from=${ctx.start}`);
  t.equal(back.status, 200, 'start is a /messages token');
  t.notOk(back.body.chunk.some((e: any) => [foxTriple, foxQuick].includes(e.event_id)), 'start continues before the context');
  const fwd = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomA)}/messages?dir=f&limit=1&from=${ctx.end}`);
  t.equal(fwd.body.chunk[0]?.event_id, encrypted, 'end continues after it');
  const dflt = cat(await search(alice, { search_term: 'quick brown', event_context: {} })).results[0].context;
  t.equal(dflt.events_before.length, 5, 'five before by default');
  t.notOk(dflt.profile_info, 'no profiles unless asked');
  t.notOk(cat(await search(alice, { search_term: 'quick brown' })).results[0].context, 'no context unless asked');
  const daveCtx = cat(await search(dave, { search_term: 'late bird', event_context: { before_limit: 10 } })).results[0].context;
  t.notOk(daveCtx.events_before.some((e: any) => e.event_id === birdEarly), 'context keeps to what the user may see');
});

t.test('groupings and include_state', async (t) => {
  const r = await search(alice, { search_term: 'fox', order_by: 'recent', groupings: { group_by: [{ key: 'room_id' }, { key: 'sender' }] }, include_state: true });
  await expectOk(t, r, 'POST /search', 'grouped');
  const g = cat(r).groups;
  t.same(g.room_id[roomA].results, [image, foxQuick, foxTriple], 'room A group');
  t.same(g.room_id[roomB].results, [birdEarly], 'room B group');
  t.same([g.room_id[roomB].order, g.room_id[roomA].order], [1, 2], 'order: room B holds the newest result');
  t.same(new Set(g.sender[bob.user_id].results), new Set([image, foxTriple]), 'by sender');
  t.same(Object.keys(cat(r).state).sort(), [roomA, roomB].sort(), 'state of each room with results');
  t.ok(cat(r).state[roomA].some((e: any) => e.type === 'm.room.name' && e.content.name === 'Garden Planning'), 'the current state');

  const limited = await search(alice, { search_term: 'fox', order_by: 'recent', filter: { limit: 2 }, groupings: { group_by: [{ key: 'room_id' }] } });
  const ga = cat(limited).groups.room_id;
  t.ok(ga[roomA].next_batch, 'a group with more results has a next_batch');
  t.notOk(ga[roomB].next_batch, 'one without has none');
  const more = await search(alice, { search_term: 'fox', order_by: 'recent', filter: { limit: 2 }, groupings: { group_by: [{ key: 'room_id' }] } }, ga[roomA].next_batch);
  t.same(ids(more), [foxQuick, foxTriple], "the group's next_batch continues in that room only");
});

t.test('bad input: 400 and nothing changes', async (t) => {
  const before = await search(alice, { search_term: 'fox' });
  const post = (body: unknown, q = '') => s.call(alice, 'POST', `${V3}/search${q}`, body);
  const noBody = await s.call(alice, 'POST', `${V3}/search`);
  t.equal(noBody.status, 400, 'no body');
  t.ok(['M_BAD_JSON', 'M_NOT_JSON'].includes(noBody.body.errcode), `no body: ${noBody.body.errcode}`);
  expectError(t, await post('{"search_categories":'), 400, 'M_NOT_JSON', 'not JSON');
  expectError(t, await post({}), 400, 'M_BAD_JSON', 'no search_categories');
  expectError(t, await post({ search_categories: { room_events: {} } }), 400, 'M_BAD_JSON', 'no search_term');
  expectError(t, await post({ search_categories: { room_events: { search_term: 3 } } }), 400, 'M_BAD_JSON', 'search_term not a string');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox', keys: ['content.url'] } } }), 400, 'M_BAD_JSON', 'a key not searchable');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox', order_by: 'best' } } }), 400, 'M_BAD_JSON', 'order_by unknown');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox', filter: { limit: 'x' } } } }), 400, 'M_BAD_JSON', 'a bad filter');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox', event_context: { before_limit: -1 } } } }), 400, 'M_INVALID_PARAM', 'a negative context limit');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox' }, people: {} } }), 400, 'M_INVALID_PARAM', 'an unknown category');
  expectError(t, await post({ search_categories: {} }), 400, 'M_MISSING_PARAM', 'no category');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox' } } }, '?next_batch=nonsense'), 400, 'M_INVALID_PARAM', 'a bad next_batch');
  expectError(t, await post({ search_categories: { room_events: { search_term: 'fox' } } }, `?next_batch=${Buffer.from('{"o":"rank","u":-1,"p":0,"k":1}').toString('base64url')}`), 400, 'M_INVALID_PARAM', 'a forged next_batch');
  const rankToken = cat(await search(alice, { search_term: 'fox', filter: { limit: 1 } })).next_batch;
  expectError(t, await search(alice, { search_term: 'fox', order_by: 'recent' }, rankToken), 400, 'M_INVALID_PARAM', 'a rank token for a recent search');
  t.equal((await s.call(undefined, 'POST', `${V3}/search`, { search_categories: { room_events: { search_term: 'fox' } } })).status, 401, 'no access token');
  const after = await search(alice, { search_term: 'fox' });
  t.same(ids(after), ids(before), 'the same results afterwards');
  t.equal(cat(after).count, cat(before).count);
});

t.test('a database without the index is indexed at start', async (t) => {
  const { dataDir, serverName } = s.h;
  await s.stop();
  const db = await Database.open(componentDatabasePath(dataDir, 'syncapi'));
  const dropped: string[] = [];
  for (const p of ['sw', 'st']) dropped.push(...(await db.keys({ gt: p, lt: `${p}\x01` })));
  dropped.push(...(await db.keys({ gte: 'meta\x00search_index', lte: 'meta\x00search_index' })));
  t.ok(dropped.length > 50, `the index was there (${dropped.length} keys)`);
  t.ok(dropped.some((k) => k.startsWith('sw\x00fox\x00')), 'written by the ingest');
  t.notOk(dropped.some((k) => k.startsWith('sw\x00zebra\x00')), "the redaction deleted its event's words");
  t.notOk(dropped.some((k) => k.startsWith('sw\x00walrus\x00')), 'an encrypted event has none');
  await db.write(dropped.map((key) => ({ type: 'del' as const, key })));
  t.equal((await db.keys({ gt: 'sw', lt: 'sw\x01' })).length, 0, 'and is gone');
  await db.close();
  s = await startSync({ dataDir, serverName });
  const r = await search(alice, { search_term: 'fox' });
  t.same(new Set(ids(r)), new Set([foxTriple, foxQuick, image, birdEarly]), 'old events are found right after the start');
  t.same(ids(await search(dave, { search_term: 'bird' })), [birdLate], 'under the same visibility rules');
  t.same(ids(await search(bob, { search_term: 'zebra' })), [], 'the redacted event still not');
  // The rebuild (a few hundred events) ends within moments; then the same answers from the index.
  await new Promise((r) => setTimeout(r, 1500));
  await s.stop();
  const db2 = await Database.open(componentDatabasePath(dataDir, 'syncapi'));
  t.equal(await db2.get<number>('meta\x00search_index'), 1, 'the index is marked rebuilt');
  const words = await db2.keys({ gt: 'sw', lt: 'sw\x01' });
  t.ok(words.length > 50, `rebuilt: ${words.length} word entries`);
  t.notOk(words.some((k) => k.startsWith('sw\x00zebra\x00')), 'none for the redacted event');
  t.ok((await db2.keys({ gt: 'st', lt: 'st\x01' })).length > 50, 'and the timestamps');
  await db2.close();
  s = await startSync({ dataDir, serverName });
  t.same(new Set(ids(await search(alice, { search_term: 'fox' }))), new Set([foxTriple, foxQuick, image, birdEarly]), 'found from the index');
  t.same(ids(await search(bob, { search_term: 'zebra' })), [], 'the redacted event is not indexed again');
});
