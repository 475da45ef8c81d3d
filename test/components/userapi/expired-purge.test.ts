/**
 * Purging what can never be used again, through the UserAPI's
 * purgeExpired and the maintenance job that walks it: token records no
 * device holds (planted on disk while the server is stopped, as a crash or
 * an older version could leave them) go, with an orphan access token that
 * authenticated until then; live tokens stay, and so does the expired
 * access token of a device that can still refresh (its soft logout); the
 * work per call is bounded and a sweep resumes where the last call stopped.
 * Expired auth sessions, which live in memory, are tested on a stopped
 * clock.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Level } from 'level';
import { maintenanceApi } from '../../../src/components/maintenance/api.js';
import { userApi, type PurgeResult } from '../../../src/components/userapi/api.js';
import { tokenHash } from '../../../src/components/userapi/tokens.js';
import { UIA_LIFETIME_MS, UiaSessions } from '../../../src/components/userapi/uia-sessions.js';
import { encodeKey } from '../../../src/platform/storage/keys.js';
import { startComponents } from '../../helpers/components.js';

const SERVER = 'test.neurite.local';
const id = (local: string) => `@${local}:${SERVER}`;

async function rejectsWith(t: Test, p: Promise<unknown>, status: number, errcode: string, what: string) {
  await t.rejects(p, { name: 'MatrixError', status, errcode }, what);
}

t.test('dead token records go, live ones stay, a bounded number per call', async (t) => {
  let h = await startComponents(['userapi', 'maintenance'], { serverName: SERVER });
  t.teardown(() => h.stop());
  let ua = h.apis.get(userApi);

  await ua.createAccount({ username: 'alice', password: 'pw' });
  await ua.createAccount({ username: 'gone', password: 'pw' });
  await ua.deactivateAccount({ user_id: id('gone') });
  const plain = await ua.loginWithPassword({ user: 'alice', password: 'pw', login: {} });
  // Expired, but the device can refresh: the soft logout must survive the purge.
  const soft = await ua.loginWithPassword({ user: 'alice', password: 'pw', login: { refresh_token: true } });
  const expired = await ua.refreshToken({ refresh_token: soft.refresh_token!, lifetime_ms: 1 });
  await new Promise((r) => setTimeout(r, 10));
  t.same(await ua.queryAccessToken({ token: expired.access_token }), { owner: null, soft_logout: true }, 'an expired access token is a soft logout');
  // Refreshed and the new pair not used yet: both refresh tokens are live.
  const rotating = await ua.loginWithPassword({ user: 'alice', password: 'pw', login: { refresh_token: true } });
  await ua.refreshToken({ refresh_token: rotating.refresh_token! });
  await h.stop();

  // What a crash or an older version could leave behind.
  const past = Date.now() - 3_600_000;
  const planted = {
    noDevice: 'nta_planted-for-a-device-that-is-gone',
    replaced: 'nta_planted-replaced-on-its-device',
    deactivated: 'nta_planted-of-a-deactivated-account',
    unrenewable: 'nta_planted-expired-on-a-device-without-refresh',
    spent: 'ntr_planted-spent',
    refreshNoDevice: 'ntr_planted-for-a-device-that-is-gone',
  };
  const db = new Level<string, unknown>(join(h.dataDir, 'db', 'userapi'), { valueEncoding: 'json' });
  await db.batch([
    { type: 'put', key: encodeKey('at', tokenHash(planted.noDevice)), value: { user_id: id('alice'), device_id: 'GONEDEVICE' } },
    { type: 'put', key: encodeKey('at', tokenHash(planted.replaced)), value: { user_id: id('alice'), device_id: plain.device_id } },
    { type: 'put', key: encodeKey('at', tokenHash(planted.deactivated)), value: { user_id: id('gone'), device_id: 'OLDDEVICE' } },
    { type: 'put', key: encodeKey('at', tokenHash(planted.unrenewable)), value: { user_id: id('alice'), device_id: 'NOREFRESH', expires_at: past } },
    { type: 'put', key: encodeKey('dev', id('alice'), 'NOREFRESH'), value: { device_id: 'NOREFRESH', created_ts: past, access: tokenHash(planted.unrenewable), expires_at: past } },
    { type: 'put', key: encodeKey('rt', tokenHash(planted.spent)), value: { user_id: id('alice'), device_id: soft.device_id } },
    { type: 'put', key: encodeKey('rt', tokenHash(planted.refreshNoDevice)), value: { user_id: id('alice'), device_id: 'GONEDEVICE' } },
  ]);
  let records = 0;
  for await (const k of db.keys()) if (k.startsWith(encodeKey('at', '')) || k.startsWith(encodeKey('rt', ''))) records++;
  await db.close();

  h = await startComponents(['userapi', 'maintenance'], { dataDir: h.dataDir, serverName: SERVER });
  ua = h.apis.get(userApi);
  t.equal((await ua.queryAccessToken({ token: planted.noDevice })).owner?.user_id, id('alice'), 'before the purge, an orphan access token still authenticates');
  // Auth sessions live in memory: this one begins after the restart.
  const session = await ua.uiaBegin({ bound: 'register', flows: [['m.login.dummy']] });

  // Three records per call: the sweep takes several calls and resumes each time.
  const calls: PurgeResult[] = [];
  let after: string | undefined;
  do {
    const r = await ua.purgeExpired({ limit: 3, ...(after !== undefined ? { after } : {}) });
    calls.push(r);
    after = r.next;
  } while (after !== undefined && calls.length < 50);
  t.ok(calls.every((c) => c.checked <= 3), 'no call looks at more records than asked');
  t.ok(calls.length >= Math.ceil(records / 3), `the sweep took ${calls.length} calls`);
  t.equal(calls.reduce((a, c) => a + c.checked, 0), records, 'every token record was looked at once');
  t.equal(calls.reduce((a, c) => a + c.access_tokens, 0), 4, 'four dead access tokens deleted');
  t.equal(calls.reduce((a, c) => a + c.refresh_tokens, 0), 2, 'two dead refresh tokens deleted');
  t.equal(calls.reduce((a, c) => a + c.uia_sessions, 0), 0, 'no auth session had expired');

  for (const [what, token] of Object.entries(planted).filter(([, v]) => v.startsWith('nta_'))) {
    t.same(await ua.queryAccessToken({ token }), { owner: null, soft_logout: false }, `${what}: refused now`);
  }
  for (const [what, token] of Object.entries(planted).filter(([, v]) => v.startsWith('ntr_'))) {
    await rejectsWith(t, ua.refreshToken({ refresh_token: token }), 401, 'M_UNKNOWN_TOKEN', `${what}: refused now`);
  }
  t.equal((await ua.queryAccessToken({ token: plain.access_token })).owner?.device_id, plain.device_id, 'a live access token works');
  t.same(await ua.queryAccessToken({ token: expired.access_token }), { owner: null, soft_logout: true }, 'the expired token of a device that can refresh is still a soft logout');
  t.same(await ua.uiaQuery({ session: session.session, bound: 'register' }), session, 'a live auth session goes on');
  // The unused pair's predecessor still renews (the client may have lost the answer)...
  const again = await ua.refreshToken({ refresh_token: rotating.refresh_token! });
  t.ok((await ua.queryAccessToken({ token: again.access_token })).owner, 'the refresh token kept for a lost answer still works');
  // ...and the expired device's own refresh token too.
  const renewed = await ua.refreshToken({ refresh_token: expired.refresh_token });
  t.equal((await ua.queryAccessToken({ token: renewed.access_token })).owner?.device_id, soft.device_id, 'the soft-logged-out device refreshes');

  const job = await h.apis.get(maintenanceApi).runJob({ name: 'expired-logins' });
  t.match(job, { ok: true, trigger: 'manual' }, 'the maintenance job runs');
  t.match(job.summary, /^0 access tokens and 0 refresh tokens deleted \(\d+ checked\); 0 expired auth sessions ended$/, `a second sweep finds nothing: ${job.summary}`);
  const listed = (await h.apis.get(maintenanceApi).listJobs({})).jobs.find((j) => j.name === 'expired-logins');
  t.match(listed, { schedule: '37 * * * *', last_run: { ok: true, summary: job.summary } }, 'the job is listed with its last result');

  await rejectsWith(t, ua.purgeExpired({ after: 'nonsense' }), 400, 'M_INVALID_PARAM', 'a cursor it did not give out');
  await rejectsWith(t, ua.purgeExpired({ limit: 0 }), 400, 'M_INVALID_PARAM', 'a zero limit');
});

t.test('the maintenance job reports what it deleted', async (t) => {
  let h = await startComponents(['userapi', 'maintenance'], { serverName: SERVER });
  t.teardown(() => h.stop());
  await h.apis.get(userApi).createAccount({ username: 'bob', password: 'pw' });
  await h.stop();
  const db = new Level<string, unknown>(join(h.dataDir, 'db', 'userapi'), { valueEncoding: 'json' });
  await db.put(encodeKey('at', tokenHash('nta_planted')), { user_id: id('bob'), device_id: 'GONE' });
  await db.close();
  h = await startComponents(['userapi', 'maintenance'], { dataDir: h.dataDir, serverName: SERVER });
  const job = await h.apis.get(maintenanceApi).runJob({ name: 'expired-logins' });
  t.equal(job.summary, '1 access token and 0 refresh tokens deleted (1 checked); 0 expired auth sessions ended');
  t.same(await h.apis.get(userApi).queryAccessToken({ token: 'nta_planted' }), { owner: null, soft_logout: false }, 'the token is gone');
});

t.test('expired auth sessions end, and release the registration-token uses they held (stopped clock)', async (t) => {
  let now = 1_000_000;
  const released: string[] = [];
  const uia = new UiaSessions(() => now, (token) => released.push(token));
  const old = uia.begin('register', [['m.login.registration_token']], {});
  old.registration_token = 'tok';
  now += 20 * 60_000;
  const young = uia.begin('register', [['m.login.dummy']], {});
  now = old.expires_at;
  t.equal(old.expires_at - 1_000_000, UIA_LIFETIME_MS);
  t.equal(uia.purgeExpired(), 1, 'the session at its expiry ends');
  t.same(released, ['tok'], 'and its reserved token use is released');
  t.equal(uia.get(old.id, 'register'), undefined, 'it is gone');
  t.equal(uia.get(young.id, 'register'), young, 'the younger session goes on');
  t.equal(uia.purgeExpired(), 0, 'nothing more to end');
  now = young.expires_at + 1;
  t.equal(uia.purgeExpired(), 1);
  t.same(released, ['tok'], 'a session without a token releases nothing');
});
