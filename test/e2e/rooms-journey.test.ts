/**
 * The rooms journey of issue 4 with a real client library (matrix-js-sdk,
 * the SDK behind Element) against the built server, in monolith and split
 * mode: register through UIA, log in, set a profile, create a room with an
 * alias, invite a second user who joins by alias, send messages and state,
 * redact, kick, ban — and the refusals on the way, each leaving the room
 * as it was.
 */
import t, { type Test } from 'tap';
import { createClient, type MatrixClient, Preset, Visibility } from 'matrix-js-sdk';
import { refused, register } from '../helpers/sdk.js';
import { initServer, removeDataDir, startServer } from '../helpers/server.js';

async function stateSnapshot(client: MatrixClient, roomId: string): Promise<string[]> {
  const events = (await client.roomState(roomId)) as unknown as { event_id: string }[];
  return events.map((e) => e.event_id).sort();
}

async function journey(t: Test, mode: 'monolith' | 'split') {
  const { dataDir, ports, serverName } = await initServer({ mode, extra: ['--registration', 'open'] });
  const server = await startServer(dataDir, { clientPort: ports.client });
  t.teardown(async () => {
    await server.stop();
    removeDataDir(dataDir);
  });
  const baseUrl = `http://127.0.0.1:${ports.client}`;
  const alias = `#journey:${serverName}`;

  const alice = await register(baseUrl, 'alice', 'correct horse battery');
  const bob = await register(baseUrl, 'bob', 'staple battery horse');
  const carol = await register(baseUrl, 'carol', 'horse staple correct');
  const aliceId = alice.getUserId()!;
  const bobId = bob.getUserId()!;
  t.equal(aliceId, `@alice:${serverName}`);

  await alice.setDisplayName('Alice');
  await bob.setDisplayName('Bob');
  t.equal((await alice.getProfileInfo(bobId)).displayname, 'Bob', 'profiles set');

  const versions = await alice.getVersions();
  t.ok(versions.versions.includes('v1.1'), '/versions');
  const caps = await alice.getCapabilities();
  t.equal(caps['m.room_versions']?.default, '12', 'capabilities: default room version 12');

  const { room_id: roomId } = await alice.createRoom({ room_alias_name: 'journey', name: 'Journey', topic: 'Where we go', preset: Preset.PrivateChat, visibility: Visibility.Private });
  t.match(roomId, /^!/);
  t.equal((await bob.getRoomIdForAlias(alias)).room_id, roomId, 'the alias resolves');
  const creatorMember = await alice.getStateEvent(roomId, 'm.room.member', aliceId);
  t.equal(creatorMember.displayname, 'Alice', "the creator's join carries the profile");

  await refused(t, alice.createRoom({ room_alias_name: 'journey' }), 400, 'M_ROOM_IN_USE', 'a second room with the alias');
  await refused(t, alice.createRoom({ room_version: '99' }), 400, 'M_UNSUPPORTED_ROOM_VERSION', 'an unknown room version');
  t.equal((await alice.getJoinedRooms()).joined_rooms.length, 1, 'refused creations left no room');

  const before = await stateSnapshot(alice, roomId);
  // Bodies no SDK would send, straight over HTTP (through the gateway, and in split mode to the ClientAPI's process).
  const raw = async (method: string, path: string, body: string) => {
    const r = await fetch(`${baseUrl}/_matrix/client/v3${path}`, { method, headers: { authorization: `Bearer ${alice.getAccessToken()}`, 'content-type': 'application/json' }, body });
    return { status: r.status, body: (await r.json()) as { errcode?: string } };
  };
  const sendPath = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/raw`;
  t.match(await raw('PUT', sendPath, '{"body": '), { status: 400, body: { errcode: 'M_NOT_JSON' } }, 'not JSON: 400 M_NOT_JSON');
  t.match(await raw('PUT', sendPath, '{"body": 1.5}'), { status: 400, body: { errcode: 'M_BAD_JSON' } }, 'a float in an event: 400 M_BAD_JSON');
  t.match(await raw('PUT', sendPath, JSON.stringify({ body: 'x'.repeat(70_000) })), { status: 413, body: { errcode: 'M_TOO_LARGE' } }, 'larger than an event: 413 M_TOO_LARGE');
  t.match(await raw('POST', '/createRoom', '{"preset": "open"}'), { status: 400, body: { errcode: 'M_BAD_JSON' } }, 'not a preset: 400 M_BAD_JSON');
  t.match(await raw('POST', '/createRoom', '{"room_alias_name": "a:b"}'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } }, 'a bad alias name: 400 M_INVALID_PARAM');
  t.equal((await alice.getJoinedRooms()).joined_rooms.length, 1, 'still one room');
  await refused(t, bob.joinRoom(alias), 403, 'M_FORBIDDEN', 'joining an invite-only room uninvited');
  await refused(t, bob.sendTextMessage(roomId, 'hello?'), 403, 'M_FORBIDDEN', 'sending into a room one is not in');
  await refused(t, bob.joinRoom(`#nowhere:${serverName}`), 404, 'M_NOT_FOUND', 'joining an unknown alias');
  t.same(await stateSnapshot(alice, roomId), before, 'the refusals changed nothing');

  await alice.invite(roomId, bobId);
  t.equal((await alice.getStateEvent(roomId, 'm.room.member', bobId)).membership, 'invite');
  const joined = await bob.joinRoom(alias);
  t.equal(joined.roomId, roomId, 'bob joins by alias');
  const bobMember = await alice.getStateEvent(roomId, 'm.room.member', bobId);
  t.match(bobMember, { membership: 'join', displayname: 'Bob' }, "bob's join carries his profile");
  t.same(Object.keys((await alice.getJoinedRoomMembers(roomId)).joined).sort(), [aliceId, bobId].sort(), 'joined members');

  // Messages, with a transaction id sent twice.
  const hello = await alice.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'Hello Bob' } as never, 'txn-hello');
  const retry = await alice.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'Hello Bob' } as never, 'txn-hello');
  t.equal(retry.event_id, hello.event_id, 'the same transaction id gives the same event');
  const oops = await bob.sendTextMessage(roomId, 'something I regret');
  const fetched = await bob.fetchRoomEvent(roomId, hello.event_id);
  t.match(fetched, { type: 'm.room.message', sender: aliceId, content: { body: 'Hello Bob' } }, 'bob reads the message');

  // State.
  await alice.sendStateEvent(roomId, 'm.room.topic' as never, { topic: 'A new topic' } as never, '');
  t.equal((await bob.getStateEvent(roomId, 'm.room.topic', '')).topic, 'A new topic');
  await alice.setRoomName(roomId, 'Journey, renamed');
  t.equal((await bob.getStateEvent(roomId, 'm.room.name', '')).name, 'Journey, renamed');
  const stateBefore = await stateSnapshot(alice, roomId);
  await refused(t, bob.sendStateEvent(roomId, 'm.room.topic' as never, { topic: 'mine' } as never, ''), 403, 'M_FORBIDDEN', 'state without the power');
  await refused(t, alice.sendStateEvent(roomId, 'm.room.canonical_alias' as never, { alias: `#other:${serverName}` } as never, ''), 400, 'M_BAD_ALIAS', 'a canonical alias that does not exist');
  await refused(t, bob.kick(roomId, aliceId), 403, 'M_FORBIDDEN', 'a kick without the power');
  await refused(t, bob.ban(roomId, aliceId), 403, 'M_FORBIDDEN', 'a ban without the power');
  await refused(t, bob.redactEvent(roomId, hello.event_id), 403, 'M_FORBIDDEN', "redacting another's message without the power");
  await refused(t, bob.getStateEvent(roomId, 'm.room.avatar', ''), 404, 'M_NOT_FOUND', 'a state event the room does not have');
  await refused(t, carol.fetchRoomEvent(roomId, hello.event_id), 404, 'M_NOT_FOUND', 'an event of a room one was never in');
  await refused(t, carol.deleteAlias(alias), 403, 'M_FORBIDDEN', "deleting another's alias");
  await refused(t, carol.roomState(roomId), 403, 'M_FORBIDDEN', 'the state of a room one was never in');
  t.same(await stateSnapshot(alice, roomId), stateBefore, 'the refusals changed nothing');
  t.equal((await bob.getRoomIdForAlias(alias)).room_id, roomId, 'the alias is still there');

  // Redaction.
  const redaction = await alice.redactEvent(roomId, oops.event_id, undefined, { reason: 'moderation' });
  const redacted = await alice.fetchRoomEvent(roomId, oops.event_id);
  t.same(redacted.content, {}, 'the redacted message has no content');
  t.equal((redacted.unsigned as { redacted_because?: { event_id: string } }).redacted_because?.event_id, redaction.event_id, 'redacted_because');

  // Kick, then ban.
  await alice.kick(roomId, bobId, 'cool off');
  t.match(await alice.getStateEvent(roomId, 'm.room.member', bobId), { membership: 'leave', reason: 'cool off' }, 'kicked');
  await refused(t, bob.sendTextMessage(roomId, 'still here?'), 403, 'M_FORBIDDEN', 'a kicked user cannot send');
  await refused(t, bob.joinRoom(roomId), 403, 'M_FORBIDDEN', 'nor rejoin an invite-only room');
  await alice.ban(roomId, bobId, 'enough');
  t.match(await alice.getStateEvent(roomId, 'm.room.member', bobId), { membership: 'ban', reason: 'enough' }, 'banned');
  await refused(t, alice.invite(roomId, bobId), 403, 'M_FORBIDDEN', 'a banned user cannot be invited');
  await alice.unban(roomId, bobId);
  t.equal((await alice.getStateEvent(roomId, 'm.room.member', bobId)).membership, 'leave', 'unbanned');

  // Leaving and forgetting.
  await alice.invite(roomId, carol.getUserId()!);
  await carol.joinRoom(roomId);
  await carol.leave(roomId);
  await carol.forget(roomId);
  t.same((await carol.getJoinedRooms()).joined_rooms, [], 'carol left and forgot');

  // The published directory.
  await alice.setRoomDirectoryVisibility(roomId, Visibility.Public);
  const list = await carol.publicRooms({ filter: { generic_search_term: 'renamed' } });
  t.match(list.chunk, [{ room_id: roomId, name: 'Journey, renamed', canonical_alias: alias, num_joined_members: 1 }], 'the room is listed');

  const anon = createClient({ baseUrl });
  await refused(t, anon.createRoom({}), 401, 'M_MISSING_TOKEN', 'no access token');
}

t.test('monolith', (t) => journey(t, 'monolith'));
t.test('split', (t) => journey(t, 'split'));
