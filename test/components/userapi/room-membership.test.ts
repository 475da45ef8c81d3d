/**
 * User changes reach rooms through the user_changes log: a new display name
 * or avatar becomes a join event in each of the user's rooms, a
 * deactivated account leaves its rooms and declines its invites; a restart
 * sends nothing twice.
 */
import t from 'tap';
import { roomserverApi } from '../../../src/components/roomserver/api.js';
import { userApi } from '../../../src/components/userapi/api.js';
import { startComponents } from '../../helpers/components.js';
import { waitFor } from '../../helpers/server.js';

const SERVER = 'test.neurite.local';
let h = await startComponents(['userapi', 'roomserver', 'serverkeyapi'], { serverName: SERVER });
t.teardown(() => h.stop());
let ua = h.apis.get(userApi);
let rs = h.apis.get(roomserverApi);
const alice = `@alice:${SERVER}`;
const bob = `@bob:${SERVER}`;

await ua.createAccount({ username: 'alice', password: 'pw' });
await ua.createAccount({ username: 'bob', password: 'pw' });

async function member(roomId: string, userId: string) {
  const { events } = await rs.queryCurrentState({ room_id: roomId, keys: [['m.room.member', userId]] });
  return events[0]?.pdu.content as Record<string, unknown> | undefined;
}

t.test('a profile change updates the join event in every joined room, and nowhere else', async (t) => {
  const r1 = (await rs.createRoom({ creator: alice, preset: 'public_chat', creator_profile: { displayname: 'alice' } })).room_id;
  const r2 = (await rs.createRoom({ creator: alice, preset: 'private_chat' })).room_id;
  const other = (await rs.createRoom({ creator: bob, preset: 'private_chat', invite: [alice] })).room_id;
  await ua.setProfileField({ user_id: alice, field: 'displayname', value: 'Alice Liddell' });
  await ua.setProfileField({ user_id: alice, field: 'avatar_url', value: 'mxc://test.neurite.local/rabbit' });
  for (const room of [r1, r2]) {
    const content = await waitFor(`the new profile in ${room}`, async () => {
      const c = await member(room, alice);
      return c?.avatar_url === 'mxc://test.neurite.local/rabbit' ? c : undefined;
    });
    t.same(content, { membership: 'join', displayname: 'Alice Liddell', avatar_url: 'mxc://test.neurite.local/rabbit' });
  }
  t.same(await member(other, alice), { membership: 'invite' }, 'an invite is not turned into a join');
  await ua.setProfileField({ user_id: alice, field: 'avatar_url' });
  await waitFor('the avatar removed', async () => ((await member(r1, alice))?.avatar_url === undefined ? true : undefined));
  t.same(await member(r1, alice), { membership: 'join', displayname: 'Alice Liddell' });
});

t.test('after a restart the log is not applied twice', async (t) => {
  const room = (await rs.createRoom({ creator: bob, preset: 'private_chat' })).room_id;
  await ua.setProfileField({ user_id: bob, field: 'displayname', value: 'Bob One' });
  await waitFor('the name in the room', async () => ((await member(room, bob))?.displayname === 'Bob One' ? true : undefined));
  const before = (await rs.queryRoom({ room_id: room }))!.depth;
  h = await h.restart();
  ua = h.apis.get(userApi);
  rs = h.apis.get(roomserverApi);
  // A change after the restart, so that the consumer has surely run again over its position.
  await ua.setProfileField({ user_id: bob, field: 'displayname', value: 'Bob Two' });
  await waitFor('the second name', async () => ((await member(room, bob))?.displayname === 'Bob Two' ? true : undefined));
  t.equal((await rs.queryRoom({ room_id: room }))!.depth, before + 1, 'exactly one more event: the first change was not sent again');
});

t.test('a deactivated account leaves its rooms and declines its invites', async (t) => {
  await ua.createAccount({ username: 'carol', password: 'pw' });
  const carol = `@carol:${SERVER}`;
  const joined = (await rs.createRoom({ creator: carol, preset: 'public_chat' })).room_id;
  const invited = (await rs.createRoom({ creator: bob, preset: 'private_chat', invite: [carol] })).room_id;
  await ua.deactivateAccount({ user_id: carol });
  for (const room of [joined, invited]) {
    await waitFor(`carol out of ${room}`, async () => ((await rs.queryMembership({ room_id: room, user_id: carol })).membership === 'leave' ? true : undefined));
    t.pass(`left ${room}`);
  }
});
