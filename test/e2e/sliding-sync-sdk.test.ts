/**
 * Simplified sliding sync (MSC4186) with matrix-js-sdk's own SlidingSync
 * loop against the built server (monolith): two users, each with a list
 * over their rooms. A list sees a new room (an invite, then the joined
 * room), messages arrive once each and in order, and the room list
 * reorders (bump_stamp) when an older room gets a message.
 */
import t from 'tap';
import type { MatrixClient } from 'matrix-js-sdk';
import { SlidingSync, SlidingSyncEvent, SlidingSyncState } from 'matrix-js-sdk/lib/sliding-sync.js';
import { register } from '../helpers/sdk.js';
import { initServer, removeDataDir, requireBuild, startServer } from '../helpers/server.js';
import { exitSoonAfter } from '../helpers/sdk-timers.js';

requireBuild();

exitSoonAfter(t);

/** What one user's SlidingSync loop has seen. */
class Seen {
  readonly rooms = new Map<string, { timeline: any[]; bump: number; membership?: string; name?: string; inviteState?: any[] }>();
  readonly errors: unknown[] = [];
  private readonly waiters = new Set<() => void>();
  readonly ss: SlidingSync;

  constructor(client: MatrixClient, baseUrl: string) {
    const lists = new Map([['all', { ranges: [[0, 19]], timeline_limit: 10, required_state: [['m.room.name', ''], ['m.room.member', '$ME']] }]]);
    this.ss = new SlidingSync(baseUrl, lists as any, { timeline_limit: 10, required_state: [] } as any, client, 10_000);
    this.ss.on(SlidingSyncEvent.RoomData, async (roomId: string, data: any) => {
      let r = this.rooms.get(roomId);
      if (!r || data.initial) this.rooms.set(roomId, (r = { timeline: [], bump: 0 }));
      // An initial answer replaces what the client had; anything else adds to it (a repeat would show twice).
      r.timeline.push(...(data.timeline ?? []));
      if (data.bump_stamp !== undefined) r.bump = data.bump_stamp;
      if (data.membership !== undefined) r.membership = data.membership;
      if (data.name !== undefined) r.name = data.name;
      if (data.invite_state !== undefined) r.inviteState = data.invite_state;
    });
    this.ss.on(SlidingSyncEvent.Lifecycle, (state: SlidingSyncState, _resp: unknown, err?: unknown) => {
      if (err) this.errors.push(err);
      if (state === SlidingSyncState.Complete) for (const w of [...this.waiters]) w();
    });
    void this.ss.start();
  }

  /** Resolves once `check` holds after a response was processed. */
  when(check: () => boolean, ms = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(test);
        reject(new Error('the condition never held'));
      }, ms);
      const test = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(test);
        resolve();
      };
      this.waiters.add(test);
      test();
    });
  }

  /** Room ids, most recent activity first. */
  order(): string[] {
    return [...this.rooms.entries()].sort((a, b) => b[1].bump - a[1].bump).map(([id]) => id);
  }

  texts(roomId: string): string[] {
    return (this.rooms.get(roomId)?.timeline ?? []).filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
  }
}

const { dataDir, ports } = await initServer({ mode: 'monolith', tls: 'off', extra: ['--registration', 'open'] });
const server = await startServer(dataDir, { clientPort: ports.client });
const baseUrl = `http://127.0.0.1:${ports.client}`;
const alice = await register(baseUrl, 'alice', 'alice password 1');
const bob = await register(baseUrl, 'bob', 'bob password 22');
const seenA = new Seen(alice, baseUrl);
const seenB = new Seen(bob, baseUrl);
t.teardown(async () => {
  seenA.ss.stop();
  seenB.ss.stop();
  await server.stop();
  removeDataDir(dataDir);
});

t.test('a list sees a new room: the invite, then the joined room', async (t) => {
  const { room_id: roomId } = await alice.createRoom({ name: 'Family', invite: [bob.getUserId()!] });
  await seenA.when(() => seenA.rooms.get(roomId)?.membership === 'join');
  t.equal(seenA.rooms.get(roomId)!.name, 'Family', "alice's list has her new room, with its name");
  await seenB.when(() => seenB.rooms.get(roomId)?.membership === 'invite');
  t.ok(seenB.rooms.get(roomId)!.inviteState!.some((e) => e.type === 'm.room.name' && e.content.name === 'Family'), "bob's list has the invite, with the room's name");
  await bob.joinRoom(roomId);
  await seenB.when(() => seenB.rooms.get(roomId)?.membership === 'join');
  t.equal(seenB.rooms.get(roomId)!.name, 'Family', 'and then the joined room');
});

t.test('messages arrive once each, in order', async (t) => {
  const roomId = [...seenB.rooms.keys()][0]!;
  const expected: string[] = [];
  for (let i = 0; i < 6; i++) {
    const [from, to] = i % 2 === 0 ? [alice, seenB] : [bob, seenA];
    const body = `message ${i}`;
    await from.sendMessage(roomId, { msgtype: 'm.text', body } as any);
    expected.push(body);
    // Each waits for the other's answer before sending the next.
    await to.when(() => to.texts(roomId).includes(body));
  }
  await seenA.when(() => seenA.texts(roomId).length >= 6);
  await seenB.when(() => seenB.texts(roomId).length >= 6);
  t.same(seenA.texts(roomId), expected, "alice's timeline: all six, in order, none twice");
  t.same(seenB.texts(roomId), expected, "bob's timeline: all six, in order, none twice");
});

t.test('the room list reorders on a new message', async (t) => {
  const first = [...seenB.rooms.keys()][0]!;
  const { room_id: second } = await alice.createRoom({ name: 'Second', invite: [bob.getUserId()!] });
  await bob.joinRoom(second);
  await alice.sendMessage(second, { msgtype: 'm.text', body: 'in second' } as any);
  await seenB.when(() => seenB.texts(second).includes('in second'));
  t.same(seenB.order(), [second, first], 'the room with the latest message first');
  await alice.sendMessage(first, { msgtype: 'm.text', body: 'back in first' } as any);
  await seenB.when(() => seenB.texts(first).includes('back in first'));
  t.same(seenB.order(), [first, second], 'a message in the older room moves it to the top');
  t.same(seenB.errors, [], 'no request failed');
});
