/**
 * The EDU endpoints with matrix-js-sdk (the SDK behind Element) against the
 * built server, in monolith and split mode (where the ClientAPI reaches the
 * EDUServer, and the EDUServer the roomserver and UserAPI, over their
 * sockets): typing, receipts as the SDK sends them, read markers into
 * account data, presence, send-to-device; refusals by status and errcode.
 * What clients then see in /sync is the SyncAPI's part.
 */
import t, { type Test } from 'tap';
import { Method, MatrixEvent, ReceiptType } from 'matrix-js-sdk';
import { refused, register } from '../helpers/sdk.js';
import { initServer, removeDataDir, startServer } from '../helpers/server.js';

async function edus(t: Test, mode: 'monolith' | 'split') {
  const { dataDir, ports } = await initServer({ mode, extra: ['--registration', 'open'] });
  const server = await startServer(dataDir, { clientPort: ports.client });
  t.teardown(async () => {
    await server.stop();
    removeDataDir(dataDir);
  });
  const baseUrl = `http://127.0.0.1:${ports.client}`;
  const alice = await register(baseUrl, 'alice', 'correct horse battery');
  const bob = await register(baseUrl, 'bob', 'staple battery horse');
  const carol = await register(baseUrl, 'carol', 'horse staple correct');
  const aliceId = alice.getUserId()!;
  const bobId = bob.getUserId()!;
  const { room_id: roomId } = await alice.createRoom({ name: 'EDUs' });
  await alice.invite(roomId, bobId);
  await bob.joinRoom(roomId);
  const { event_id: eventId } = await alice.sendTextMessage(roomId, 'read me');
  const event = new MatrixEvent({ event_id: eventId, room_id: roomId, type: 'm.room.message', sender: aliceId, content: { body: 'read me' } });

  t.same(await alice.sendTyping(roomId, true, 20_000), {}, 'typing');
  t.same(await alice.sendTyping(roomId, false, 0), {}, 'stopped typing');
  await refused(t, carol.sendTyping(roomId, true, 20_000), 403, 'M_FORBIDDEN', 'typing in a room one is not in');

  t.same(await bob.sendReceipt(event, ReceiptType.Read), {}, 'a read receipt');
  t.same(await bob.sendReceipt(event, ReceiptType.ReadPrivate, { thread_id: 'main' }), {}, 'a private, threaded receipt');
  await refused(t, carol.sendReceipt(event, ReceiptType.Read), 403, 'M_FORBIDDEN', 'a receipt in a room one is not in');

  t.same(await bob.setRoomReadMarkers(roomId, eventId, event, event), {}, 'read markers');
  const fullyReadPath = `/user/${encodeURIComponent(bobId)}/rooms/${encodeURIComponent(roomId)}/account_data/m.fully_read`;
  const marker = await bob.http.authedRequest<{ event_id: string }>(Method.Get, fullyReadPath);
  t.same(marker, { event_id: eventId }, 'm.fully_read is in room account data');
  await refused(t, bob.http.authedRequest(Method.Put, fullyReadPath, undefined, { event_id: eventId }), 405, 'M_BAD_JSON', 'clients cannot set m.fully_read directly');

  await alice.setPresence({ presence: 'online', status_msg: 'here' });
  t.match(await bob.getPresence(aliceId), { presence: 'online', status_msg: 'here', currently_active: true }, 'presence, seen by a room member');
  await refused(t, carol.getPresence(aliceId), 403, 'M_FORBIDDEN', 'presence of someone sharing no room');

  const messages = new Map([[bobId, new Map([['*', { hello: 'bob' }]])]]);
  t.same(await alice.sendToDevice('org.example.hello', messages, 'txn-1'), {}, 'send-to-device');
  t.same(await alice.sendToDevice('org.example.hello', messages, 'txn-1'), {}, 'the same transaction again');
}

t.test('monolith', (t) => edus(t, 'monolith'));
t.test('split', (t) => edus(t, 'split'));
