/**
 * What clients ask first: /versions, /capabilities, .well-known, third-party
 * protocols, TURN servers.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { expectError, expectOk, startRooms } from '../../helpers/clientapi.js';
import { startComponents } from '../../helpers/components.js';
import { specResponse } from '../../helpers/spec-schemas.js';

const V3 = '/_matrix/client/v3';
const h = await startRooms();
t.teardown(() => h.stop());
const alice = await h.users.add('alice');
const guest = await h.users.add('guest', { guest: true });

t.test('versions', async (t) => {
  const r = await h.call(undefined, 'GET', '/_matrix/client/versions');
  await expectOk(t, r, 'GET /versions');
  t.same(r.body.versions, ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12', 'v1.13', 'v1.14', 'v1.15', 'v1.16', 'v1.17', 'v1.18', 'v1.19'], 'v1.1 (the v3 paths) to v1.19');
  t.same(r.body.unstable_features, { 'org.matrix.simplified_msc3575': true, 'org.matrix.msc3827.stable': true }, 'Simplified Sliding Sync, for Element X; room types in the directory filter, for Element Web');
});

t.test('capabilities', async (t) => {
  const r = await h.call(alice, 'GET', `${V3}/capabilities`);
  await expectOk(t, r, 'GET /capabilities');
  const c = r.body.capabilities;
  t.equal(c['m.room_versions'].default, '12');
  t.same(c['m.room_versions'].available, Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i + 1), 'stable'])));
  t.same(c['m.change_password'], { enabled: true });
  t.same(c['m.set_displayname'], { enabled: true });
  t.same(c['m.set_avatar_url'], { enabled: true });
  t.same(c['m.3pid_changes'], { enabled: false });
  expectError(t, await h.call(undefined, 'GET', `${V3}/capabilities`), 401, 'M_MISSING_TOKEN', 'no token');
});

t.test('.well-known', async (t) => {
  const client = await h.call(undefined, 'GET', '/.well-known/matrix/client');
  t.equal(client.status, 200);
  t.equal((await specResponse('client-server', 'GET /matrix/client'))(client.body), undefined, 'client: fits the spec');
  const server = await h.call(undefined, 'GET', '/.well-known/matrix/server');
  t.equal(server.status, 200);
  t.equal((await specResponse('server-server', 'GET /matrix/server'))(server.body), undefined, 'server: fits the spec');
  // The harness's data directory was made with TLS off, federation port 8448.
  t.same(client.body, { 'm.homeserver': { base_url: `http://${h.serverName}:8448` } });
  t.same(server.body, { 'm.server': `${h.serverName}:8448` });

  const custom = await startRooms({ rs: await startComponents(['roomserver', 'serverkeyapi'], { serverName: 'example.org' }), serverName: 'example.org', config: { public_baseurl: 'https://matrix.example.org/', federation_port: 443, tls: { mode: 'self-signed', cert: '', key: '' } } });
  t.teardown(() => custom.stop());
  t.same((await custom.call(undefined, 'GET', '/.well-known/matrix/client')).body, { 'm.homeserver': { base_url: 'https://matrix.example.org' } }, 'public_baseurl');
  t.same((await custom.call(undefined, 'GET', '/.well-known/matrix/server')).body, { 'm.server': 'example.org:443' });
});

t.test('third-party protocols', async (t) => {
  const r = await h.call(alice, 'GET', `${V3}/thirdparty/protocols`);
  await expectOk(t, r, 'GET /thirdparty/protocols');
  t.same(r.body, {});
  for (const path of ['protocol/irc', 'location/irc?searchFields=x', 'user/irc', 'location?alias=%23a%3Ab', 'user?userid=%40a%3Ab']) {
    await expectError(t, await h.call(alice, 'GET', `${V3}/thirdparty/${path}`), 404, 'M_NOT_FOUND', `no bridge: ${path}`);
  }
  t.equal((await h.call(undefined, 'GET', `${V3}/thirdparty/protocol/irc`)).status, 401, 'a token is needed');
});

t.test('TURN', async (t) => {
  const none = await h.call(alice, 'GET', `${V3}/voip/turnServer`);
  t.equal(none.status, 200);
  t.same(none.body, {}, 'no TURN server configured: an empty answer');

  const rs = await startComponents(['roomserver', 'serverkeyapi', 'userapi', 'eduserver']);
  writeFileSync(join(rs.dataDir, 'keys', 'turn_secret'), 'sekrit\n');
  const turn = await startRooms({
    rs,
    config: { turn: { uris: ['turn:turn.example:3478?transport=udp', 'turns:turn.example:443'], shared_secret_file: 'keys/turn_secret', username: '', password: '', lifetime_seconds: 600, allow_guests: false } },
  });
  t.teardown(() => turn.stop());
  const u = await turn.users.add('alice');
  const g = await turn.users.add('guest', { guest: true });
  const r = await turn.call(u, 'GET', `${V3}/voip/turnServer`);
  await expectOk(t, r, 'GET /voip/turnServer');
  t.equal(r.body.ttl, 600);
  t.same(r.body.uris, ['turn:turn.example:3478?transport=udp', 'turns:turn.example:443']);
  t.match(r.body.username, new RegExp(`^\\d+:${u.user_id.replace(/[.]/g, '\\.')}$`), 'expiry:user');
  t.equal(r.body.password, createHmac('sha1', 'sekrit').update(r.body.username).digest('base64'), 'HMAC-SHA1 of the user with the shared secret');
  expectError(t, await turn.call(g, 'GET', `${V3}/voip/turnServer`), 403, 'M_FORBIDDEN', 'guests, when not allowed');

  const fixed = await startRooms({
    rs: await startComponents(['roomserver', 'serverkeyapi', 'userapi', 'eduserver']),
    config: { turn: { uris: ['turn:t.example'], shared_secret_file: '', username: 'u', password: 'p', lifetime_seconds: 60, allow_guests: true } },
  });
  t.teardown(() => fixed.stop());
  const f = await fixed.call(await fixed.users.add('bob'), 'GET', `${V3}/voip/turnServer`);
  await expectOk(t, f, 'GET /voip/turnServer', 'fixed credentials');
  t.same(f.body, { username: 'u', password: 'p', uris: ['turn:t.example'], ttl: 60 });
  void guest;
});
