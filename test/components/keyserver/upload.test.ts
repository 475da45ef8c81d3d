/**
 * POST /keys/upload: device keys, one-time keys and fallback keys (spec and
 * MSC2732 names), counts, key_changes records, and refusals that store
 * nothing at all.
 */
import t from 'tap';
import { expectError, expectOk } from '../../helpers/clientapi.js';
import { decodeBase64 } from '../../../src/core/base64.js';
import { verifyJsonSignature } from '../../../src/core/signing.js';
import { startKeys, TestCrossSigning, TestDevice, V3, type KeysHarness, type KeyUser } from '../../helpers/keys.js';

let h: KeysHarness = await startKeys();
t.teardown(() => h.stop());

const upload = (user: KeyUser | undefined, body: unknown) => h.call(user, 'POST', `${V3}/keys/upload`, body);
const counts = (user: KeyUser) => h.cctx.keyserver.queryKeyCounts({ user_id: user.user_id, device_id: user.device_id });
const storedKeys = async (user: KeyUser) => (await h.cctx.keyserver.queryKeys({ requester: user.user_id, device_keys: { [user.user_id]: [] } })).device_keys[user.user_id] ?? {};

t.test('device keys, then one-time keys: counts per algorithm, one key_changes record for the device', async (t) => {
  const alice = await h.register('alice');
  const dev = new TestDevice(alice);
  const before = (await h.changes()).length;
  const r = await upload(alice, { device_keys: dev.deviceKeys() });
  await expectOk(t, r, 'POST /keys/upload');
  t.same(r.body, { one_time_key_counts: {} });
  const recs = (await h.changes()).slice(before);
  t.equal(recs.length, 1, 'one record');
  t.match(recs[0], { kind: 'device', user_id: alice.user_id, device_id: alice.device_id, deleted: false, display_name: "alice's laptop", keys: { keys: { [`ed25519:${alice.device_id}`]: dev.edPublic } } });

  const r2 = await upload(alice, { one_time_keys: dev.oneTimeKeys(5) });
  t.same(r2.body, { one_time_key_counts: { signed_curve25519: 5 } });
  t.same(await counts(alice), { one_time_key_counts: { signed_curve25519: 5 }, unused_fallback_key_types: [] });
  t.equal((await h.changes()).length, before + 1, 'one-time keys are not device-list changes');

  // The same device keys again change nothing (clients re-upload after a restart).
  const r3 = await upload(alice, { device_keys: dev.deviceKeys() });
  t.equal(r3.status, 200);
  t.equal((await h.changes()).length, before + 1, 'no record for the same keys');

  const shown = await storedKeys(alice);
  t.same(Object.keys(shown), [alice.device_id]);
  t.equal(shown[alice.device_id]!.unsigned?.device_display_name, "alice's laptop");
});

t.test('fallback keys under the spec name and the MSC2732 name; the same key again stays used', async (t) => {
  const bob = await h.register('bob');
  const dev = new TestDevice(bob);
  const fb = dev.signedKey(true);
  await expectOk(t, await upload(bob, { device_keys: dev.deviceKeys(), fallback_keys: { 'signed_curve25519:fb1': fb } }), 'POST /keys/upload');
  t.same((await counts(bob)).unused_fallback_key_types, ['signed_curve25519']);
  // Used by a claim, then uploaded again unchanged: still used.
  await h.cctx.keyserver.claimKeys({ requester: bob.user_id, one_time_keys: { [bob.user_id]: { [bob.device_id]: 'signed_curve25519' } } });
  t.same((await counts(bob)).unused_fallback_key_types, []);
  await upload(bob, { fallback_keys: { 'signed_curve25519:fb1': fb } });
  t.same((await counts(bob)).unused_fallback_key_types, [], 'the same key is still used');
  // A new one through the unstable name.
  await expectOk(t, await upload(bob, { 'org.matrix.msc2732.fallback_keys': { 'signed_curve25519:fb2': dev.signedKey(true) } }), 'POST /keys/upload');
  t.same((await counts(bob)).unused_fallback_key_types, ['signed_curve25519'], 'a new key is unused');
});

t.test('guests upload keys too; a request without a token is refused', async (t) => {
  const guest = await h.guest();
  const dev = new TestDevice(guest);
  await expectOk(t, await upload(guest, { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(1) }), 'POST /keys/upload');
  expectError(t, await upload(undefined, {}), 401, 'M_MISSING_TOKEN', 'no token');
});

t.test('refusals: the right 4xx, and nothing stored', async (t) => {
  const carol = await h.register('carol');
  const dev = new TestDevice(carol);
  const other = new TestDevice({ ...carol, device_id: 'OTHERDEV' });
  const dk = dev.deviceKeys();
  const cases: [string, unknown, number, string][] = [
    ['device keys of another user', { device_keys: new TestDevice({ ...carol, user_id: '@dave:keys.neurite.local' }).deviceKeys() }, 400, 'M_INVALID_PARAM'],
    ['device keys of another device', { device_keys: other.deviceKeys() }, 400, 'M_INVALID_PARAM'],
    ['a self-signature that does not verify', { device_keys: { ...dk, algorithms: ['m.megolm.v1.aes-sha2'] } }, 400, 'M_INVALID_SIGNATURE'],
    ['no signature', { device_keys: { ...dk, signatures: {} } }, 400, 'M_INVALID_SIGNATURE'],
    ['no ed25519 key', { device_keys: { ...dk, keys: { [`curve25519:${carol.device_id}`]: dev.curve } } }, 400, 'M_INVALID_PARAM'],
    ['a key that is not 32 bytes of base64', { device_keys: { ...dk, keys: { ...dk.keys, [`curve25519:${carol.device_id}`]: 'not base64!' } } }, 400, 'M_INVALID_PARAM'],
    ['a key named after another device', { device_keys: { ...dk, keys: { ...dk.keys, 'curve25519:ELSEWHERE': dev.curve } } }, 400, 'M_INVALID_PARAM'],
    ['device keys without algorithms (spec schema)', { device_keys: { ...dk, algorithms: undefined } }, 400, 'M_BAD_JSON'],
    ['one-time keys before any device keys', { one_time_keys: dev.oneTimeKeys(1) }, 400, 'M_INVALID_PARAM'],
    ['a one-time key signed by another key', { device_keys: dk, one_time_keys: { 'signed_curve25519:x': other.signedKey() } }, 400, 'M_INVALID_SIGNATURE'],
    ['a bare string for a signed algorithm', { device_keys: dk, one_time_keys: { 'signed_curve25519:x': dev.curve } }, 400, 'M_INVALID_PARAM'],
    ['a one-time key name without an id', { device_keys: dk, one_time_keys: { signed_curve25519: dev.signedKey() } }, 400, 'M_INVALID_PARAM'],
    ['two fallback keys of one algorithm', { device_keys: dk, fallback_keys: { 'signed_curve25519:a': dev.signedKey(true), 'signed_curve25519:b': dev.signedKey(true) } }, 400, 'M_INVALID_PARAM'],
    ['a fallback key signed by another key', { device_keys: dk, fallback_keys: { 'signed_curve25519:a': other.signedKey(true) } }, 400, 'M_INVALID_SIGNATURE'],
    ['device keys that are not an object', { device_keys: 'keys' }, 400, 'M_BAD_JSON'],
  ];
  const before = (await h.changes()).length;
  for (const [what, body, status, errcode] of cases) {
    expectError(t, await upload(carol, body), status, errcode, what);
  }
  t.same(await storedKeys(carol), {}, 'no device keys stored');
  t.same(await counts(carol), { one_time_key_counts: {}, unused_fallback_key_types: [] }, 'no one-time or fallback keys stored');
  t.equal((await h.changes()).length, before, 'no record written');
});

t.test('new identity keys for a device replace the old ones and what hung on them', async (t) => {
  const gus = await h.register('gus');
  const old = new TestDevice(gus);
  await upload(gus, { device_keys: old.deviceKeys(), one_time_keys: old.oneTimeKeys(4), fallback_keys: { 'signed_curve25519:fb': old.signedKey(true) } });
  const before = (await h.changes()).length;
  // A client that lost its store: new keys under the same device id, its one-time key ids starting over.
  const fresh = new TestDevice(gus);
  const r = await upload(gus, { device_keys: fresh.deviceKeys(), one_time_keys: fresh.oneTimeKeys(2) });
  await expectOk(t, r, 'POST /keys/upload');
  t.same(r.body, { one_time_key_counts: { signed_curve25519: 2 } }, 'only the new one-time keys are counted');
  t.same(await counts(gus), { one_time_key_counts: { signed_curve25519: 2 }, unused_fallback_key_types: [] }, 'the old fallback key is gone');
  t.equal((await storedKeys(gus))[gus.device_id]!.keys[`ed25519:${gus.device_id}`], fresh.edPublic, 'the new keys are shown');
  const recs = (await h.changes()).slice(before);
  t.match(recs, [{ kind: 'device', user_id: gus.user_id, device_id: gus.device_id, deleted: false, keys: { keys: { [`ed25519:${gus.device_id}`]: fresh.edPublic } } }], 'one device-list change');
  const claimed = await h.cctx.keyserver.claimKeys({ requester: gus.user_id, one_time_keys: { [gus.user_id]: { [gus.device_id]: 'signed_curve25519' } } });
  const [otk] = Object.values(claimed.one_time_keys[gus.user_id]![gus.device_id]!) as any[];
  t.ok(verifyJsonSignature(otk, gus.user_id, `ed25519:${gus.device_id}`, decodeBase64(fresh.edPublic)!), 'a claim gives a key of the new identity');
});

t.test('a different key for an existing one-time key id is refused (M_INVALID_PARAM)', async (t) => {
  const dan = await h.register('dan');
  const dev = new TestDevice(dan);
  const otks = dev.oneTimeKeys(2);
  await upload(dan, { device_keys: dev.deviceKeys(), one_time_keys: otks });

  expectError(t, await upload(dan, { one_time_keys: { 'signed_curve25519:k0': dev.signedKey(), 'signed_curve25519:fresh': dev.signedKey() } }), 400, 'M_INVALID_PARAM', 'a stored key id with another key');
  t.same((await counts(dan)).one_time_key_counts, { signed_curve25519: 2 }, 'nothing of that upload stored');
  // The same key id with the same key again is a retry: accepted, counted once.
  const r = await upload(dan, { one_time_keys: { 'signed_curve25519:k0': otks['signed_curve25519:k0'] } });
  t.same(r.body, { one_time_key_counts: { signed_curve25519: 2 } });
});

t.test('a device id equal to one of the user\'s cross-signing public keys cannot upload device keys (403)', async (t) => {
  const erin = await h.register('erin');
  const cs = new TestCrossSigning(erin.user_id);
  await h.cctx.keyserver.uploadCrossSigningKeys({ user_id: erin.user_id, ...(cs.all() as object), authenticated: false });
  const clash = await h.login('erin', TestCrossSigning.idOf(cs.master).slice('ed25519:'.length));
  expectError(t, await upload(clash, { device_keys: new TestDevice(clash).deviceKeys() }), 403, 'M_FORBIDDEN', 'device id = master public key');
});

t.test('a renamed device with keys is a device-list change; keys survive a restart', async (t) => {
  const fay = await h.register('fay');
  const dev = new TestDevice(fay);
  await upload(fay, { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(3) });
  const before = (await h.changes()).length;
  await h.cctx.userapi.updateDevice({ user_id: fay.user_id, device_id: fay.device_id, display_name: 'phone' });
  const rec = await waitForRecord(before, (r) => r.kind === 'device' && r.user_id === fay.user_id);
  t.match(rec, { kind: 'device', deleted: false, display_name: 'phone' });

  h = await h.restart();
  t.same((await counts(fay)).one_time_key_counts, { signed_curve25519: 3 });
  t.equal((await storedKeys(fay))[fay.device_id]?.unsigned?.device_display_name, 'phone');
});

/** The first key_changes record after `from` that fits: the KeyServer follows device_changes on its own schedule. */
async function waitForRecord(from: number, fits: (r: any) => boolean): Promise<any> {
  for (;;) {
    const found = (await h.changes()).slice(from).find(fits);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}
