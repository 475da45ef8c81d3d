/**
 * What the roomserver and the SyncAPI let go when their process goes quiet
 * (their `ctx.onQuiet` hooks): their caches of events, event ids and
 * state-tree nodes. Over a real LevelDB: a record changed underneath a
 * cache is still answered from the cache, and once the cache is dropped,
 * from the database.
 */
import { join } from 'node:path';
import t from 'tap';
import { EventStore as RoomserverEvents } from '../../src/components/roomserver/events.js';
import { PendingNodeStore } from '../../src/components/roomserver/state/pending-nodes.js';
import { StateTree } from '../../src/components/roomserver/state/state-tree.js';
import { keys as rsKeys, RoomserverStorage, type StoredEvent } from '../../src/components/roomserver/storage.js';
import { EventStore as SyncEvents } from '../../src/components/syncapi/events.js';
import { keys as syncKeys, type EventRecord } from '../../src/components/syncapi/storage.js';
import { Database } from '../../src/platform/storage/database.js';
import { tempDir } from '../helpers/server.js';

t.test("the roomserver's events and event ids: cached, then read again once dropped", async (t) => {
  const db = await Database.open(join(tempDir(), 'rs'));
  t.teardown(() => db.close());
  const events = new RoomserverEvents(new RoomserverStorage(db));
  const stored = (body: string) => ({ nid: 7, pdu: { content: { body } } }) as unknown as StoredEvent;
  const body = async () => ((await events.get('$a')) as unknown as ReturnType<typeof stored> & { pdu: { content: { body: string } } }).pdu.content.body;
  await db.put(rsKeys.event('$a'), stored('first'));
  await db.put(rsKeys.nid(7), '$a');
  t.equal(await body(), 'first');
  t.equal(await events.idOfNid(7), '$a');
  await db.put(rsKeys.event('$a'), stored('changed underneath'));
  await db.put(rsKeys.nid(7), '$b');
  t.equal(await body(), 'first', 'the event is answered from the cache');
  t.equal(await events.idOfNid(7), '$a', 'so is the event id');
  events.dropCached();
  t.equal(await body(), 'changed underneath', 'dropped: the event is read from the database');
  t.equal(await events.idOfNid(7), '$b', 'and so is the event id');
});

t.test("the roomserver's state-tree nodes: dropped, and the tree still answers from the database", async (t) => {
  const db = await Database.open(join(tempDir(), 'tree'));
  t.teardown(() => db.close());
  const nodes = new PendingNodeStore(db);
  const tree = new StateTree(nodes, { cacheSize: 64 });
  const { root, nodes: made } = await tree.update(tree.emptyRoot, new Map(Array.from({ length: 50 }, (_, i) => [`m.room.member\u0000@u${i}:x`, `$e${i}`])));
  await db.write(made.map(([id, node]) => ({ type: 'put', key: rsKeys.stateNode(id), value: node })));
  t.equal(await tree.get(root, 'm.room.member\u0000@u7:x'), '$e7');
  t.ok(tree.cachedNodes > 0, `nodes are cached (${tree.cachedNodes})`);
  tree.dropCached();
  t.equal(tree.cachedNodes, 0, 'dropped, none is');
  t.equal(await tree.get(root, 'm.room.member\u0000@u42:x'), '$e42', 'and the tree reads what it needs again');
});

t.test("the SyncAPI's events: cached, then read again once dropped", async (t) => {
  const db = await Database.open(join(tempDir(), 'sync'));
  t.teardown(() => db.close());
  const events = new SyncEvents(db);
  const record = (body: string) => ({ event_id: '$a', pos: 1, event: { content: { body } } }) as unknown as EventRecord;
  events.remember(record('first'));
  await db.put(syncKeys.event('$a'), record('in the database'));
  const body = async () => ((await events.get('$a')) as unknown as { event: { content: { body: string } } }).event.content.body;
  t.equal(await body(), 'first', 'answered from the cache');
  events.dropCached();
  t.equal(await body(), 'in the database', 'dropped: read from the database');
});
