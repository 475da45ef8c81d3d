/**
 * Registration tokens and user-interactive auth sessions in the UserAPI:
 * Synapse-like token management, uses counted as pending while an auth
 * session holds them and completed once an account is made, expiry, and
 * sessions bound to the request that opened them.
 */
import t, { type Test } from 'tap';
import { userApi } from '../../../src/components/userapi/api.js';
import { startComponents } from '../../helpers/components.js';

const h = await startComponents(['userapi']);
t.teardown(() => h.stop());
const ua = h.apis.get(userApi);
const TOKEN_STAGE = [['m.login.registration_token']];

async function rejectsWith(t: Test, p: Promise<unknown>, status: number, errcode: string, what: string) {
  await t.rejects(p, { name: 'MatrixError', status, errcode }, what);
}

/** A registration session that has passed the token stage with `token`. */
async function sessionWith(token: string) {
  const s = await ua.uiaBegin({ bound: 'register', flows: TOKEN_STAGE });
  return ua.uiaComplete({ session: s.session, bound: 'register', stage: 'm.login.registration_token', token });
}

t.test('create, get, list, update, delete', async (t) => {
  const generated = await ua.createRegistrationToken({});
  t.match(generated, { uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
  t.match(generated.token, /^[A-Za-z0-9]{16}$/, 'sixteen characters by default');
  t.match((await ua.createRegistrationToken({ length: 5 })).token, /^[A-Za-z0-9]{5}$/, 'or the length asked for');
  const named = await ua.createRegistrationToken({ token: 'family-2024', uses_allowed: 3, expiry_time: Date.now() + 3_600_000 });
  t.equal(named.token, 'family-2024');
  t.same(await ua.getRegistrationToken({ token: 'family-2024' }), named);

  const listBefore = await ua.listRegistrationTokens({});
  await rejectsWith(t, ua.createRegistrationToken({ token: 'family-2024' }), 400, 'M_INVALID_PARAM', 'an existing token');
  await rejectsWith(t, ua.createRegistrationToken({ token: 'has space' }), 400, 'M_INVALID_PARAM', 'characters outside the grammar');
  await rejectsWith(t, ua.createRegistrationToken({ token: 'x'.repeat(65) }), 400, 'M_INVALID_PARAM', 'over 64 characters');
  await rejectsWith(t, ua.createRegistrationToken({ length: 0 }), 400, 'M_INVALID_PARAM', 'length 0');
  await rejectsWith(t, ua.createRegistrationToken({ length: 65 }), 400, 'M_INVALID_PARAM', 'length 65');
  await rejectsWith(t, ua.createRegistrationToken({ uses_allowed: -1 }), 400, 'M_INVALID_PARAM', 'negative uses');
  await rejectsWith(t, ua.createRegistrationToken({ uses_allowed: 1.5 }), 400, 'M_INVALID_PARAM', 'fractional uses');
  await rejectsWith(t, ua.createRegistrationToken({ expiry_time: Date.now() - 1000 }), 400, 'M_INVALID_PARAM', 'an expiry in the past');
  t.same(await ua.listRegistrationTokens({}), listBefore, 'refused creations created nothing');

  const updated = await ua.updateRegistrationToken({ token: 'family-2024', uses_allowed: null });
  t.equal(updated.uses_allowed, null);
  t.equal(updated.expiry_time, named.expiry_time, 'fields not given are kept');
  await rejectsWith(t, ua.updateRegistrationToken({ token: 'family-2024', expiry_time: 5 }), 400, 'M_INVALID_PARAM', 'an update to a past expiry');
  await rejectsWith(t, ua.updateRegistrationToken({ token: 'nope', uses_allowed: 1 }), 404, 'M_NOT_FOUND', 'updating an unknown token');
  await rejectsWith(t, ua.getRegistrationToken({ token: 'nope' }), 404, 'M_NOT_FOUND', 'an unknown token');
  await ua.deleteRegistrationToken({ token: generated.token });
  await rejectsWith(t, ua.deleteRegistrationToken({ token: generated.token }), 404, 'M_NOT_FOUND', 'deleting twice');
  t.notOk((await ua.listRegistrationTokens({})).registration_tokens.some((r) => r.token === generated.token));
});

t.test('uses: pending while a session holds the token, completed with the account', async (t) => {
  await ua.createRegistrationToken({ token: 'two-uses', uses_allowed: 2 });
  const s1 = await sessionWith('two-uses');
  t.same(s1.completed, ['m.login.registration_token']);
  t.match(await ua.getRegistrationToken({ token: 'two-uses' }), { pending: 1, completed: 0 });
  const s2 = await sessionWith('two-uses');
  t.same(await ua.registrationTokenValid({ token: 'two-uses' }), { valid: false }, 'two sessions hold both uses');
  await rejectsWith(t, sessionWith('two-uses'), 401, 'M_UNAUTHORIZED', 'a third session is refused');

  const made = await ua.createAccount({ username: 'tokenuser', password: 'pw', uia_session: s1.session });
  t.equal(made.user_id.startsWith('@tokenuser:'), true);
  t.match(await ua.getRegistrationToken({ token: 'two-uses' }), { pending: 1, completed: 1 });
  t.match(await ua.uiaQuery({ session: s1.session, bound: 'register' }), { finished: true }, 'the session says its registration succeeded');
  const retried = await ua.createAccount({ username: 'again', password: 'pw', uia_session: s1.session });
  t.same(retried, made, 'a retry under it gets the same account and login back (spec: the result of the call), not a second account');
  t.match(await ua.getRegistrationToken({ token: 'two-uses' }), { pending: 1, completed: 1 }, 'and uses the token no further');
  t.equal(await ua.queryUser({ user_id: made.user_id.replace('tokenuser', 'again') }), null, 'no account "again"');

  // A failed registration keeps its session (and its use) for another try.
  await rejectsWith(t, ua.createAccount({ username: 'tokenuser', password: 'pw', uia_session: s2.session }), 400, 'M_USER_IN_USE', 'a taken name');
  t.match(await ua.getRegistrationToken({ token: 'two-uses' }), { pending: 1, completed: 1 });
  await ua.createAccount({ username: 'tokenuser2', password: 'pw', uia_session: s2.session });
  t.match(await ua.getRegistrationToken({ token: 'two-uses' }), { pending: 0, completed: 2 });
  t.same(await ua.listRegistrationTokens({ valid: false }).then((l) => l.registration_tokens.map((r) => r.token)), ['two-uses'], 'used up: listed as invalid');
  t.ok((await ua.listRegistrationTokens({ valid: true })).registration_tokens.every((r) => r.token !== 'two-uses'));
  await ua.updateRegistrationToken({ token: 'two-uses', uses_allowed: 3 });
  t.same(await ua.registrationTokenValid({ token: 'two-uses' }), { valid: true }, 'more uses make it valid again');
});

t.test('invalid tokens at the stage: unknown, expired, malformed', async (t) => {
  await rejectsWith(t, sessionWith('no-such-token'), 401, 'M_UNAUTHORIZED', 'an unknown token');
  await ua.createRegistrationToken({ token: 'soon', expiry_time: Date.now() + 50 });
  await new Promise((r) => setTimeout(r, 80));
  t.same(await ua.registrationTokenValid({ token: 'soon' }), { valid: false }, 'an expired token is invalid');
  await rejectsWith(t, sessionWith('soon'), 401, 'M_UNAUTHORIZED', 'and cannot be used');
  t.same(await ua.registrationTokenValid({ token: 'bad token!' }), { valid: false });
  const s = await ua.uiaBegin({ bound: 'register', flows: TOKEN_STAGE });
  await rejectsWith(t, ua.uiaComplete({ session: s.session, bound: 'register', stage: 'm.login.registration_token' }), 401, 'M_UNAUTHORIZED', 'no token at all');
  t.same((await ua.uiaQuery({ session: s.session, bound: 'register' })).completed, [], 'a failed stage completes nothing');
});

t.test('auth sessions are bound to their request', async (t) => {
  const s = await ua.uiaBegin({ bound: 'DELETE /devices/A @u:x', flows: [['m.login.password']], params: { 'm.login.password': {} } });
  t.same(await ua.uiaQuery({ session: s.session, bound: 'DELETE /devices/A @u:x' }), { session: s.session, flows: [['m.login.password']], params: { 'm.login.password': {} }, completed: [] });
  await rejectsWith(t, ua.uiaQuery({ session: s.session, bound: 'DELETE /devices/B @u:x' }), 403, 'M_FORBIDDEN', 'another request cannot use it');
  await rejectsWith(t, ua.uiaComplete({ session: s.session, bound: 'DELETE /devices/B @u:x', stage: 'm.login.password' }), 403, 'M_FORBIDDEN', 'nor complete its stages');
  await rejectsWith(t, ua.uiaQuery({ session: 'made-up', bound: 'register' }), 400, 'M_UNKNOWN', 'an unknown session');
  await ua.uiaComplete({ session: s.session, bound: 'DELETE /devices/A @u:x', stage: 'm.login.password' });
  await ua.uiaFinish({ session: s.session });
  await rejectsWith(t, ua.uiaQuery({ session: s.session, bound: 'DELETE /devices/A @u:x' }), 400, 'M_UNKNOWN', 'a finished session is gone');
});
