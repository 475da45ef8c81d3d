/**
 * Presence: GET/PUT /presence/{userId}/status through the ClientAPI, who may
 * see whom, the sync's set_presence, activity from typing, restart, the
 * configuration switch; and the timers (currently active, idle, offline) on
 * the Presence module with a fake clock.
 */
import { join } from 'node:path';
import t from 'tap';
import { Presence } from '../../../src/components/eduserver/presence.js';
import { presenceEvents, type PresenceRecord } from '../../../src/components/eduserver/topics.js';
import { LogProducer } from '../../../src/platform/log/producer.js';
import type { TopicDescriptor } from '../../../src/platform/log/topic.js';
import { Database } from '../../../src/platform/storage/database.js';
import { enc, expectError, expectOk } from '../../helpers/clientapi.js';
import { roomWith, startEdu, type EduHarness, type EduUser } from '../../helpers/edu.js';
import { tempDir } from '../../helpers/server.js';

const V3 = '/_matrix/client/v3';
const url = (userId: string) => `${V3}/presence/${enc(userId)}/status`;

t.test('presence on', async (t) => {
  let h: EduHarness = await startEdu();
  t.teardown(() => h.stop());
  const alice = await h.register('alice');
  const bob = await h.register('bob');
  const carol = await h.register('carol');
  await roomWith(h, alice, [bob]);
  const get = (viewer: EduUser | undefined, userId: string) => h.call(viewer, 'GET', url(userId));
  const put = (user: EduUser | undefined, body: unknown, userId = user?.user_id ?? alice.user_id) => h.call(user, 'PUT', url(userId), body);
  const records = () => h.records<PresenceRecord>(presenceEvents);

  await t.test('a user never seen is offline', async (t) => {
    const r = await get(alice, alice.user_id);
    await expectOk(t, r, 'GET /presence/{userId}/status');
    t.same(r.body, { presence: 'offline' });
  });

  await t.test('PUT sets state and status message; the same again writes nothing', async (t) => {
    const before = (await records()).length;
    await expectOk(t, await put(alice, { presence: 'online', status_msg: 'lunch' }), 'PUT /presence/{userId}/status');
    const r = await get(alice, alice.user_id);
    await expectOk(t, r, 'GET /presence/{userId}/status');
    t.match(r.body, { presence: 'online', status_msg: 'lunch', currently_active: true });
    t.ok(r.body.last_active_ago >= 0 && r.body.last_active_ago < 60_000, 'last_active_ago: just now');
    await put(alice, { presence: 'online', status_msg: 'lunch' });
    const recs = (await records()).slice(before);
    t.equal(recs.length, 1, 'one record');
    t.match(recs[0], { user_id: alice.user_id, presence: 'online', status_msg: 'lunch', currently_active: true });
    t.ok(Date.now() - recs[0]!.last_active_ts < 60_000, 'last_active_ts: when it was set');

    await put(alice, { presence: 'unavailable' });
    const again = await get(alice, alice.user_id);
    t.equal(again.body.presence, 'unavailable');
    t.notOk('status_msg' in again.body, 'a PUT without status_msg clears it');
    t.notOk('currently_active' in again.body, 'currently_active only goes with online');
    t.match((await records()).at(-1), { presence: 'unavailable', status_msg: null, currently_active: false });
  });

  await t.test('who may see whom', async (t) => {
    const r = await get(bob, alice.user_id);
    await expectOk(t, r, 'GET /presence/{userId}/status', 'a user sharing a room');
    t.equal(r.body.presence, 'unavailable');
    expectError(t, await get(carol, alice.user_id), 403, 'M_FORBIDDEN', 'a user sharing no room');
    expectError(t, await get(alice, `@nobody:${h.serverName}`), 404, 'M_NOT_FOUND', 'an unknown local user');
    expectError(t, await get(alice, 'alice'), 400, 'M_INVALID_PARAM', 'not a user id');
    expectError(t, await get(undefined, alice.user_id), 401, 'M_MISSING_TOKEN', 'no token');
  });

  await t.test('refused updates change nothing', async (t) => {
    const before = await records();
    const seen = (await get(alice, alice.user_id)).body;
    expectError(t, await put(bob, { presence: 'online' }, alice.user_id), 403, 'M_FORBIDDEN', "another user's presence");
    expectError(t, await put(alice, { presence: 'busy' }), 400, 'M_BAD_JSON', 'unknown state');
    expectError(t, await put(alice, { status_msg: 'x' }), 400, 'M_BAD_JSON', 'presence missing');
    expectError(t, await put(alice, { presence: 'online', status_msg: 7 }), 400, 'M_BAD_JSON', 'status_msg not a string');
    expectError(t, await put(alice, { presence: 'online' }, 'alice'), 400, 'M_INVALID_PARAM', 'not a user id');
    expectError(t, await put(undefined, { presence: 'online' }), 401, 'M_MISSING_TOKEN', 'no token');
    t.same(await records(), before, 'no record');
    const now = (await get(alice, alice.user_id)).body;
    t.equal(now.presence, seen.presence);
    t.equal(now.status_msg, seen.status_msg);
  });

  await t.test("the sync's set_presence", async (t) => {
    const dave = await h.register('dave');
    const edu = h.cctx.eduserver;
    const state = async () => (await edu.queryPresence({ user_ids: [dave.user_id] })).presence[0]!;
    await edu.setPresence({ user_id: dave.user_id, presence: 'offline', source: 'sync' });
    t.equal((await state()).presence, 'offline', 'offline: the client does not count as connected');
    await edu.setPresence({ user_id: dave.user_id, presence: 'online', source: 'sync' });
    t.match(await state(), { presence: 'online', currently_active: true }, 'a sync brings an offline user online');
    await edu.setPresence({ user_id: dave.user_id, presence: 'unavailable', source: 'sync' });
    t.equal((await state()).presence, 'unavailable', 'unavailable when the client says so');
    const before = (await records()).length;
    await edu.setPresence({ user_id: dave.user_id, presence: 'online', source: 'sync' });
    t.equal((await state()).presence, 'unavailable', 'syncing is not an action: an idle user stays idle');
    t.equal((await records()).length, before, 'and nothing is written');
    const q = await edu.queryPresence({ user_ids: [dave.user_id, carol.user_id] });
    t.match(q, { enabled: true, presence: [{ user_id: dave.user_id }, { user_id: carol.user_id, presence: 'offline' }] });
  });

  await t.test('typing and receipts are actions: they bring the user online', async (t) => {
    const roomId = await roomWith(h, carol, []);
    await put(carol, { presence: 'unavailable', status_msg: 'away' });
    await h.call(carol, 'PUT', `${V3}/rooms/${enc(roomId)}/typing/${enc(carol.user_id)}`, { typing: true, timeout: 1000 });
    const r = await get(carol, carol.user_id);
    t.match(r.body, { presence: 'online', currently_active: true, status_msg: 'away' }, 'online, status kept');
  });

  await t.test('presence survives a restart', async (t) => {
    await put(alice, { presence: 'online', status_msg: 'back soon' });
    h = await h.restart();
    const r = await get(alice, alice.user_id);
    t.match(r.body, { presence: 'online', status_msg: 'back soon' });
  });
});

t.test('presence off: updates change nothing, everyone reads as offline, typing still works', async (t) => {
  const h = await startEdu({ presence: false });
  t.teardown(() => h.stop());
  const alice = await h.register('alice');
  const bob = await h.register('bob');
  const roomId = await roomWith(h, alice, [bob]);
  await expectOk(t, await h.call(alice, 'PUT', url(alice.user_id), { presence: 'online', status_msg: 'hi' }), 'PUT /presence/{userId}/status');
  const r = await h.call(bob, 'GET', url(alice.user_id));
  await expectOk(t, r, 'GET /presence/{userId}/status');
  t.same(r.body, { presence: 'offline' });
  expectError(t, await h.call(bob, 'PUT', url(alice.user_id), { presence: 'online' }), 403, 'M_FORBIDDEN', "still no setting another user's presence");
  expectError(t, await h.call(bob, 'PUT', url(bob.user_id), { presence: 'away' }), 400, 'M_BAD_JSON', 'still a bad body');
  t.same(await h.cctx.eduserver.queryPresence({ user_ids: [alice.user_id] }), { enabled: false, presence: [] });
  await h.cctx.eduserver.setPresence({ user_id: bob.user_id, presence: 'online', source: 'sync' });
  t.equal((await h.call(alice, 'PUT', `${V3}/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, { typing: true, timeout: 1000 })).status, 200);
  t.same(await h.records(presenceEvents), [], 'no presence record at all');
});

t.test('timers: currently active, idle, offline (fake clock)', async (t) => {
  const db = await Database.open(join(tempDir(), 'db'));
  const producer = new LogProducer(db, [presenceEvents as TopicDescriptor<unknown>]);
  await producer.open();
  t.teardown(async () => {
    await producer.close();
    await db.close();
  });
  let clock = 1_000_000;
  const timings = { idleMs: 300_000, activeMs: 60_000, offlineMs: 90_000, sweepMs: 3_600_000 };
  const p = new Presence(db, producer, () => clock, timings);
  await p.load();
  t.teardown(() => p.stop());
  const read = async () => (await producer.read({ topic: presenceEvents.name, consumer: 'test', from: 1, limit: 1000, waitMs: 0, durable: 0 })).records.map((r) => r.record as PresenceRecord);
  const u = '@u:x';

  await p.setBySync(u, 'online');
  t.match(p.view(u), { presence: 'online', currently_active: true, last_active_ago: 0 });
  clock += 30_000;
  await p.setBySync(u, 'online');
  await p.sweep();
  t.match(p.view(u), { presence: 'online', currently_active: true, last_active_ago: 30_000 }, 'within a minute: still currently active');
  clock += 31_000;
  await p.setBySync(u, 'online');
  await p.sweep();
  t.match(p.view(u), { presence: 'online', currently_active: false, last_active_ago: 61_000 }, 'a minute after the last action: not currently active');
  t.match((await read()).at(-1), { presence: 'online', currently_active: false, last_active_ts: 1_000_000 }, 'a record with the exact last active time');
  await p.active(u);
  t.match(p.view(u), { presence: 'online', currently_active: true, last_active_ago: 0 }, 'an action makes the user currently active again');
  for (let i = 0; i < 6; i++) {
    clock += 55_000;
    await p.setBySync(u, 'online');
    await p.sweep();
  }
  t.match(p.view(u), { presence: 'unavailable', last_active_ago: 330_000 }, 'five minutes without an action: idle, though still syncing');
  await p.active(u);
  t.equal(p.view(u).presence, 'online', 'activity brings the user back online');
  clock += 89_000;
  await p.sweep();
  t.match(p.view(u), { presence: 'online', currently_active: false }, 'no sync for less than the offline timeout: still online (no longer currently active)');
  clock += 2_000;
  await p.sweep();
  t.match(p.view(u), { presence: 'offline' }, 'no sync for longer: offline');
  t.notOk('currently_active' in p.view(u));
  const states = (await read()).map((r) => `${r.presence}${r.currently_active ? '*' : ''}`);
  t.same(states, ['online*', 'online', 'online*', 'online', 'unavailable', 'online*', 'online', 'offline'], 'one record per visible change, in order');
});
