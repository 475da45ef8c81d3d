/**
 * Push rules on events the roomserver made, with the rules the UserAPI
 * keeps (defaults and edits through its API), the context built from the
 * room's current state as the SyncAPI would: joined member count, the
 * recipient's display name, the room's powers.
 */
import t from 'tap';
import { roomserverApi, type RoomEvent } from '../../../src/components/roomserver/api.js';
import { userApi } from '../../../src/components/userapi/api.js';
import { roomPowers } from '../../../src/core/auth/power-levels.js';
import { evaluatePushRules, type PushContext } from '../../../src/core/push/index.js';
import { roomVersion } from '../../../src/core/room-versions.js';
import { startComponents } from '../../helpers/components.js';

const h = await startComponents(['roomserver', 'serverkeyapi', 'userapi']);
t.teardown(() => h.stop());
const rs = h.apis.get(roomserverApi);
const ua = h.apis.get(userApi);
const user = async (name: string, displayname: string) => (await ua.createAccount({ username: name, password: 'pw-pw-pw-pw', displayname })).user_id;
const alice = await user('alice', 'Alice');
const bob = await user('bob', 'Bob Builder');
const carol = await user('carol', 'Carol');

/** What the SyncAPI knows when it evaluates an event for `recipient`. */
async function contextFor(roomId: string, recipient: string): Promise<PushContext> {
  const { events } = await rs.queryCurrentState({ room_id: roomId, types: ['m.room.create', 'm.room.power_levels', 'm.room.member'] });
  const create = events.find((e) => e.pdu.type === 'm.room.create');
  const pl = events.find((e) => e.pdu.type === 'm.room.power_levels');
  const members = events.filter((e) => e.pdu.type === 'm.room.member');
  const mine = members.find((e) => e.pdu.state_key === recipient);
  const name = mine?.pdu.content.displayname;
  return {
    user_id: recipient,
    room_id: roomId,
    member_count: members.filter((e) => e.pdu.content.membership === 'join').length,
    ...(typeof name === 'string' ? { display_name: name } : {}),
    powers: roomPowers(create?.pdu, pl?.pdu, roomVersion(create!.room_version)!),
  };
}

async function send(roomId: string, sender: string, content: Record<string, unknown>): Promise<RoomEvent> {
  const { event_id } = await rs.sendEvent({ room_id: roomId, sender, type: 'm.room.message', content: content as never });
  return (await rs.queryEvents({ event_ids: [event_id] })).events[0]!;
}

async function evaluate(event: RoomEvent, recipient: string) {
  const rules = await ua.queryPushRules({ user_id: recipient });
  const r = evaluatePushRules(rules, event.pdu as never, await contextFor(event.room_id, recipient));
  return `${r.rule ?? 'none'} notify=${r.notify} highlight=${r.highlight}`;
}

t.test('a one-to-one room, then a group room', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, preset: 'public_chat', creator_profile: { displayname: 'Alice' } });
  await rs.performJoin({ room_id, user_id: bob, content: { displayname: 'Bob Builder' } });
  const hello = await send(room_id, alice, { msgtype: 'm.text', body: 'hello bob', 'm.mentions': {} });
  t.equal(await evaluate(hello, bob), 'underride/.m.rule.room_one_to_one notify=true highlight=false', 'two members');
  t.equal(await evaluate(hello, alice), 'none notify=false highlight=false', 'not for its sender');

  await rs.performJoin({ room_id, user_id: carol });
  const group = await send(room_id, alice, { msgtype: 'm.text', body: 'hello all' });
  t.equal(await evaluate(group, bob), 'underride/.m.rule.message notify=true highlight=false', 'three members');

  const mention = await send(room_id, carol, { msgtype: 'm.text', body: 'Bob Builder: look', 'm.mentions': { user_ids: [bob] } });
  t.equal(await evaluate(mention, bob), 'override/.m.rule.is_user_mention notify=true highlight=true');
  t.equal(await evaluate(mention, alice), 'underride/.m.rule.message notify=true highlight=false', 'not a mention of alice');

  const roomByCarol = await send(room_id, carol, { msgtype: 'm.text', body: '@room', 'm.mentions': { room: true } });
  t.equal(await evaluate(roomByCarol, bob), 'underride/.m.rule.message notify=true highlight=false', 'carol (power 0) may not notify the room');
  const roomByAlice = await send(room_id, alice, { msgtype: 'm.text', body: '@room', 'm.mentions': { room: true } });
  t.equal(await evaluate(roomByAlice, bob), 'override/.m.rule.is_room_mention notify=true highlight=true', 'alice (the creator) may');

  const { event_id: inviteId } = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.member', state_key: `@dave:${h.serverName}`, content: { membership: 'invite' } });
  const [inv] = (await rs.queryEvents({ event_ids: [inviteId] })).events;
  t.equal(await evaluate(inv!, bob), 'override/.m.rule.member_event notify=false highlight=false', 'an invite of someone else');

  await ua.putPushRule({ user_id: bob, kind: 'room', rule_id: room_id, rule: { actions: [] } });
  const muted = await send(room_id, alice, { msgtype: 'm.text', body: 'anyone?' });
  t.equal(await evaluate(muted, bob), `room/${room_id} notify=false highlight=false`, 'bob muted the room');
  t.equal(await evaluate(mention, bob), 'override/.m.rule.is_user_mention notify=true highlight=true', 'mentions still get through');
  await ua.setPushRuleEnabled({ user_id: bob, kind: 'override', rule_id: '.m.rule.master', enabled: true });
  t.equal(await evaluate(mention, bob), 'override/.m.rule.master notify=false highlight=false', 'until the master rule is on');
  await ua.setPushRuleEnabled({ user_id: bob, kind: 'override', rule_id: '.m.rule.master', enabled: false });
  await ua.putPushRule({ user_id: bob, kind: 'override', rule_id: 'my-name', rule: { conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] } });
  t.equal(await evaluate(muted, bob), `room/${room_id} notify=false highlight=false`);
  const named = await send(room_id, carol, { msgtype: 'm.text', body: 'ask bob builder' });
  t.equal(await evaluate(named, bob), 'override/my-name notify=true highlight=true', 'the display name from his member event');
});
