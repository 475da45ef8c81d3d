/**
 * OpenID on the built server in split mode: a user asks for a token on the
 * client port; a third party learns whose it is from the federation port,
 * or the client port as with Synapse (the FederationAPI asking the UserAPI
 * in another process). Only the
 * user's own path, unknown tokens refused, an expired token refused.
 */
import { join } from 'node:path';
import t from 'tap';
import { Database } from '../../src/platform/storage/database.js';
import { OpenIdTokens, OPENID_TOKEN_LIFETIME_MS } from '../../src/components/userapi/openid.js';
import { initServer, removeDataDir, startServer, tempDir } from '../helpers/server.js';

const { dataDir, ports, serverName } = await initServer({ mode: 'split', tls: 'off', extra: ['--registration', 'open'] });
const server = await startServer(dataDir, { clientPort: ports.client });
t.teardown(async () => {
  await server.stop();
  removeDataDir(dataDir);
});
const C = `http://127.0.0.1:${ports.client}/_matrix/client/v3`;
const F = `http://127.0.0.1:${ports.federation}/_matrix/federation/v1`;

async function register(username: string): Promise<{ user_id: string; access_token: string }> {
  const body = { username, password: `${username}-password-1` };
  const first = (await (await fetch(`${C}/register`, { method: 'POST', body: JSON.stringify(body) })).json()) as { session: string };
  return (await fetch(`${C}/register`, { method: 'POST', body: JSON.stringify({ ...body, auth: { type: 'm.login.dummy', session: first.session } }) })).json() as never;
}
const post = (url: string, token: string, body: unknown = {}) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

t.test('request a token, a third party asks who it is', async (t) => {
  const alice = await register('alice');
  const bob = await register('bob');
  const r = await post(`${C}/user/${encodeURIComponent(alice.user_id)}/openid/request_token`, alice.access_token);
  t.equal(r.status, 200);
  const tok = (await r.json()) as { access_token: string; token_type: string; matrix_server_name: string; expires_in: number };
  t.equal(tok.token_type, 'Bearer');
  t.equal(tok.matrix_server_name, serverName);
  t.equal(tok.expires_in, 3600, 'an hour');
  const who = await fetch(`${F}/openid/userinfo?access_token=${encodeURIComponent(tok.access_token)}`);
  t.same([who.status, await who.json()], [200, { sub: alice.user_id }], 'the federation port says whose it is');

  const notHers = await post(`${C}/user/${encodeURIComponent(alice.user_id)}/openid/request_token`, bob.access_token);
  t.same([notHers.status, ((await notHers.json()) as { errcode: string }).errcode], [403, 'M_FORBIDDEN'], "a token for someone else's id is refused");
  for (const [what, q] of [['an unknown token', '?access_token=nto_nothing'], ['no token', ''], ["alice's access token is not an OpenID token", `?access_token=${alice.access_token}`]]) {
    const r2 = await fetch(`${F}/openid/userinfo${q}`);
    t.same([r2.status, ((await r2.json()) as { errcode: string }).errcode], [401, 'M_UNKNOWN_TOKEN'], what!);
  }
  const onClientPort = await fetch(`http://127.0.0.1:${ports.client}/_matrix/federation/v1/openid/userinfo?access_token=${tok.access_token}`);
  t.same([onClientPort.status, await onClientPort.json()], [200, { sub: alice.user_id }], 'the client port answers it too, as Synapse does');
  t.equal((await fetch(`http://127.0.0.1:${ports.client}/_matrix/federation/v1/version`)).status, 404, 'but no other federation path');
});

t.test('an expired token is refused and removed', async (t) => {
  const db = await Database.open(join(tempDir(), 'db'));
  t.teardown(() => db.close());
  let now = 1_000_000;
  const tokens = new OpenIdTokens(db, () => now);
  const { access_token } = await tokens.create('@alice:x');
  t.equal(await tokens.owner(access_token), '@alice:x');
  now += OPENID_TOKEN_LIFETIME_MS - 1;
  t.equal(await tokens.owner(access_token), '@alice:x', 'valid until the hour is up');
  now += 1;
  t.equal(await tokens.owner(access_token), null, 'then no longer');
  now = 1_000_000;
  t.equal(await tokens.owner(access_token), null, 'and gone from the database');
});
