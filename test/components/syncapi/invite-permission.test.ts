/**
 * Invite permission (client-server API v1.18, `m.invite_permission_config`):
 * invites to a user who blocks them are refused with M_INVITE_BLOCKED (POST
 * /invite, a membership PUT), left out of createRoom's invite list, and the
 * invites they already had are kept out of /sync until they stop blocking.
 * Server notices still reach them.
 */
import t from 'tap';
import { userApi } from '../../../src/components/userapi/api.js';
import { enc, expectError, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const carol = await s.user('carol');
const ua = s.h.apis.get(userApi);
const made = await ua.createAccount({ username: 'boss', password: 'correct horse battery', admin: true, login: {} });
const boss = { user_id: made.user_id, device_id: made.login!.device_id, token: made.login!.access_token };

const config = (content: unknown) => s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/account_data/m.invite_permission_config`, content);
const invitedTo = async () => Object.keys((await ops.sync(bob)).body.rooms.invite);
const memberOf = async (roomId: string, userId: string) => (await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`)).body.membership;

t.test('blocking invites: refused, left out, hidden; then allowed again', async (t) => {
  const before = await ops.create(alice, { preset: 'private_chat', name: 'Before' });
  await ops.invite(alice, before, bob);
  const stream = new SyncStream(s, bob);
  await stream.until((x) => before in x.rooms.invite);

  t.equal((await config({ default_action: 'block' })).status, 200);
  // The account data reaches the SyncAPI through its log: wait for it in bob's own sync.
  await stream.until((x) => (x.account_data?.events ?? []).some((e: any) => e.type === 'm.invite_permission_config'));
  t.same(await invitedTo(), [], 'the invite bob already had is not served');

  const room = await ops.create(alice, { preset: 'private_chat' });
  expectError(t, await s.call(alice, 'POST', `${V3}/rooms/${enc(room)}/invite`, { user_id: bob.user_id }), 403, 'M_INVITE_BLOCKED', 'POST /invite');
  expectError(t, await s.call(alice, 'PUT', `${V3}/rooms/${enc(room)}/state/m.room.member/${enc(bob.user_id)}`, { membership: 'invite' }), 403, 'M_INVITE_BLOCKED', 'a membership PUT');
  t.equal(await memberOf(room, bob.user_id), undefined, 'no invite event was made');
  const both = await ops.create(alice, { preset: 'private_chat', invite: [bob.user_id, carol.user_id] });
  t.equal(await memberOf(both, carol.user_id), 'invite', 'createRoom succeeds and invites the others');
  t.equal(await memberOf(both, bob.user_id), undefined, 'but not bob');

  // The server's own notices still reach him.
  const notice = await s.call(boss, 'POST', '/_synapse/admin/v1/send_server_notice', { user_id: bob.user_id, content: { msgtype: 'm.text', body: 'maintenance tonight' } });
  t.equal(notice.status, 200, JSON.stringify(notice.body));
  const noticeRoom = await stream.until((x) => Object.keys(x.rooms.invite).length > 0);
  t.match(Object.values(noticeRoom.rooms.invite)[0], { invite_state: { events: [{ sender: `@_server:${s.serverName}` }] } }, 'a server notice invite is shown');

  // Any other value, or none, lets invites through again; the hidden one shows again.
  t.equal((await config({ default_action: 'allow_some_day' })).status, 200);
  await stream.until((x) => (x.account_data?.events ?? []).some((e: any) => e.type === 'm.invite_permission_config' && e.content.default_action !== 'block'));
  t.ok((await invitedTo()).includes(before), 'unblocked: the earlier invite is served again');
  t.equal((await s.call(alice, 'POST', `${V3}/rooms/${enc(room)}/invite`, { user_id: bob.user_id })).status, 200, 'and invites work again');
});
