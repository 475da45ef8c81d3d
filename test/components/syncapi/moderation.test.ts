/**
 * Account moderation (client-server API v1.18): an admin locks and
 * suspends accounts. A locked account gets 401 M_USER_LOCKED with
 * soft_logout on everything but logout, and works again, same token, once
 * unlocked. A suspended account reads, leaves and redacts its own events,
 * but cannot join, invite, send, or change its profile (403
 * M_USER_SUSPENDED). Admins cannot lock themselves or each other. The
 * admins are named as support contacts.
 */
import t from 'tap';
import { userApi } from '../../../src/components/userapi/api.js';
import { enc, roomOps, startSync, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const ua = s.h.apis.get(userApi);
const root = await s.user('root');
const noContacts = await s.call(undefined, 'GET', '/.well-known/matrix/support');
await ua.setUserAdmin({ user_id: root.user_id, admin: true });
const alice = await s.user('alice');
const bob = await s.user('bob');
const mallory = await s.user('mallory');
const A = '/_matrix/client/v1/admin';
const room = await ops.create(alice, { preset: 'public_chat' });
await ops.join(mallory, room);
const own = await ops.send(mallory, room, { msgtype: 'm.text', body: 'mine' });
const theirs = await ops.send(alice, room, { msgtype: 'm.text', body: "alice's" });

t.test('support contacts: the active admins, for a locked user to appeal to', async (t) => {
  t.same([noContacts.status, noContacts.body.errcode], [404, 'M_NOT_FOUND'], 'no admin yet: none named');
  const r = await s.call(undefined, 'GET', '/.well-known/matrix/support');
  t.same([r.status, r.body], [200, { contacts: [{ matrix_id: root.user_id, role: 'm.role.admin' }] }], 'no token needed');
});

t.test('lock: everything but logout is refused, with soft_logout; unlocking brings the same token back', async (t) => {
  t.same((await s.call(root, 'GET', `${A}/lock/${enc(bob.user_id)}`)).body, { locked: false });
  t.same((await s.call(root, 'PUT', `${A}/lock/${enc(bob.user_id)}`, { locked: true })).body, { locked: true }, 'locked');
  t.same((await s.call(root, 'GET', `${A}/lock/${enc(bob.user_id)}`)).body, { locked: true });
  for (const [method, path] of [['GET', `${V3}/account/whoami`], ['GET', `${V3}/sync?timeout=0`], ['GET', `${V3}/joined_rooms`]] as const) {
    const r = await s.call(bob, method, path);
    t.same([r.status, r.body.errcode, r.body.soft_logout], [401, 'M_USER_LOCKED', true], `${method} ${path.split('?')[0]}: refused`);
  }
  t.equal((await s.call(root, 'PUT', `${A}/lock/${enc(bob.user_id)}`, { locked: false })).status, 200, 'unlocked');
  t.equal((await s.call(bob, 'GET', `${V3}/account/whoami`)).status, 200, 'the same token works again');
  // Logout stays possible while locked.
  const second = await s.login('bob');
  await s.call(root, 'PUT', `${A}/lock/${enc(bob.user_id)}`, { locked: true });
  t.equal((await s.call(second, 'POST', `${V3}/logout`, {})).status, 200, 'a locked user can log out');
  await s.call(root, 'PUT', `${A}/lock/${enc(bob.user_id)}`, { locked: false });
});

t.test('suspend: reading, leaving and redacting one’s own events go on; joining, inviting, sending, profile changes do not', async (t) => {
  t.same((await s.call(root, 'PUT', `${A}/suspend/${enc(mallory.user_id)}`, { suspended: true })).body, { suspended: true });
  const refused = async (what: string, p: Promise<{ status: number; body: any }>) => {
    const r = await p;
    t.same([r.status, r.body.errcode], [403, 'M_USER_SUSPENDED'], what);
  };
  await refused('sending a message', s.call(mallory, 'PUT', `${V3}/rooms/${enc(room)}/send/m.room.message/s1`, { msgtype: 'm.text', body: 'spam' }));
  await refused('changing room state', s.call(mallory, 'PUT', `${V3}/rooms/${enc(room)}/state/m.room.topic`, { topic: 'spam' }));
  await refused("redacting someone else's event", s.call(mallory, 'PUT', `${V3}/rooms/${enc(room)}/redact/${enc(theirs)}/r1`, {}));
  await refused('inviting', s.call(mallory, 'POST', `${V3}/rooms/${enc(room)}/invite`, { user_id: bob.user_id }));
  await refused('creating a room', s.call(mallory, 'POST', `${V3}/createRoom`, {}));
  const other = await ops.create(alice, { preset: 'public_chat' });
  await refused('joining a room', s.call(mallory, 'POST', `${V3}/rooms/${enc(other)}/join`, {}));
  await refused('changing the display name', s.call(mallory, 'PUT', `${V3}/profile/${enc(mallory.user_id)}/displayname`, { displayname: 'Admin' }));

  t.equal((await s.call(mallory, 'GET', `${V3}/rooms/${enc(room)}/messages?dir=b`)).status, 200, 'reading goes on');
  t.equal((await s.call(mallory, 'PUT', `${V3}/rooms/${enc(room)}/redact/${enc(own)}/r2`, {})).status, 200, 'redacting one’s own event');
  t.equal((await s.call(mallory, 'POST', `${V3}/rooms/${enc(room)}/leave`, {})).status, 200, 'leaving');
  t.equal((await s.call(root, 'PUT', `${A}/suspend/${enc(mallory.user_id)}`, { suspended: false })).status, 200, 'lifted');
  t.equal((await s.call(mallory, 'POST', `${V3}/rooms/${enc(room)}/join`, {})).status, 200, 'and she can join again');
});

t.test('who may do it, to whom', async (t) => {
  const no = async (what: string, p: Promise<{ status: number; body: any }>, status: number, errcode: string) => {
    const r = await p;
    t.same([r.status, r.body.errcode], [status, errcode], what);
  };
  await no('a user who is not an admin', s.call(alice, 'PUT', `${A}/lock/${enc(bob.user_id)}`, { locked: true }), 403, 'M_FORBIDDEN');
  await no('an admin locking themselves', s.call(root, 'PUT', `${A}/lock/${enc(root.user_id)}`, { locked: true }), 403, 'M_FORBIDDEN');
  await ua.setUserAdmin({ user_id: alice.user_id, admin: true });
  await no('another admin', s.call(root, 'PUT', `${A}/suspend/${enc(alice.user_id)}`, { suspended: true }), 403, 'M_FORBIDDEN');
  await ua.setUserAdmin({ user_id: alice.user_id, admin: false });
  await no('a user of another server', s.call(root, 'GET', `${A}/lock/${enc('@bob:elsewhere.example')}`), 400, 'M_INVALID_PARAM');
  await no('an unknown user', s.call(root, 'GET', `${A}/suspend/${enc(`@nobody:${s.serverName}`)}`), 404, 'M_NOT_FOUND');
  await no('a body without the flag', s.call(root, 'PUT', `${A}/lock/${enc(bob.user_id)}`, { locked: 'yes' }), 400, 'M_BAD_JSON');
  t.same((await s.call(root, 'GET', `${A}/lock/${enc(bob.user_id)}`)).body, { locked: false }, 'no refusal changed anything');
  t.same((await s.call(root, 'GET', `${A}/suspend/${enc(alice.user_id)}`)).body, { suspended: false });
});
