/**
 * POST /keys/query and /keys/claim: which devices are shown, remote servers
 * in `failures`, one-time keys given out oldest first and once only (also
 * under concurrent claims), the fallback key when they run out, and a
 * deleted device's keys going with it.
 */
import t from 'tap';
import { expectError, expectOk } from '../../helpers/clientapi.js';
import { startKeys, TestDevice, V3, type KeysHarness, type KeyUser } from '../../helpers/keys.js';

const h: KeysHarness = await startKeys();
t.teardown(() => h.stop());

const upload = (user: KeyUser, body: unknown) => h.call(user, 'POST', `${V3}/keys/upload`, body);
const query = (user: KeyUser, body: unknown) => h.call(user, 'POST', `${V3}/keys/query`, body);
const claim = (user: KeyUser, body: unknown) => h.call(user, 'POST', `${V3}/keys/claim`, body);
const counts = (user: KeyUser) => h.cctx.keyserver.queryKeyCounts({ user_id: user.user_id, device_id: user.device_id });

const alice = await h.register('alice');
const alice2 = await h.login('alice', 'ALICEPHONE');
const aliceNoKeys = await h.login('alice', 'ALICEWEB');
const bob = await h.register('bob');
const devA = new TestDevice(alice);
const devA2 = new TestDevice(alice2);
await upload(alice, { device_keys: devA.deviceKeys() });
await upload(alice2, { device_keys: devA2.deviceKeys() });

t.test('query: every device with keys, or the ones asked for, with display names; remote servers in failures', async (t) => {
  const all = await query(bob, { device_keys: { [alice.user_id]: [] } });
  await expectOk(t, all, 'POST /keys/query');
  t.same(Object.keys(all.body.device_keys[alice.user_id]).sort(), [alice.device_id, alice2.device_id].sort(), 'devices without keys are not shown');
  const shown = all.body.device_keys[alice.user_id][alice.device_id];
  t.same({ ...shown, unsigned: undefined }, { ...devA.deviceKeys(), unsigned: undefined }, 'the keys as uploaded');
  t.same(shown.unsigned, { device_display_name: "alice's laptop" });

  const one = await query(bob, { device_keys: { [alice.user_id]: [alice2.device_id, 'NOSUCHDEVICE'] }, timeout: 100 });
  t.same(Object.keys(one.body.device_keys[alice.user_id]), [alice2.device_id]);

  const remote = await query(bob, { device_keys: { '@carol:elsewhere.example': [], '@nobody:keys.neurite.local': [] } });
  await expectOk(t, remote, 'POST /keys/query', 'remote and unknown users');
  t.same(Object.keys(remote.body.failures), ['elsewhere.example'], 'the remote server failed');
  t.same(remote.body.device_keys['@nobody:keys.neurite.local'], {}, 'an unknown local user has no devices');
  t.notOk(remote.body.device_keys['@carol:elsewhere.example']);
  t.same(aliceNoKeys.user_id, alice.user_id);
});

t.test('query and claim refusals', async (t) => {
  expectError(t, await query(bob, {}), 400, 'M_BAD_JSON', 'no device_keys');
  expectError(t, await query(bob, { device_keys: { [alice.user_id]: 'all' } }), 400, 'M_BAD_JSON', 'devices not a list');
  expectError(t, await query(bob, { device_keys: { 'not-a-user': [] } }), 400, 'M_INVALID_PARAM', 'not a user id');
  expectError(t, await claim(bob, {}), 400, 'M_BAD_JSON', 'no one_time_keys');
  expectError(t, await claim(bob, { one_time_keys: { [alice.user_id]: { [alice.device_id]: 7 } } }), 400, 'M_BAD_JSON', 'algorithm not a string');
  expectError(t, await claim(bob, { one_time_keys: { 'not-a-user': {} } }), 400, 'M_INVALID_PARAM', 'not a user id');
});

t.test('claim: oldest upload first, each key once, then the fallback key (reused, marked used) until replaced', async (t) => {
  const first = devA.oneTimeKeys(2, 'first');
  await upload(alice, { one_time_keys: first });
  await upload(alice, { one_time_keys: devA.oneTimeKeys(1, 'second'), fallback_keys: { 'signed_curve25519:fb': devA.signedKey(true) } });
  t.same(await counts(alice), { one_time_key_counts: { signed_curve25519: 3 }, unused_fallback_key_types: ['signed_curve25519'] });

  const want = { one_time_keys: { [alice.user_id]: { [alice.device_id]: 'signed_curve25519' } } };
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await claim(bob, want);
    await expectOk(t, r, 'POST /keys/claim');
    const keys = r.body.one_time_keys[alice.user_id][alice.device_id];
    t.equal(Object.keys(keys).length, 1);
    got.push(Object.keys(keys)[0]!);
    t.notOk(Object.values<any>(keys)[0].fallback, 'a one-time key');
  }
  t.same(got.slice(0, 2).sort(), Object.keys(first).sort(), 'the keys of the first upload go first');
  t.same(got[2], 'signed_curve25519:second0');
  t.same(await counts(alice), { one_time_key_counts: {}, unused_fallback_key_types: ['signed_curve25519'] }, 'all one-time keys gone, fallback unused yet');

  // Exhausted: the fallback key, as often as asked, and now marked used.
  for (let i = 0; i < 2; i++) {
    const r = await claim(bob, want);
    const keys = r.body.one_time_keys[alice.user_id][alice.device_id];
    t.same(Object.keys(keys), ['signed_curve25519:fb'], 'the fallback key');
    t.equal(Object.values<any>(keys)[0].fallback, true);
  }
  t.same(await counts(alice), { one_time_key_counts: {}, unused_fallback_key_types: [] }, 'the fallback key is used');

  // A new one-time key goes before the fallback key again.
  await upload(alice, { one_time_keys: devA.oneTimeKeys(1, 'third') });
  t.same(Object.keys((await claim(bob, want)).body.one_time_keys[alice.user_id][alice.device_id]), ['signed_curve25519:third0']);
});

t.test('claim: a device without keys, an unknown device or algorithm is left out; remote servers in failures', async (t) => {
  const r = await claim(bob, {
    one_time_keys: {
      [alice.user_id]: { [aliceNoKeys.device_id]: 'signed_curve25519', NOSUCHDEVICE: 'signed_curve25519', [alice2.device_id]: 'signed_unknown_alg' },
      '@carol:elsewhere.example': { X: 'signed_curve25519' },
    },
  });
  await expectOk(t, r, 'POST /keys/claim');
  t.same(r.body.one_time_keys, {});
  t.same(Object.keys(r.body.failures), ['elsewhere.example']);
});

t.test('concurrent claims never get the same one-time key', async (t) => {
  await upload(alice2, { one_time_keys: devA2.oneTimeKeys(20, 'c') });
  const want = { one_time_keys: { [alice.user_id]: { [alice2.device_id]: 'signed_curve25519' } } };
  const results = await Promise.all(Array.from({ length: 20 }, () => claim(bob, want)));
  const ids = results.map((r) => Object.keys(r.body.one_time_keys[alice.user_id][alice2.device_id])[0]);
  t.equal(new Set(ids).size, 20, 'twenty different keys');
  t.same((await counts(alice2)).one_time_key_counts, {});
});

t.test('a deleted device: its keys are gone from query and claim, and a deleted record goes out', async (t) => {
  const gone = await h.login('alice', 'ALICEOLD');
  const dev = new TestDevice(gone);
  await upload(gone, { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(2), fallback_keys: { 'signed_curve25519:f': dev.signedKey(true) } });
  const before = (await h.changes()).length;
  await h.cctx.userapi.deleteDevices({ user_id: alice.user_id, device_ids: [gone.device_id] });
  t.notOk((await query(bob, { device_keys: { [alice.user_id]: [] } })).body.device_keys[alice.user_id][gone.device_id], 'not shown at once (the UserAPI says it is gone)');
  for (;;) {
    const rec = (await h.changes()).slice(before).find((r) => r.kind === 'device' && r.device_id === gone.device_id);
    if (rec) {
      t.match(rec, { kind: 'device', user_id: alice.user_id, deleted: true });
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  t.same(await h.cctx.keyserver.queryKeyCounts({ user_id: alice.user_id, device_id: gone.device_id }), { one_time_key_counts: {}, unused_fallback_key_types: [] });
  const r = await claim(bob, { one_time_keys: { [alice.user_id]: { [gone.device_id]: 'signed_curve25519' } } });
  t.same(r.body.one_time_keys, {}, 'nothing to claim');
});
