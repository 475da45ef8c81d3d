/**
 * End-to-end encryption with matrix-js-sdk and its Rust crypto (the crypto
 * behind Element) against the built server:
 * - two users in an encrypted room read each other's messages; a third
 *   device of one of them gets the keys of new messages; the server stores
 *   m.room.encrypted events only, and none of the plaintext anywhere;
 * - a device whose one-time keys are used up is reached through its
 *   fallback key (and one with one-time keys through one of those);
 * in monolith and split mode. Cross-signing and key backup:
 * e2ee-backup-sdk.test.ts.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ClientEvent, type MatrixClient } from 'matrix-js-sdk';
import { openComponentDatabase } from '../../src/platform/storage/index.js';
import { prefixRange } from '../../src/platform/storage/keys.js';
import { cryptoDevice, decryptedBody, e2eeServer, ENCRYPTION, joined, knowsDevice, raw, RecordingFetch, until } from '../helpers/crypto-sdk.js';

const PASSWORDS: Record<string, string> = { alice: 'alice password 1', bob: 'bob password 22', dave: 'dave password 4444' };

/** The keys a device got from /keys/claim, for one target device. */
function claimedFor(fetch: RecordingFetch, userId: string, deviceId: string): { fallback?: boolean }[] {
  return fetch
    .of(/\/keys\/claim$/)
    .flatMap((e) => Object.values<any>((e.response as any)?.one_time_keys?.[userId]?.[deviceId] ?? {}))
    .map((k) => ({ ...(k.fallback === true ? { fallback: true } : {}) }));
}

/** Every value of every component database (after the server stopped), as JSON text. */
async function storedValues(dataDir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const component of readdirSync(join(dataDir, 'db'))) {
    const db = await openComponentDatabase(dataDir, component);
    const values: string[] = [];
    for await (const [, v] of db.iterate<unknown>()) values.push(JSON.stringify(v));
    out.set(component, values);
    await db.close();
  }
  return out;
}

async function encryptedChat(t: Test, mode: 'monolith' | 'split') {
  const clients: MatrixClient[] = [];
  const { baseUrl, dataDir, stop } = await e2eeServer(t, mode, PASSWORDS, clients);
  const device = async (user: string, opts: Parameters<typeof cryptoDevice>[3] = {}) => {
    const c = await cryptoDevice(baseUrl, user, PASSWORDS[user]!, opts);
    clients.push(c);
    return c;
  };
  const aliceFetch = new RecordingFetch();
  const alice = await device('alice', { fetch: aliceFetch });
  const bob = await device('bob');
  const aliceId = alice.getUserId()!;
  const bobId = bob.getUserId()!;

  const { room_id: roomId } = await alice.createRoom({ name: 'secret', invite: [bobId], initial_state: [ENCRYPTION] });
  await until(bob, [ClientEvent.Room], () => (bob.getRoom(roomId) ? true : undefined));
  await bob.joinRoom(roomId);
  await joined(alice, roomId, bobId);
  const sent: string[] = [];

  const { event_id: e1 } = await alice.sendTextMessage(roomId, 'hello bob, this is secret');
  sent.push('hello bob, this is secret');
  t.equal(await decryptedBody(bob, roomId, e1), 'hello bob, this is secret', "bob decrypts alice's message");
  const { event_id: e2 } = await bob.sendTextMessage(roomId, 'hello alice, secret too');
  sent.push('hello alice, secret too');
  t.equal(await decryptedBody(alice, roomId, e2), 'hello alice, secret too', "alice decrypts bob's message");
  const toBob = claimedFor(aliceFetch, bobId, bob.getDeviceId()!);
  t.same(toBob, [{}], "alice reached bob's device through one of its one-time keys");

  await t.test('a third device of bob gets the keys of new messages', async (t) => {
    const bob3 = await device('bob');
    await until(bob3, [ClientEvent.Room], () => (bob3.getRoom(roomId) ? true : undefined));
    // Alice hears of the new device through device_lists.changed once its keys are uploaded.
    await knowsDevice(alice, bobId, bob3.getDeviceId()!);
    const { event_id: e3 } = await alice.sendTextMessage(roomId, 'to every device of bob');
    sent.push('to every device of bob');
    t.equal(await decryptedBody(bob3, roomId, e3), 'to every device of bob', "bob's new device decrypts it");
    t.equal(await decryptedBody(bob, roomId, e3), 'to every device of bob', 'so does his first device');
  });

  await t.test('a device whose one-time keys are used up is reached through its fallback key', async (t) => {
    const daveFetch = new RecordingFetch();
    const dave = await device('dave', { fetch: daveFetch });
    const daveId = dave.getUserId()!;
    const daveDevice = dave.getDeviceId()!;
    // The SDK uploads a fallback key once /sync tells it the server keeps them.
    await until(dave, [ClientEvent.Sync], () => (daveFetch.of(/\/keys\/upload$/).some((e) => (e.body as any)?.fallback_keys) ? true : undefined));
    await alice.invite(roomId, daveId);
    await until(dave, [ClientEvent.Room], () => (dave.getRoom(roomId) ? true : undefined));
    await dave.joinRoom(roomId);
    await joined(alice, roomId, daveId);
    await knowsDevice(alice, daveId, daveDevice);

    // Dave's client may not replace its keys until alice has claimed one: its uploads wait.
    const release = daveFetch.hold(/\/keys\/upload$/);
    // Anyone may claim; alice's token is at hand (these raw claims bypass her SDK).
    const claimer = alice;
    let claims = 0;
    let key: { fallback?: boolean } | undefined;
    do {
      const r = await raw(claimer, 'POST', '/keys/claim', { one_time_keys: { [daveId]: { [daveDevice]: 'signed_curve25519' } } });
      key = Object.values<any>(r.body.one_time_keys?.[daveId]?.[daveDevice] ?? {})[0];
      claims++;
    } while (key && key.fallback !== true && claims <= 200);
    if (!t.equal(key?.fallback, true, `after ${claims - 1} one-time keys, claims get the fallback key`)) return release();
    const { event_id: e4 } = await alice.sendTextMessage(roomId, 'through the fallback key');
    sent.push('through the fallback key');
    t.same(claimedFor(aliceFetch, daveId, daveDevice), [{ fallback: true }], "alice's claim for dave's device returned the fallback key");
    t.equal(await decryptedBody(dave, roomId, e4), 'through the fallback key', 'dave decrypts the message');
    release();
  });

  await stop();
  const values = await storedValues(dataDir);
  const roomEvents = [...(await roomEventsOf(dataDir, roomId))];
  t.ok(roomEvents.filter((type) => type === 'm.room.encrypted').length >= sent.length, 'the messages are stored as m.room.encrypted');
  t.same(roomEvents.filter((type) => type === 'm.room.message'), [], 'no m.room.message is stored');
  t.ok(values.has('roomserver') && values.has('syncapi'), 'the databases are all read');
  for (const [component, vals] of values) {
    t.same(sent.filter((text) => vals.some((v) => v.includes(text))), [], `${component}'s database holds none of the plaintext`);
  }
}

/** The types of the room's timeline events as the roomserver stored them. */
async function roomEventsOf(dataDir: string, roomId: string): Promise<string[]> {
  const db = await openComponentDatabase(dataDir, 'roomserver');
  const types: string[] = [];
  for await (const [, ev] of db.iterate<{ room_id: string; pdu: { type: string; state_key?: string } }>(prefixRange('e'))) {
    if (ev.room_id === roomId && ev.pdu.state_key === undefined) types.push(ev.pdu.type);
  }
  await db.close();
  return types;
}

t.test('encrypted chat, monolith', (t) => encryptedChat(t, 'monolith'));
t.test('encrypted chat, split', (t) => encryptedChat(t, 'split'));
