/**
 * Server notices: Synapse's send_server_notice admin API (as Complement's
 * TestServerNotices drives it), the one notices room per user, its tag,
 * the invite that cannot be rejected, and the reserved system user name.
 */
import t from 'tap';
import { serverNoticeRoutes } from '../../../src/components/clientapi/routes/account/admin-server-notices.js';
import { roomserverApi } from '../../../src/components/roomserver/api.js';
import { userApi } from '../../../src/components/userapi/api.js';
import { enc, expectError, expectOk, startRooms } from '../../helpers/clientapi.js';

const h = await startRooms({ routes: [serverNoticeRoutes] });
t.teardown(() => h.stop());
const S = h.serverName;
const admin = await h.users.add('admin', { admin: true });
const alice = await h.users.add('alice');
const bob = await h.users.add('bob');
const ua = h.rs.apis.get(userApi);
const rs = h.rs.apis.get(roomserverApi);
const V3 = '/_matrix/client/v3';
const NOTICE = '/_synapse/admin/v1/send_server_notice';
const SYSTEM = `@_server:${S}`;
const notice = (body = 'hello from server notices!', to = alice.user_id) => ({ user_id: to, content: { msgtype: 'm.text', body } });

const noticesRoomOf = async (userId: string): Promise<string | undefined> => {
  const { rooms } = await rs.queryRoomsForUser({ user_id: userId });
  for (const r of rooms) {
    const tags = await ua.queryAccountData({ user_id: userId, room_id: r.room_id, type: 'm.tag' });
    if (tags && 'm.server_notice' in (tags.content.tags as object)) return r.room_id;
  }
  return undefined;
};

t.test('only admins send notices; bad bodies change nothing', async (t) => {
  expectError(t, await h.call(alice, 'POST', NOTICE, notice()), 403, 'M_FORBIDDEN', 'a user who is not an admin');
  expectError(t, await h.call(undefined, 'POST', NOTICE, notice()), 401, 'M_MISSING_TOKEN', 'no token');
  expectError(t, await h.call(admin, 'POST', NOTICE, { user_id: '@someone:elsewhere.example', content: {} }), 400, 'M_INVALID_PARAM', "another server's user");
  expectError(t, await h.call(admin, 'POST', NOTICE, { user_id: alice.user_id, content: 'hi' }), 400, 'M_BAD_JSON', 'content not an object');
  expectError(t, await h.call(admin, 'POST', NOTICE, { user_id: `@nobody:${S}`, content: {} }), 404, 'M_NOT_FOUND', 'an unknown user');
  t.equal(await noticesRoomOf(alice.user_id), undefined, 'no room was made');
});

t.test('a notice: one room per user, tagged, an invite that cannot be rejected', async (t) => {
  const first = await h.call(admin, 'POST', NOTICE, notice());
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.match(first.body.event_id, /^\$/, 'the event id');
  const roomId = await noticesRoomOf(alice.user_id);
  t.ok(roomId, 'alice has a room tagged m.server_notice');
  const invite = await h.call(alice, 'GET', `${V3}/rooms/${enc(roomId!)}/state/m.room.member/${enc(alice.user_id)}`);
  t.equal(invite.status, 403, 'alice is invited, not joined (the state needs a membership she does not have yet)');

  expectError(t, await h.call(alice, 'POST', `${V3}/rooms/${enc(roomId!)}/leave`, {}), 403, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM', 'rejecting the invite');
  expectError(t, await h.call(alice, 'PUT', `${V3}/rooms/${enc(roomId!)}/state/m.room.member/${enc(alice.user_id)}`, { membership: 'leave' }), 403, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM', 'or through the state endpoint');

  await expectOk(t, await h.call(alice, 'POST', `${V3}/rooms/${enc(roomId!)}/join`, {}), 'POST /rooms/{roomId}/join');
  const msg = await h.call(alice, 'GET', `${V3}/rooms/${enc(roomId!)}/event/${enc(first.body.event_id)}`);
  t.match(msg.body, { sender: SYSTEM, type: 'm.room.message', content: { body: 'hello from server notices!' } }, 'she reads the notice');
  const name = await h.call(alice, 'GET', `${V3}/rooms/${enc(roomId!)}/state/m.room.name`);
  t.equal(name.body.name, 'Server Notices');
  expectError(t, await h.call(alice, 'PUT', `${V3}/rooms/${enc(roomId!)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'reply' }), 403, 'M_FORBIDDEN', 'the room is read-only for her');

  await expectOk(t, await h.call(alice, 'POST', `${V3}/rooms/${enc(roomId!)}/leave`, {}), 'POST /rooms/{roomId}/leave');
  const again = await h.call(admin, 'POST', NOTICE, notice('again'));
  t.equal(again.status, 200);
  t.equal(await noticesRoomOf(alice.user_id), roomId, 'the next notice invites her back to the same room');
  const back = await rs.queryMembership({ room_id: roomId!, user_id: alice.user_id });
  t.equal(back.membership, 'invite');

  // Bob's notices go to a room of his own.
  t.equal((await h.call(admin, 'POST', NOTICE, notice('for bob', bob.user_id))).status, 200);
  const bobs = await noticesRoomOf(bob.user_id);
  t.ok(bobs && bobs !== roomId, 'another user, another room');
});

t.test('PUT with a transaction id is idempotent', async (t) => {
  const url = `${NOTICE}/1`;
  const a = await h.call(admin, 'PUT', url, notice('once'));
  const b = await h.call(admin, 'PUT', url, notice('once'));
  t.equal(a.status, 200);
  t.equal(a.body.event_id, b.body.event_id, 'the same event both times');
  const c = await h.call(admin, 'PUT', `${NOTICE}/2`, notice('twice'));
  t.not(c.body.event_id, a.body.event_id, 'another transaction, another event');
});

t.test('the system user name is reserved', async (t) => {
  const refused = await ua.createAccount({ username: '_server', password: 'a long enough password' }).then(() => undefined, (e: { status?: number; errcode?: string }) => e);
  t.match(refused, { status: 400, errcode: 'M_INVALID_USERNAME' }, 'no account may take a name that begins with _');
});
