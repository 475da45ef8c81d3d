/**
 * Cross-signing: POST /keys/device_signing/upload (user-interactive auth,
 * and the MSC3967 exception for a first upload or an unchanged one), POST
 * /keys/signatures/upload with its checks, and who sees which keys and
 * signatures in /keys/query.
 */
import t from 'tap';
import { signJson } from '../../../src/core/signing.js';
import { expectError, expectOk } from '../../helpers/clientapi.js';
import { PASSWORD, startKeys, TestCrossSigning, TestDevice, V3, type KeysHarness, type KeyUser } from '../../helpers/keys.js';

const h: KeysHarness = await startKeys();
t.teardown(() => h.stop());

const signingUpload = (user: KeyUser, body: unknown) => h.call(user, 'POST', `${V3}/keys/device_signing/upload`, body);
const sigUpload = (user: KeyUser, body: unknown) => h.call(user, 'POST', `${V3}/keys/signatures/upload`, body);
const query = async (user: KeyUser, of: KeyUser) => (await h.call(user, 'POST', `${V3}/keys/query`, { device_keys: { [of.user_id]: [] } })).body;
const password = (user: KeyUser, session: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: PASSWORD, session });

const alice = await h.register('alice');
const bob = await h.register('bob');
const devA = new TestDevice(alice);
const devB = new TestDevice(bob);
await h.call(alice, 'POST', `${V3}/keys/upload`, { device_keys: devA.deviceKeys() });
await h.call(bob, 'POST', `${V3}/keys/upload`, { device_keys: devB.deviceKeys() });
const csA = new TestCrossSigning(alice.user_id);
const csB = new TestCrossSigning(bob.user_id);

t.test('refusals of a first upload: the right 4xx and nothing stored', async (t) => {
  const cases: [string, unknown, number, string][] = [
    ['self-signing key not signed by the master', { master_key: csA.masterKey(), self_signing_key: csA.selfSigningKey(csA.userSigning) }, 400, 'M_INVALID_SIGNATURE'],
    ['user-signing key with a broken signature', { master_key: csA.masterKey(), user_signing_key: { ...csA.userSigningKey(), extra: 1 } }, 400, 'M_INVALID_SIGNATURE'],
    ['a self-signing key and no master key anywhere', { self_signing_key: csA.selfSigningKey() }, 400, 'M_MISSING_PARAM'],
    ['a key of another user', { master_key: { ...csA.masterKey(), user_id: bob.user_id } }, 400, 'M_INVALID_PARAM'],
    ['a master key with the wrong usage', { master_key: { ...csA.masterKey(), usage: ['self_signing'] } }, 400, 'M_INVALID_PARAM'],
    ['two public keys in one key', { master_key: { ...csA.masterKey(), keys: { ...csA.masterKey().keys, ...csB.masterKey().keys } } }, 400, 'M_BAD_JSON'],
    ['a key id that does not name the key', { master_key: { ...csA.masterKey(), keys: { 'ed25519:abc': Object.values<string>(csA.masterKey().keys)[0] } } }, 400, 'M_INVALID_PARAM'],
    ['a usage outside the spec (schema)', { master_key: { ...csA.masterKey(), usage: ['master', 'bogus'] } }, 400, 'M_BAD_JSON'],
  ];
  const before = (await h.changes()).length;
  for (const [what, body, status, errcode] of cases) expectError(t, await signingUpload(alice, body), status, errcode, what);
  const q = await query(alice, alice);
  t.same([q.master_keys, q.self_signing_keys, q.user_signing_keys], [{}, {}, {}], 'no key stored');
  t.equal((await h.changes()).length, before, 'no record');
});

t.test('the first upload needs no user-interactive auth (MSC3967); the same keys again neither', async (t) => {
  const before = (await h.changes()).length;
  const r = await signingUpload(alice, csA.all());
  await expectOk(t, r, 'POST /keys/device_signing/upload');
  t.same(r.body, {});
  const recs = (await h.changes()).slice(before);
  t.equal(recs.length, 1);
  t.match(recs[0], { kind: 'cross_signing', user_id: alice.user_id, master_key: csA.masterKey(), self_signing_key: csA.selfSigningKey() });
  t.notOk('user_signing_key' in recs[0]!, 'the user-signing key is private');
  const again = await signingUpload(alice, csA.all());
  t.equal(again.status, 200, 'a retry of the same keys succeeds without auth');
  t.equal((await h.changes()).length, before + 1, 'and changes nothing');
  t.equal((await signingUpload(alice, { self_signing_key: csA.selfSigningKey() })).status, 200, 'a subset of the stored keys too');
});

t.test('replacing keys needs the password; the session serves only these keys', async (t) => {
  const next = new TestCrossSigning(alice.user_id);
  const first = await signingUpload(alice, next.all());
  t.equal(first.status, 401, 'auth asked for');
  t.same(first.body.flows, [{ stages: ['m.login.password'] }]);
  t.type(first.body.session, 'string');
  t.equal((await query(bob, alice)).master_keys[alice.user_id].keys[TestCrossSigning.idOf(csA.master)] !== undefined, true, 'nothing changed yet');

  const wrong = await signingUpload(alice, { ...next.all(), auth: { ...password(alice, first.body.session), password: 'wrong' } });
  t.equal(wrong.status, 401);
  t.equal(wrong.body.errcode, 'M_FORBIDDEN', 'a wrong password');

  const other = new TestCrossSigning(alice.user_id);
  const mixed = await signingUpload(alice, { ...other.all(), auth: password(alice, first.body.session) });
  t.equal(mixed.status, 403, 'the session was opened for other keys');
  t.equal(mixed.body.errcode, 'M_FORBIDDEN');

  const ok = await signingUpload(alice, { ...next.all(), auth: password(alice, first.body.session) });
  await expectOk(t, ok, 'POST /keys/device_signing/upload', 'with the password');
  const q = await query(alice, alice);
  t.same(q.master_keys[alice.user_id].keys, next.masterKey().keys, 'the new master key');
  t.same(q.self_signing_keys[alice.user_id], next.selfSigningKey());
  t.same(q.user_signing_keys[alice.user_id], next.userSigningKey());
  Object.assign(csA, { master: next.master, selfSigning: next.selfSigning, userSigning: next.userSigning });
});

t.test('a new master key alone drops the subkeys the old one signed', async (t) => {
  await signingUpload(bob, csB.all());
  const next = new TestCrossSigning(bob.user_id);
  const first = await signingUpload(bob, { master_key: next.masterKey() });
  await signingUpload(bob, { master_key: next.masterKey(), auth: password(bob, first.body.session) });
  const q = await query(bob, bob);
  t.same(q.master_keys[bob.user_id].keys, next.masterKey().keys);
  t.same([q.self_signing_keys, q.user_signing_keys], [{}, {}], 'no subkeys left');
  await signingUpload(bob, { self_signing_key: next.selfSigningKey(), user_signing_key: next.userSigningKey() });
  const q2 = await query(bob, bob);
  t.same(q2.self_signing_keys, {}, 'subkeys under an existing master need auth');
  const again = await signingUpload(bob, { self_signing_key: next.selfSigningKey(), user_signing_key: next.userSigningKey() });
  await signingUpload(bob, { self_signing_key: next.selfSigningKey(), user_signing_key: next.userSigningKey(), auth: password(bob, again.body.session) });
  t.same((await query(bob, bob)).self_signing_keys[bob.user_id], next.selfSigningKey());
  Object.assign(csB, { master: next.master, selfSigning: next.selfSigning, userSigning: next.userSigning });
});

t.test('a cross-signing public key equal to a device id is refused (403)', async (t) => {
  const carol = await h.register('carol');
  const cs = new TestCrossSigning(carol.user_id);
  await h.login('carol', TestCrossSigning.idOf(cs.master).slice('ed25519:'.length));
  expectError(t, await signingUpload(carol, cs.all()), 403, 'M_FORBIDDEN', 'master key = device id');
  t.same((await query(carol, carol)).master_keys, {});
});

t.test('who sees what: user-signing keys only to their owner', async (t) => {
  const byBob = await query(bob, alice);
  t.ok(byBob.master_keys[alice.user_id]);
  t.ok(byBob.self_signing_keys[alice.user_id]);
  t.same(byBob.user_signing_keys, {}, "bob does not see alice's user-signing key");
});

t.test('signatures: the self-signing key on own devices, a device on the master key, a user-signing key on another master', async (t) => {
  const before = (await h.changes()).length;
  const deviceSigned = csA.sign(devA.deviceKeys(), csA.selfSigning);
  const masterSigned = signJson(csA.masterKey(), alice.user_id, devA.ed);
  const masterPub = TestCrossSigning.idOf(csA.master).slice('ed25519:'.length);
  const r = await sigUpload(alice, { [alice.user_id]: { [alice.device_id]: deviceSigned, [masterPub]: masterSigned } });
  await expectOk(t, r, 'POST /keys/signatures/upload');
  t.same(r.body.failures ?? {}, {}, 'no failures');

  const bobMasterPub = TestCrossSigning.idOf(csB.master).slice('ed25519:'.length);
  const bobMasterSigned = csA.sign(csB.masterKey(), csA.userSigning);
  const r2 = await sigUpload(alice, { [bob.user_id]: { [bobMasterPub]: bobMasterSigned } });
  t.same(r2.body.failures ?? {}, {}, 'signing bob\'s master key');

  const recs = (await h.changes()).slice(before);
  t.same(recs, [
    { kind: 'signatures', user_id: alice.user_id },
    { kind: 'signatures', user_id: bob.user_id, only_for: alice.user_id },
  ]);

  const sskId = TestCrossSigning.idOf(csA.selfSigning);
  const uskId = TestCrossSigning.idOf(csA.userSigning);
  const byBob = await query(bob, alice);
  t.ok(byBob.device_keys[alice.user_id][alice.device_id].signatures[alice.user_id][sskId], 'everyone sees the self-signing signature on the device');
  t.ok(byBob.master_keys[alice.user_id].signatures[alice.user_id][`ed25519:${alice.device_id}`], "everyone sees the device's signature on the master key");
  t.ok((await query(alice, bob)).master_keys[bob.user_id].signatures[alice.user_id][uskId], "alice sees her signature on bob's master key");
  const bobSees = (await query(bob, bob)).master_keys[bob.user_id];
  t.notOk(bobSees.signatures?.[alice.user_id], "bob does not see alice's user-signing signature");
  const r3 = await sigUpload(alice, { [alice.user_id]: { [alice.device_id]: deviceSigned } });
  t.same(r3.body.failures ?? {}, {}, 'uploading a known signature again succeeds');
  const own = await sigUpload(alice, { [alice.user_id]: { [alice.device_id]: devA.deviceKeys() } });
  t.same(own.body.failures ?? {}, {}, "the device's own self-signature alone: already there, not a failure");
  t.equal((await h.changes()).length, before + 2, 'and changes nothing');
});

t.test('signature refusals are failures per key, and store nothing', async (t) => {
  const dave = await h.register('dave');
  const devD = new TestDevice(dave);
  await h.call(dave, 'POST', `${V3}/keys/upload`, { device_keys: devD.deviceKeys() });
  const csD = new TestCrossSigning(dave.user_id);
  await signingUpload(dave, csD.all());
  const masterPub = TestCrossSigning.idOf(csD.master).slice('ed25519:'.length);
  const forged = csD.sign(devD.deviceKeys(), csD.selfSigning);
  forged.signatures[dave.user_id][TestCrossSigning.idOf(csD.selfSigning)] = forged.signatures[dave.user_id][TestCrossSigning.idOf(csD.selfSigning)].replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A'));
  const before = (await h.changes()).length;
  const r = await sigUpload(dave, {
    [dave.user_id]: {
      [dave.device_id]: forged,
      NOSUCHDEVICE: csD.sign({ ...devD.deviceKeys(), device_id: 'NOSUCHDEVICE' }, csD.selfSigning),
      [masterPub]: csD.sign({ ...csD.masterKey(), usage: ['master', 'other'] }, csD.selfSigning),
    },
    [alice.user_id]: { [alice.device_id]: csD.sign(devA.deviceKeys(), csD.userSigning) },
    [bob.user_id]: { [TestCrossSigning.idOf(csB.master).slice(8)]: csD.sign(csB.masterKey(), csD.selfSigning) },
    '@eve:elsewhere.example': { SOMEKEY: { user_id: '@eve:elsewhere.example' } },
  });
  t.equal(r.status, 200);
  const f = r.body.failures;
  t.equal(f[dave.user_id][dave.device_id].errcode, 'M_INVALID_SIGNATURE', 'a signature that does not verify');
  t.equal(f[dave.user_id].NOSUCHDEVICE.errcode, 'M_NOT_FOUND', 'an unknown key');
  t.equal(f[dave.user_id][masterPub].errcode, 'M_INVALID_PARAM', 'an object that is not the stored key');
  t.equal(f[alice.user_id][alice.device_id].errcode, 'M_INVALID_SIGNATURE', "another user's device is not a key one may sign");
  t.equal(f[bob.user_id][TestCrossSigning.idOf(csB.master).slice(8)].errcode, 'M_INVALID_SIGNATURE', "another user's master key signed by the self-signing key");
  t.ok(f['@eve:elsewhere.example'].SOMEKEY.errcode, 'a remote user');
  const mine = await query(dave, dave);
  t.same(Object.keys(mine.device_keys[dave.user_id][dave.device_id].signatures[dave.user_id]), [`ed25519:${dave.device_id}`], 'only the self-signature');
  t.equal((await h.changes()).length, before, 'no record');
  expectError(t, await sigUpload(dave, { [dave.user_id]: 'keys' }), 400, 'M_BAD_JSON', 'a body that is not user → key → object');
  expectError(t, await sigUpload(dave, { content: null }), 400, 'M_INVALID_PARAM', 'a key that is not a user id (the schema checks only keys starting with @)');
  expectError(t, await sigUpload(dave, { [dave.user_id]: {}, '@x': {} }), 400, 'M_INVALID_PARAM', 'a malformed user id');
  t.equal((await h.changes()).length, before, 'still no record');
});

t.test('guests may not use cross-signing', async (t) => {
  const guest = await h.guest();
  expectError(t, await signingUpload(guest, new TestCrossSigning(guest.user_id).all()), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guest');
});

t.test("a new user-signing key alone is announced to its owner only (others never see it)", async (t) => {
  const fresh = new TestCrossSigning(alice.user_id);
  Object.assign(fresh, { master: csA.master });
  const ask = await signingUpload(alice, { user_signing_key: fresh.userSigningKey() });
  t.equal(ask.status, 401, 'a change needs the password');
  const before = (await h.changes()).length;
  const done = await signingUpload(alice, { user_signing_key: fresh.userSigningKey(), auth: password(alice, ask.body.session) });
  t.equal(done.status, 200);
  const recs = (await h.changes()).slice(before);
  t.equal(recs.length, 1);
  t.match(recs[0], { kind: 'cross_signing', user_id: alice.user_id, only_for: alice.user_id }, 'only_for: alice');
  const fresher = new TestCrossSigning(alice.user_id);
  Object.assign(fresher, { master: csA.master });
  const ask2 = await signingUpload(alice, { self_signing_key: fresher.selfSigningKey() });
  const before2 = (await h.changes()).length;
  await signingUpload(alice, { self_signing_key: fresher.selfSigningKey(), auth: password(alice, ask2.body.session) });
  const recs2 = (await h.changes()).slice(before2);
  t.equal(recs2.length, 1);
  t.notOk('only_for' in recs2[0]!, 'a new self-signing key is everyone\'s to know');
});
