/**
 * Issue 5's journey with the SDK behind Element (matrix-js-sdk) against the
 * built server, in monolith and split: two clients reach the PREPARED sync
 * state, one invites the other, they exchange messages in order, see each
 * other typing and reading, watch unread counts change, and paginate the
 * history back to the room's creation.
 */
import t, { type Test } from 'tap';
import { ClientEvent, EventType, type MatrixClient, type MatrixEvent, NotificationCountType, type Room, RoomEvent, RoomMemberEvent, SyncState } from 'matrix-js-sdk';
import { register } from '../helpers/sdk.js';
import { initServer, removeDataDir, startServer } from '../helpers/server.js';
import { exitSoonAfter } from '../helpers/sdk-timers.js';

/** Resolves once `check` holds, re-checking whenever the client emits one of `events`. */
function when(client: MatrixClient, events: string[], check: () => boolean): Promise<void> {
  const emitter = client as unknown as { on(e: string, f: () => void): void; off(e: string, f: () => void): void };
  return new Promise((resolve) => {
    const test = () => {
      if (!check()) return;
      for (const e of events) emitter.off(e, test);
      resolve();
    };
    for (const e of events) emitter.on(e, test);
    test();
  });
}

function prepared(client: MatrixClient): Promise<void> {
  return when(client, [ClientEvent.Sync], () => client.getSyncState() === SyncState.Prepared || client.getSyncState() === SyncState.Syncing);
}

exitSoonAfter(t);

const messages = (room: Room | null) =>
  (room?.getLiveTimeline().getEvents() ?? []).filter((e: MatrixEvent) => e.getType() === EventType.RoomMessage).map((e) => e.getContent().body as string);

async function journey(t: Test, mode: 'monolith' | 'split') {
  const { dataDir, ports } = await initServer({ mode, tls: 'off', extra: ['--registration', 'open'] });
  const server = await startServer(dataDir, { clientPort: ports.client });
  const baseUrl = `http://127.0.0.1:${ports.client}`;
  const alice = await register(baseUrl, 'alice', 'alice password 1');
  const bob = await register(baseUrl, 'bob', 'bob password 22');
  t.teardown(async () => {
    alice.stopClient();
    bob.stopClient();
    await server.stop();
    removeDataDir(dataDir);
  });
  const aliceId = alice.getUserId()!;
  const bobId = bob.getUserId()!;

  await alice.startClient({ initialSyncLimit: 10 });
  await bob.startClient({ initialSyncLimit: 10 });
  await Promise.all([prepared(alice), prepared(bob)]);
  t.pass('both clients reached PREPARED');

  const { room_id: roomId } = await alice.createRoom({ name: 'Family', invite: [bobId] });
  await when(bob, [RoomEvent.MyMembership, ClientEvent.Room], () => bob.getRoom(roomId)?.getMyMembership() === 'invite');
  t.equal(bob.getRoom(roomId)?.name, 'Family', "bob's invite carries the room's name");
  await bob.joinRoom(roomId);
  await when(alice, [RoomMemberEvent.Membership], () => alice.getRoom(roomId)?.getMember(bobId)?.membership === 'join');
  t.pass('alice sees bob join');

  // Messages in turn: each waits for the other's before answering.
  const expected: string[] = [];
  for (let i = 0; i < 6; i++) {
    const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
    const body = `message ${i}`;
    expected.push(body);
    await from.sendTextMessage(roomId, body);
    await when(to, [RoomEvent.Timeline], () => messages(to.getRoom(roomId)).includes(body));
  }
  t.same(messages(alice.getRoom(roomId)), expected, "alice's timeline: every message, in order");
  t.same(messages(bob.getRoom(roomId)), expected, "bob's timeline: the same");

  // Typing.
  await alice.sendTyping(roomId, true, 30_000);
  await when(bob, [RoomMemberEvent.Typing], () => bob.getRoom(roomId)?.getMember(aliceId)?.typing === true);
  t.pass('bob sees alice typing');
  await alice.sendTyping(roomId, false, 0);
  await when(bob, [RoomMemberEvent.Typing], () => bob.getRoom(roomId)?.getMember(aliceId)?.typing === false);
  t.pass('and stop');

  // Unread counts: alice writes, bob's count goes up; bob reads, it goes to zero; alice sees the receipt.
  const bobRoom = () => bob.getRoom(roomId)!;
  const unread = () => bobRoom().getUnreadNotificationCount(NotificationCountType.Total);
  // The SDK applies the counts of a sync answer after its events: re-check after each answer.
  const counted = [RoomEvent.UnreadNotifications, RoomEvent.Timeline, ClientEvent.Sync];
  await when(bob, counted, () => unread() === 0);
  await alice.sendTextMessage(roomId, 'are you there?');
  await alice.sendTextMessage(roomId, `@bob are you there?`);
  await when(bob, counted, () => unread() === 2);
  t.equal(unread(), 2, "bob's unread count rose to 2");
  const last = bobRoom().getLiveTimeline().getEvents().at(-1)!;
  await bob.sendReadReceipt(last);
  await when(bob, counted, () => unread() === 0);
  t.equal(unread(), 0, 'read: back to 0');
  await when(alice, [RoomEvent.Receipt], () => alice.getRoom(roomId)!.getUsersReadUpTo(alice.getRoom(roomId)!.findEventById(last.getId()!)!).includes(bobId));
  t.pass("alice sees bob's read receipt");

  // History: a fresh look back from bob's side, page by page, to the creation of the room.
  const room = bobRoom();
  for (let i = 0; i < 50 && room.getLiveTimeline().getPaginationToken('b' as never) !== null; i++) {
    await bob.scrollback(room, 5);
    if (room.getLiveTimeline().getEvents()[0]?.getType() === EventType.RoomCreate) break;
  }
  const all = room.getLiveTimeline().getEvents();
  t.equal(all[0]?.getType(), EventType.RoomCreate, 'paginated back to the creation of the room');
  t.same(
    all.filter((e) => e.getType() === EventType.RoomMessage).map((e) => e.getContent().body),
    [...expected, 'are you there?', '@bob are you there?'],
    'the whole conversation, once and in order',
  );
  const ids = all.map((e) => e.getId());
  t.equal(new Set(ids).size, ids.length, 'no event twice');
}

t.test('monolith', (t) => journey(t, 'monolith'));
t.test('split', (t) => journey(t, 'split'));
