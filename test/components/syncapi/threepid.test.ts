/**
 * Third-party identifiers on a server that sends no email or SMS: each
 * endpoint checks its body, then answers the spec's error for this case;
 * removing an identifier the account does not have succeeds; the account's
 * list stays empty.
 */
import t from 'tap';
import { startSync, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const alice = await s.user('alice');

const email = { client_secret: 'secret-1', email: 'alice@example.org', send_attempt: 1 };
const phone = { client_secret: 'secret-1', country: 'GB', phone_number: '07700900000', send_attempt: 1 };

t.test('validation requests: not supported, in words', async (t) => {
  const cases: [string, unknown, boolean, number, string][] = [
    ['/register/email/requestToken', email, false, 400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED'],
    ['/register/msisdn/requestToken', phone, false, 400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED'],
    ['/account/3pid/email/requestToken', email, true, 400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED'],
    ['/account/3pid/msisdn/requestToken', phone, true, 400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED'],
    ['/account/password/email/requestToken', email, false, 400, 'M_THREEPID_NOT_FOUND'],
    ['/account/password/msisdn/requestToken', phone, false, 400, 'M_THREEPID_NOT_FOUND'],
    ['/account/3pid/add', { client_secret: 'secret-1', sid: 'sid-1' }, true, 400, 'M_THREEPID_AUTH_FAILED'],
    ['/account/3pid/bind', { client_secret: 'secret-1', id_server: 'id.example.org', id_access_token: 'x', sid: 'sid-1' }, true, 400, 'M_SERVER_NOT_TRUSTED'],
  ];
  for (const [path, body, authed, status, errcode] of cases) {
    const r = await s.call(authed ? alice : undefined, 'POST', `${V3}${path}`, body);
    t.same([r.status, r.body.errcode], [status, errcode], `${path}: ${r.body.error}`);
    t.ok(typeof r.body.error === 'string' && r.body.error.length > 10, 'with a sentence');
  }
});

t.test('bodies are checked first; the account endpoints need a token', async (t) => {
  const bad = await s.call(undefined, 'POST', `${V3}/register/email/requestToken`, { email: 'alice@example.org' });
  t.same([bad.status, bad.body.errcode], [400, 'M_BAD_JSON'], 'client_secret and send_attempt are required');
  const anon = await s.call(undefined, 'POST', `${V3}/account/3pid/email/requestToken`, email);
  t.equal(anon.status, 401, 'adding needs an account');
});

t.test('removing an identifier the account does not have: nothing to do', async (t) => {
  for (const path of ['/account/3pid/delete', '/account/3pid/unbind']) {
    const r = await s.call(alice, 'POST', `${V3}${path}`, { medium: 'email', address: 'alice@example.org' });
    t.same([r.status, r.body], [200, { id_server_unbind_result: 'no-support' }], path);
  }
  t.same((await s.call(alice, 'GET', `${V3}/account/3pid`)).body, { threepids: [] }, 'the account still has none');
});
