/**
 * Server-side key backups: versions (create, current, update, delete),
 * keys per session, room and backup with the spec's replacement rules,
 * `count` and `etag`, and refusals that change nothing.
 */
import t from 'tap';
import { expectError, expectOk } from '../../helpers/clientapi.js';
import { startKeys, V3, type KeysHarness, type KeyUser } from '../../helpers/keys.js';

let h: KeysHarness = await startKeys();
t.teardown(() => h.stop());

const ALG = 'm.megolm_backup.v1.curve25519-aes-sha2';
const ROOM = '!room:keys.neurite.local';
const ROOM2 = '!other:keys.neurite.local';
const enc = encodeURIComponent;
const authData = (k = 'pubkey') => ({ public_key: k, signatures: {} });
const session = (fmi: number, fc: number, verified: boolean, tag = 'x') => ({ first_message_index: fmi, forwarded_count: fc, is_verified: verified, session_data: { ephemeral: 'e', ciphertext: tag, mac: 'm' } });

const call = (user: KeyUser, method: string, url: string, body?: unknown) => h.call(user, method, `${V3}${url}`, body);
const create = async (user: KeyUser) => (await call(user, 'POST', '/room_keys/version', { algorithm: ALG, auth_data: authData() })).body.version as string;
const info = async (user: KeyUser, version?: string) => (await call(user, 'GET', `/room_keys/version${version ? `/${version}` : ''}`)).body;

const alice = await h.register('alice');

t.test('versions: create, current, by number, update, delete', async (t) => {
  const none = await call(alice, 'GET', '/room_keys/version');
  expectError(t, none, 404, 'M_NOT_FOUND', 'no backup yet');
  const c = await call(alice, 'POST', '/room_keys/version', { algorithm: ALG, auth_data: authData('one') });
  await expectOk(t, c, 'POST /room_keys/version');
  t.equal(c.body.version, '1');
  const cur = await call(alice, 'GET', '/room_keys/version');
  await expectOk(t, cur, 'GET /room_keys/version');
  t.same(cur.body, { version: '1', algorithm: ALG, auth_data: authData('one'), count: 0, etag: '0' });
  const v2 = await create(alice);
  t.equal(v2, '2');
  t.equal((await info(alice)).version, '2', 'the newest is current');
  await expectOk(t, await call(alice, 'GET', '/room_keys/version/1'), 'GET /room_keys/version/{version}');

  await expectOk(t, await call(alice, 'PUT', '/room_keys/version/2', { algorithm: ALG, auth_data: authData('two'), version: '2' }), 'PUT /room_keys/version/{version}');
  t.same((await info(alice, '2')).auth_data, authData('two'));
  expectError(t, await call(alice, 'PUT', '/room_keys/version/2', { algorithm: ALG, auth_data: authData('x'), version: '1' }), 400, 'M_INVALID_PARAM', 'body version differs');
  expectError(t, await call(alice, 'PUT', '/room_keys/version/2', { algorithm: 'm.other', auth_data: authData('x') }), 400, 'M_BAD_JSON', 'another algorithm (spec enum)');
  expectError(t, await call(alice, 'PUT', '/room_keys/version/2', { algorithm: ALG, auth_data: {} }), 400, 'M_INVALID_PARAM', 'auth_data without public_key');
  expectError(t, await call(alice, 'PUT', '/room_keys/version/9', { algorithm: ALG, auth_data: authData('x') }), 404, 'M_NOT_FOUND', 'update an unknown version');
  t.same((await info(alice, '2')).auth_data, authData('two'), 'refused updates changed nothing');

  await expectOk(t, await call(alice, 'DELETE', '/room_keys/version/2'), 'DELETE /room_keys/version/{version}');
  t.equal((await call(alice, 'DELETE', '/room_keys/version/2')).status, 200, 'deleting it again succeeds');
  expectError(t, await call(alice, 'DELETE', '/room_keys/version/7'), 404, 'M_NOT_FOUND', 'deleting a version that never was');
  expectError(t, await call(alice, 'GET', '/room_keys/version/2'), 404, 'M_NOT_FOUND', 'a deleted version');
  expectError(t, await call(alice, 'GET', '/room_keys/version/abc'), 404, 'M_NOT_FOUND', 'not a version');
  t.equal((await info(alice)).version, '1', 'the newest left is current');
  t.equal(await create(alice), '3', 'numbers are never handed out twice');
});

t.test('creation refusals', async (t) => {
  const bob = await h.register('bob');
  expectError(t, await call(bob, 'POST', '/room_keys/version', { algorithm: 'm.unknown', auth_data: authData() }), 400, 'M_BAD_JSON', 'unknown algorithm');
  expectError(t, await call(bob, 'POST', '/room_keys/version', { algorithm: ALG }), 400, 'M_BAD_JSON', 'no auth_data');
  expectError(t, await call(bob, 'POST', '/room_keys/version', { algorithm: ALG, auth_data: { signatures: {} } }), 400, 'M_INVALID_PARAM', 'no public key');
  expectError(t, await call(bob, 'GET', '/room_keys/version'), 404, 'M_NOT_FOUND', 'none was created');
  const guest = await h.guest();
  expectError(t, await call(guest, 'POST', '/room_keys/version', { algorithm: ALG, auth_data: authData() }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guest');
});

t.test('keys: the replacement rules, count and etag', async (t) => {
  const carol = await h.register('carol');
  const v = await create(carol);
  const put = (sid: string, data: unknown) => call(carol, 'PUT', `/room_keys/keys/${enc(ROOM)}/${enc(sid)}?version=${v}`, data);
  const stored = async (sid: string) => (await call(carol, 'GET', `/room_keys/keys/${enc(ROOM)}/${enc(sid)}?version=${v}`)).body;

  const r1 = await put('s1', session(5, 2, false, 'first'));
  await expectOk(t, r1, 'PUT /room_keys/keys/{roomId}/{sessionId}');
  t.same(r1.body, { etag: '1', count: 1 });

  // Each rule in order: the worse key leaves the stored one and the etag alone.
  const cases: [string, ReturnType<typeof session>, boolean][] = [
    ['unverified, higher index: kept out', session(9, 0, false, 'worse-index'), false],
    ['same index, more forwards: kept out', session(5, 3, false, 'worse-forwards'), false],
    ['same everything: kept out', session(5, 2, false, 'same'), false],
    ['same index, fewer forwards: replaces', session(5, 1, false, 'fewer-forwards'), true],
    ['lower index: replaces', session(2, 9, false, 'lower-index'), true],
    ['verified, even with a higher index: replaces', session(8, 9, true, 'verified'), true],
    ['unverified, however good: kept out', session(0, 0, false, 'unverified'), false],
    ['verified, lower index: replaces', session(1, 9, true, 'verified-lower'), true],
  ];
  let expected = 'first';
  let etag = 1;
  for (const [what, data, replaces] of cases) {
    const r = await put('s1', data);
    if (replaces) {
      expected = data.session_data.ciphertext;
      etag++;
    }
    t.same(r.body, { etag: String(etag), count: 1 }, `${what}: etag and count`);
    t.equal((await stored('s1')).session_data.ciphertext, expected, what);
  }

  const many = await call(carol, 'PUT', `/room_keys/keys?version=${v}`, {
    rooms: { [ROOM]: { sessions: { s2: session(0, 0, true), s3: session(0, 0, true) } }, [ROOM2]: { sessions: { s4: session(0, 0, false) } } },
  });
  await expectOk(t, many, 'PUT /room_keys/keys');
  t.same(many.body, { etag: String(etag + 1), count: 4 });
  const room = await call(carol, 'PUT', `/room_keys/keys/${enc(ROOM2)}?version=${v}`, { sessions: { s5: session(0, 0, false) } });
  await expectOk(t, room, 'PUT /room_keys/keys/{roomId}');
  t.equal(room.body.count, 5);
  t.equal((await info(carol)).count, 5, 'the version shows the count');
  t.equal((await info(carol)).etag, room.body.etag, 'and the etag');

  const all = await call(carol, 'GET', `/room_keys/keys?version=${v}`);
  await expectOk(t, all, 'GET /room_keys/keys');
  t.same(Object.keys(all.body.rooms).sort(), [ROOM, ROOM2].sort());
  t.same(Object.keys(all.body.rooms[ROOM].sessions).sort(), ['s1', 's2', 's3']);
  const one = await call(carol, 'GET', `/room_keys/keys/${enc(ROOM2)}?version=${v}`);
  await expectOk(t, one, 'GET /room_keys/keys/{roomId}');
  t.same(Object.keys(one.body.sessions).sort(), ['s4', 's5']);
  t.same((await call(carol, 'GET', `/room_keys/keys/${enc('!empty:keys.neurite.local')}?version=${v}`)).body, { sessions: {} }, 'a room without keys');
  expectError(t, await call(carol, 'GET', `/room_keys/keys/${enc(ROOM)}/nosuch?version=${v}`), 404, 'M_NOT_FOUND', 'an unknown session');

  const d1 = await call(carol, 'DELETE', `/room_keys/keys/${enc(ROOM)}/s1?version=${v}`);
  await expectOk(t, d1, 'DELETE /room_keys/keys/{roomId}/{sessionId}');
  t.equal(d1.body.count, 4);
  const d2 = await call(carol, 'DELETE', `/room_keys/keys/${enc(ROOM)}?version=${v}`);
  await expectOk(t, d2, 'DELETE /room_keys/keys/{roomId}');
  t.equal(d2.body.count, 2);
  t.not(d2.body.etag, d1.body.etag, 'the etag moves');
  const d3 = await call(carol, 'DELETE', `/room_keys/keys?version=${v}`);
  await expectOk(t, d3, 'DELETE /room_keys/keys');
  t.equal(d3.body.count, 0);
  const d4 = await call(carol, 'DELETE', `/room_keys/keys?version=${v}`);
  t.same(d4.body, d3.body, 'deleting nothing changes nothing');
  t.same((await call(carol, 'GET', `/room_keys/keys?version=${v}`)).body, { rooms: {} });
});

t.test('keys: only into the current version; refusals store nothing', async (t) => {
  const dan = await h.register('dan');
  const putAll = (version: string | undefined, body: unknown) => call(dan, 'PUT', `/room_keys/keys${version !== undefined ? `?version=${version}` : ''}`, body);
  expectError(t, await putAll('1', { rooms: { [ROOM]: { sessions: { s: session(0, 0, false) } } } }), 404, 'M_NOT_FOUND', 'no backup at all');
  const old = await create(dan);
  const cur = await create(dan);
  const wrong = await putAll(old, { rooms: { [ROOM]: { sessions: { s: session(0, 0, false) } } } });
  expectError(t, wrong, 403, 'M_WRONG_ROOM_KEYS_VERSION', 'an older version');
  t.equal(wrong.body.current_version, cur, 'the error names the current version');
  expectError(t, await putAll('77', { rooms: {} }), 403, 'M_WRONG_ROOM_KEYS_VERSION', 'a version that does not exist');
  expectError(t, await putAll(undefined, { rooms: {} }), 400, 'M_MISSING_PARAM', 'no version parameter');

  const good = { s1: session(0, 0, false) };
  const bad: [string, unknown, string][] = [
    ['a negative first_message_index', { rooms: { [ROOM]: { sessions: { ...good, s2: session(-1, 0, false) } } } }, 'M_INVALID_PARAM'],
    ['is_verified not a boolean', { rooms: { [ROOM]: { sessions: { ...good, s2: { ...session(0, 0, false), is_verified: 'yes' } } } } }, 'M_BAD_JSON'],
    ['no session_data', { rooms: { [ROOM]: { sessions: { ...good, s2: { first_message_index: 0, forwarded_count: 0, is_verified: false } } } } }, 'M_BAD_JSON'],
    ['not a room id', { rooms: { 'room:x': { sessions: good } } }, 'M_INVALID_PARAM'],
    ['no rooms', {}, 'M_BAD_JSON'],
  ];
  for (const [what, body, errcode] of bad) expectError(t, await putAll(cur, body), 400, errcode, what);
  expectError(t, await call(dan, 'PUT', `/room_keys/keys/not-a-room/s?version=${cur}`, session(0, 0, false)), 400, 'M_INVALID_PARAM', 'a room id in the path that is not one');
  expectError(t, await call(dan, 'GET', `/room_keys/keys?version=99`), 404, 'M_NOT_FOUND', 'reading an unknown version');
  const v = await info(dan);
  t.same([v.count, v.etag], [0, '0'], 'nothing stored, etag unchanged');
  t.same((await call(dan, 'GET', `/room_keys/keys?version=${cur}`)).body, { rooms: {} });
});

t.test('a backup survives a restart', async (t) => {
  const erin = await h.register('erin');
  const v = await create(erin);
  await call(erin, 'PUT', `/room_keys/keys/${enc(ROOM)}/s?version=${v}`, session(3, 0, true, 'kept'));
  h = await h.restart();
  const r = await call(erin, 'GET', `/room_keys/keys/${enc(ROOM)}/s?version=${v}`);
  t.equal(r.body.session_data?.ciphertext, 'kept');
  t.same([(await info(erin)).count, (await info(erin)).version], [1, v]);
});
