/**
 * A real client library against the built server, in both process
 * arrangements: matrix-js-sdk (the SDK behind Element) registers through
 * user-interactive auth, logs in, sets a display name, keeps account data,
 * manages devices (deleting one through UIA with its password), refreshes
 * its token, and uses filters, push rules and the user directory.
 */
import t, { type Test } from 'tap';
import { createClient, MatrixError, type MatrixClient } from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { initServer, removeDataDir, startServer } from '../helpers/server.js';

// The SDK logs every HTTP request at debug level.
(logger as unknown as { setLevel(level: string): void }).setLevel('error');

/** The request fails with this errcode (and status, when given). */
async function failsWith(t: Test, p: Promise<unknown>, errcode: string, status?: number, what = errcode) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(e instanceof MatrixError, `${what}: a Matrix error`);
  t.same([(e as MatrixError).errcode, status === undefined ? undefined : (e as MatrixError).httpStatus], [errcode, status], what);
}

for (const mode of ['monolith', 'split'] as const) {
  t.test(`matrix-js-sdk against a ${mode} server`, async (t) => {
    const { dataDir, ports, serverName } = await initServer({ mode, tls: 'off', extra: ['--registration', 'open'] });
    const server = await startServer(dataDir, { clientPort: ports.client });
    t.teardown(async () => {
      await server.stop();
      removeDataDir(dataDir);
    });
    const baseUrl = `http://127.0.0.1:${ports.client}`;
    const clients: MatrixClient[] = [];
    t.teardown(() => clients.forEach((c) => c.stopClient()));
    const client = (opts: { accessToken?: string; userId?: string; deviceId?: string; refreshToken?: string } = {}) => {
      const c = createClient({ baseUrl, ...opts });
      clients.push(c);
      return c;
    };

    // Registration through UIA: the first request gets the flows, the second completes m.login.dummy.
    const anon = client();
    const first = await anon.registerRequest({ username: 'alice', password: 'alice-pw' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(first instanceof MatrixError && first.httpStatus === 401, 'the first attempt asks for auth');
    const session = (first as MatrixError).data.session as string;
    t.same((first as MatrixError).data.flows, [{ stages: ['m.login.dummy'] }]);
    const reg = await anon.registerRequest({ username: 'alice', password: 'alice-pw', initial_device_display_name: 'SDK phone', auth: { type: 'm.login.dummy', session } });
    t.equal(reg.user_id, `@alice:${serverName}`);
    await failsWith(t, anon.registerRequest({ username: 'alice', password: 'x' }), 'M_USER_IN_USE', 400, 'the name is taken now');
    await client().register('bob', 'bob-pw', null, { type: 'm.login.dummy' });

    // Login, with refresh tokens.
    const login = await anon.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-pw', refresh_token: true, initial_device_display_name: 'SDK laptop' });
    t.ok(login.refresh_token && login.expires_in_ms, 'a refresh token');
    await failsWith(t, anon.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong' }), 'M_FORBIDDEN', 403);
    const alice = client({ accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
    t.same(await alice.whoami(), { user_id: login.user_id, device_id: login.device_id, is_guest: false });

    // Profile.
    await alice.setDisplayName('Alice Liddell');
    t.same(await alice.getProfileInfo(login.user_id), { displayname: 'Alice Liddell' });
    t.equal((await anon.getProfileInfo(login.user_id, 'displayname')).displayname, 'Alice Liddell', 'profiles are public');

    // Account data.
    await alice.setAccountData('org.example.theme' as never, { mode: 'dark' } as never);
    t.same(await alice.getAccountDataFromServer('org.example.theme' as never), { mode: 'dark' });
    t.equal(await alice.getAccountDataFromServer('org.example.missing' as never), null, 'missing account data is null to the SDK');

    // Devices.
    const { devices } = await alice.getDevices();
    t.same(devices.map((d) => d.display_name).sort(), ['SDK laptop', 'SDK phone']);
    await alice.setDeviceDetails(login.device_id, { display_name: 'Renamed laptop' });
    t.equal((await alice.getDevice(login.device_id)).display_name, 'Renamed laptop');
    const phone = devices.find((d) => d.display_name === 'SDK phone')!;
    const ask = await alice.deleteDevice(phone.device_id).then(
      () => undefined,
      (e: unknown) => e as MatrixError,
    );
    t.equal(ask?.httpStatus, 401, 'deleting a device asks for auth');
    await alice.deleteDevice(phone.device_id, { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-pw', session: ask!.data.session } as never);
    t.same((await alice.getDevices()).devices.map((d) => d.device_id), [login.device_id]);
    await failsWith(t, client({ accessToken: reg.access_token }).whoami(), 'M_UNKNOWN_TOKEN', 401, "the deleted device's token is dead");

    // Refresh.
    const refreshed = await alice.refreshToken(login.refresh_token!);
    t.ok(refreshed.access_token && refreshed.refresh_token);
    const alice2 = client({ accessToken: refreshed.access_token, userId: login.user_id, deviceId: login.device_id });
    t.equal((await alice2.whoami()).device_id, login.device_id, 'the refreshed token is the same device');
    await failsWith(t, alice.whoami(), 'M_UNKNOWN_TOKEN', undefined, 'the old access token stopped');

    // Filters, push rules, directory.
    const filter = await alice2.createFilter({ room: { timeline: { limit: 5 } } });
    t.ok(filter.filterId);
    const back = await alice2.getFilter(login.user_id, filter.filterId!, false);
    t.same(back.getDefinition(), { room: { timeline: { limit: 5 } } });
    const rules = await alice2.getPushRules();
    t.ok(rules.global.override?.some((r) => r.rule_id === '.m.rule.master'), 'the default push rules');
    await alice2.addPushRule('global', 'content' as never, 'tea', { pattern: 'tea', actions: ['notify' as never] });
    t.ok((await alice2.getPushRules()).global.content?.some((r) => r.rule_id === 'tea'), 'a rule added through the SDK');
    const found = await alice2.searchUserDirectory({ term: 'bob' });
    t.same(found.results.map((r) => r.user_id), [`@bob:${serverName}`]);

    await alice2.logout();
    await failsWith(t, alice2.whoami(), 'M_UNKNOWN_TOKEN', undefined, 'logged out');
  });
}
