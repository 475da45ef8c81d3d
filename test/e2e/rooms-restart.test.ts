/**
 * What a client was told stays true after a clean restart and after a
 * SIGKILL of the whole server (supervisor and every child at once): rooms,
 * their state, aliases, the directory, access tokens, and transaction ids
 * (a retried send returns the first event, not a second one).
 */
import t, { type Test } from 'tap';
import { createClient, type MatrixClient, Visibility } from 'matrix-js-sdk';
import { childrenOf, isAlive, mappedFiles } from '../helpers/proc.js';
import { initServer, removeDataDir, startServer, waitFor, type RunningServer } from '../helpers/server.js';
import { register } from '../helpers/sdk.js';

const send = (c: MatrixClient, roomId: string, body: string, txn: string) =>
  c.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body } as never, txn);

/** SIGKILL to the supervisor and all its children in the same instant: nothing gets to shut down. */
async function killEverything(server: RunningServer): Promise<void> {
  const pids = [server.proc.pid!, ...childrenOf(server.proc.pid!)];
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  await waitFor('every process to be gone', async () => (pids.some(isAlive) ? undefined : true));
}

async function survives(t: Test, mode: 'monolith' | 'split') {
  const { dataDir, ports, serverName } = await initServer({ mode, extra: ['--registration', 'open'] });
  let server = await startServer(dataDir, { clientPort: ports.client });
  t.teardown(async () => {
    // A clean stop: after a SIGKILL of the supervisor alone its children would still be closing their databases in dataDir.
    await server.stop();
    removeDataDir(dataDir);
  });
  const baseUrl = `http://127.0.0.1:${ports.client}`;
  const alice = await register(baseUrl, 'alice', 'a long enough password');
  const bob = await register(baseUrl, 'bob', 'another long password');
  const { room_id: roomId } = await alice.createRoom({ room_alias_name: 'kept', name: 'Kept', visibility: Visibility.Public, invite: [bob.getUserId()!] });
  await bob.joinRoom(`#kept:${serverName}`);
  const first = await send(alice, roomId, 'before the restart', 'txn-1');
  await alice.sendStateEvent(roomId, 'm.room.topic' as never, { topic: 'kept topic' } as never, '');

  const check = async (what: string, extra: () => Promise<void> = async () => {}) => {
    t.equal((await alice.getRoomIdForAlias(`#kept:${serverName}`)).room_id, roomId, `${what}: the alias`);
    t.equal((await send(alice, roomId, 'retried', 'txn-1')).event_id, first.event_id, `${what}: txn-1 still names the first event`);
    t.equal((await bob.getStateEvent(roomId, 'm.room.topic', '')).topic, 'kept topic', `${what}: state (and bob's token)`);
    t.equal((await bob.fetchRoomEvent(roomId, first.event_id)).content?.body, 'before the restart', `${what}: the event`);
    t.ok((await alice.publicRooms({})).chunk.some((r) => r.room_id === roomId), `${what}: the directory`);
    t.same((await bob.getJoinedRooms()).joined_rooms, [roomId], `${what}: bob's rooms`);
    await extra();
  };

  const stopped = await server.stop();
  t.equal(stopped.code, 0, 'clean stop');
  server = await startServer(dataDir, { clientPort: ports.client });
  await check('after a restart');
  // What the reads above found had been written out to tables when the databases reopened; LevelDB read them
  // with pread into its block cache, not through mappings that stay (src/platform/storage/table-reads.ts).
  for (const pid of childrenOf(server.proc.pid!)) t.same(mappedFiles(pid).filter((f) => f.endsWith('.ldb')), [], `process ${pid} maps no LevelDB table`);

  // Acknowledged just before the kill: an alias, a directory entry, a transaction.
  const second = await send(bob, roomId, 'just before the kill', 'txn-2');
  await alice.createAlias(`#second:${serverName}`, roomId);
  const { room_id: otherRoom } = await alice.createRoom({ room_alias_name: 'last', visibility: Visibility.Public });
  await killEverything(server);
  server = await startServer(dataDir, { clientPort: ports.client });
  await check('after SIGKILL', async () => {
    t.equal((await send(bob, roomId, 'again', 'txn-2')).event_id, second.event_id, 'after SIGKILL: txn-2 still names its event');
    t.equal((await bob.getRoomIdForAlias(`#second:${serverName}`)).room_id, roomId, 'after SIGKILL: the alias made just before');
    t.equal((await bob.getRoomIdForAlias(`#last:${serverName}`)).room_id, otherRoom, 'after SIGKILL: the room made just before, with its alias');
    t.ok((await alice.publicRooms({})).chunk.some((r) => r.room_id === otherRoom), 'after SIGKILL: and its directory entry');
  });
  const anon = createClient({ baseUrl });
  t.equal((await anon.getRoomIdForAlias(`#kept:${serverName}`)).room_id, roomId, 'aliases resolve without a token');
}

t.test('split', (t) => survives(t, 'split'));
t.test('monolith', (t) => survives(t, 'monolith'));
