/**
 * GET /_matrix/client/v1/rooms/{roomId}/hierarchy through the ClientAPI on
 * a real roomserver: the walk over m.space.child events (depth-first, in
 * the spec's order), its filters and pagination, who sees which room, and
 * the refusals.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { enc, expectError, expectOk, startRooms, type TestUser } from '../../helpers/clientapi.js';

const h = await startRooms();
t.teardown(() => h.stop());
const S = h.serverName;
const alice = await h.users.add('alice');
const bob = await h.users.add('bob');
const carol = await h.users.add('carol');
const guest = await h.users.add('guest', { guest: true });
const V3 = '/_matrix/client/v3';
const OP = 'GET /rooms/{roomId}/hierarchy';

const createRoom = async (body: Record<string, unknown> = {}, user: TestUser = alice): Promise<string> => {
  const r = await h.call(user, 'POST', `${V3}/createRoom`, body);
  if (r.status !== 200) throw new Error(`createRoom: ${JSON.stringify(r.body)}`);
  return r.body.room_id as string;
};
const space = (name: string, body: Record<string, unknown> = {}) => createRoom({ preset: 'public_chat', name, creation_content: { type: 'm.space' }, ...body });
const room = (name: string, body: Record<string, unknown> = {}) => createRoom({ preset: 'public_chat', name, ...body });
/** Sets an m.space.child event; a pause first so that every child event has its own origin_server_ts. */
const link = async (parent: string, child: string, content: Record<string, unknown> = { via: [S] }) => {
  await sleep(3);
  const r = await h.call(alice, 'PUT', `${V3}/rooms/${enc(parent)}/state/m.space.child/${enc(child)}`, content);
  if (r.status !== 200) throw new Error(`m.space.child: ${JSON.stringify(r.body)}`);
};
const hierarchy = (user: TestUser | undefined, roomId: string, q: Record<string, string | number | boolean> = {}) => {
  const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return h.call(user, 'GET', `/_matrix/client/v1/rooms/${enc(roomId)}/hierarchy${qs ? `?${qs}` : ''}`);
};
const ids = (res: { body: any }) => (res.body.rooms as any[]).map((r) => r.room_id as string);
const join = (user: TestUser, roomId: string) => h.call(user, 'POST', `${V3}/rooms/${enc(roomId)}/join`, {});

/** Every page of a walk with this page size: the rooms in order, and the number of pages. */
async function allPages(user: TestUser, roomId: string, q: Record<string, string | number | boolean>): Promise<{ rooms: string[]; pages: number }> {
  const rooms: string[] = [];
  let from: string | undefined;
  let pages = 0;
  do {
    const res = await hierarchy(user, roomId, { ...q, ...(from ? { from } : {}) });
    if (res.status !== 200) throw new Error(`page ${pages}: ${JSON.stringify(res.body)}`);
    rooms.push(...ids(res));
    from = res.body.next_batch;
    if (++pages > 50) throw new Error('no end to the pages');
  } while (from);
  return { rooms, pages };
}

t.test('a space with rooms and a sub-space: depth-first, summaries and children_state', async (t) => {
  const top = await space('Top', { topic: 'Everything', room_alias_name: 'top-space' });
  const r1 = await room('One');
  const r2 = await room('Two', { initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  const sub = await space('Sub');
  const r3 = await room('Three');
  const r4 = await room('Four');
  // A plain room with an m.space.child event is no space: nothing below it is walked.
  const below = await room('Below a plain room');
  await link(top, r1, { via: [S], order: 'b' });
  await link(top, r2, { via: [S], order: 'a' });
  await link(top, sub, { via: [S] });
  await link(top, r3, { via: [S], suggested: true });
  await link(sub, r4, { via: [S] });
  await link(r1, below, { via: [S] });

  const res = await hierarchy(alice, top);
  await expectOk(t, res, OP, 'the whole space');
  // Ordered children r2 (order a), r1 (order b), sub, r3 (no order, by time); sub's subtree before r3.
  t.same(ids(res), [top, r2, r1, sub, r4, r3], 'depth-first, in the spec order');
  t.equal(res.body.next_batch, undefined, 'one page holds it all');

  const [root, two, one, subRoom] = res.body.rooms;
  t.match(root, {
    room_id: top, name: 'Top', topic: 'Everything', canonical_alias: `#top-space:${S}`, num_joined_members: 1,
    world_readable: false, guest_can_join: false, join_rule: 'public', room_type: 'm.space', room_version: '12',
  }, "the space's summary");
  t.equal(root.encryption, undefined, 'no encryption on the space');
  t.equal(two.encryption, 'm.megolm.v1.aes-sha2', 'an encrypted child says so');
  t.equal(two.room_type, undefined, 'a plain room has no room type');
  t.equal(two.name, 'Two');

  t.equal(root.children_state.length, 4, "the space's four children");
  t.same(root.children_state.map((e: any) => e.state_key), [r2, r1, sub, r3], 'children_state in the same order');
  const r3Event = root.children_state[3];
  t.same(Object.keys(r3Event).sort(), ['content', 'origin_server_ts', 'sender', 'state_key', 'type'], 'stripped state with origin_server_ts');
  t.match(r3Event, { type: 'm.space.child', state_key: r3, sender: alice.user_id, content: { via: [S], suggested: true } });
  t.type(r3Event.origin_server_ts, 'number');
  t.same(root.children_state[0].content, { via: [S], order: 'a' }, 'content as sent');
  t.same(subRoom.children_state.map((e: any) => e.state_key), [r4], "the sub-space's child");
  t.same(one.children_state, [], 'a room that is not a space has no children_state');
  t.notOk(ids(res).includes(below), 'nothing is walked below a room that is not a space');

  // Each child's timestamps are the events' own.
  const state = (await h.call(alice, 'GET', `${V3}/rooms/${enc(top)}/state/m.space.child/${enc(r3)}?format=event`)).body;
  t.equal(r3Event.origin_server_ts, state.origin_server_ts, "the child event's origin_server_ts");

  // Starting at the sub-space walks only its part.
  t.same(ids(await hierarchy(alice, sub)), [sub, r4], 'a walk from the sub-space');
  // Another user sees the same public space.
  t.same(ids(await hierarchy(bob, top)), [top, r2, r1, sub, r4, r3], 'a non-member sees the public rooms');
});

t.test('ordering of children: order, then timestamp, then room id', async (t) => {
  const sp = await space('Ordered');
  const [a, b, c, d, e, f, g, hh] = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => room(`Room ${n}`)));
  await link(sp, d!, { via: [S] }); // no order, early
  await link(sp, hh!, { via: [S], order: 'aaaa' }); // same order as b, earlier
  await link(sp, f!, { via: [S], order: 123 }); // an order of the wrong type counts as none
  await link(sp, e!, { via: [S] }); // no order, later
  await link(sp, g!, { via: [S], order: 'x'.repeat(51) }); // too long: as none
  await link(sp, c!, { via: [S], order: 'first' });
  await link(sp, b!, { via: [S], order: 'aaaa' });
  await link(sp, a!, { via: [S], order: ' ' }); // \x20 sorts before everything, though sent last
  const res = await hierarchy(alice, sp);
  await expectOk(t, res, OP, 'an ordered space');
  t.same(ids(res), [sp, a, hh, b, c, d, f, e, g], 'valid orders first (ties by time), then the rest by time');
  t.same(res.body.rooms[0].children_state.map((e: any) => e.state_key), [a, hh, b, c, d, f, e, g], 'children_state sorted alike');

  // Non-ASCII orders are invalid too; equal timestamps fall back to room ids (checked on the listed timestamps).
  const sp2 = await space('Ordered by id');
  const kids = await Promise.all([1, 2, 3].map((n) => room(`Kid ${n}`)));
  await link(sp2, kids[0]!, { via: [S], order: 'é' });
  for (const k of kids.slice(1)) await link(sp2, k, { via: [S] });
  const res2 = await hierarchy(alice, sp2);
  const listed = res2.body.rooms[0].children_state as any[];
  const expected = [...listed].sort((x, y) => x.origin_server_ts - y.origin_server_ts || (x.state_key < y.state_key ? -1 : 1)).map((x) => x.state_key);
  t.same(listed.map((x) => x.state_key), expected, 'no valid order: by timestamp, then room id');
  t.equal(listed[0].state_key, kids[0], 'the non-ASCII order counts as none: the earliest event comes first');
});

t.test('suggested_only and max_depth', async (t) => {
  const top = await space('Filters');
  const sub = await space('Filters sub');
  const subsub = await space('Filters sub-sub');
  const plain = await room('Not suggested');
  const sugg = await room('Suggested');
  const deep = await room('Deep');
  const deepSuggested = await room('Deep, suggested');
  await link(top, sub, { via: [S], suggested: true });
  await link(top, plain, { via: [S] });
  await link(top, sugg, { via: [S], suggested: true });
  await link(sub, subsub, { via: [S], suggested: true });
  await link(sub, deep, { via: [S] });
  await link(subsub, deepSuggested, { via: [S], suggested: true });

  t.same(ids(await hierarchy(alice, top)), [top, sub, subsub, deepSuggested, deep, plain, sugg], 'everything');
  const only = await hierarchy(alice, top, { suggested_only: true });
  await expectOk(t, only, OP, 'suggested_only');
  t.same(ids(only), [top, sub, subsub, deepSuggested, sugg], 'only suggested children, at every level');
  t.same(only.body.rooms[0].children_state.map((e: any) => e.state_key).sort(), [sub, sugg].sort(), 'children_state lists only the suggested children');
  t.same(ids(await hierarchy(alice, top, { suggested_only: false })), [top, sub, subsub, deepSuggested, deep, plain, sugg], 'suggested_only=false');

  const d0 = await hierarchy(alice, top, { max_depth: 0 });
  await expectOk(t, d0, OP, 'max_depth 0');
  t.same(ids(d0), [top], 'max_depth 0: the room alone');
  t.equal(d0.body.rooms[0].children_state.length, 3, 'with its children_state');
  t.same(ids(await hierarchy(alice, top, { max_depth: 1 })), [top, sub, plain, sugg], 'max_depth 1: the children');
  t.same(ids(await hierarchy(alice, top, { max_depth: 2 })), [top, sub, subsub, deep, plain, sugg], 'max_depth 2: the grandchildren');
  t.same(ids(await hierarchy(alice, top, { max_depth: 2, suggested_only: true })), [top, sub, subsub, sugg], 'both filters');
  t.same(ids(await hierarchy(alice, top, { max_depth: 1000 })), [top, sub, subsub, deepSuggested, deep, plain, sugg], 'a huge max_depth is capped, not refused');
});

t.test('limit and pagination', async (t) => {
  const top = await space('Big');
  const sub = await space('Big sub');
  const children: string[] = [];
  for (let i = 0; i < 7; i++) children.push(await room(`Big ${i}`));
  const subChildren: string[] = [];
  for (let i = 0; i < 3; i++) subChildren.push(await room(`Big sub ${i}`));
  for (const [i, c] of children.entries()) {
    await link(top, c);
    if (i === 2) await link(top, sub);
  }
  for (const c of subChildren) await link(sub, c);
  // A second link to a room already listed elsewhere: listed once.
  await link(sub, children[5]!);

  const full = await hierarchy(alice, top, { limit: 100 });
  const everything = ids(full);
  t.equal(everything.length, 12, 'the space, its 8 children and the 3 of the sub-space');
  t.equal(new Set(everything).size, 12, 'a room linked twice is listed once');
  t.same(everything.slice(0, 5), [top, ...children.slice(0, 3), sub], 'the sub-space after the third child');
  t.same(everything.slice(5, 9), [...subChildren, children[5]], 'then its subtree, with the doubly linked room');

  for (const size of [1, 3, 5, 11, 12]) {
    const { rooms, pages } = await allPages(alice, top, { limit: size });
    t.same(rooms, everything, `pages of ${size}: the same rooms in the same order, none twice, none missed`);
    t.equal(pages, Math.ceil(12 / size), `pages of ${size}: ${Math.ceil(12 / size)} pages, no empty one at the end`);
  }

  const first = await hierarchy(alice, top, { limit: 4 });
  await expectOk(t, first, OP, 'a first page');
  t.same(ids(first), everything.slice(0, 4));
  t.type(first.body.next_batch, 'string', 'a next_batch token');
  const second = await hierarchy(alice, top, { limit: 4, from: first.body.next_batch });
  await expectOk(t, second, OP, 'a second page');
  t.same(ids(second), everything.slice(4, 8));
  const again = await hierarchy(alice, top, { limit: 4, from: first.body.next_batch });
  t.same(ids(again), everything.slice(4, 8), 'a token used again gives the same page');
  t.same(ids(await hierarchy(alice, top, { limit: 8, from: first.body.next_batch })), everything.slice(4, 12), 'the page size may change');

  const token = first.body.next_batch;
  expectError(t, await hierarchy(alice, top, { from: token, max_depth: 1 }), 400, 'M_INVALID_PARAM', 'max_depth changed');
  expectError(t, await hierarchy(alice, top, { from: token, suggested_only: true }), 400, 'M_INVALID_PARAM', 'suggested_only changed');
  expectError(t, await hierarchy(alice, sub, { from: token }), 400, 'M_INVALID_PARAM', 'another room');
  expectError(t, await hierarchy(bob, top, { from: token }), 400, 'M_INVALID_PARAM', "another user's token");
  expectError(t, await hierarchy(alice, top, { from: 'no-such-token' }), 400, 'M_INVALID_PARAM', 'an unknown token');
  t.equal((await hierarchy(alice, top, { from: token, max_depth: 10, suggested_only: false })).status, 200, 'the defaults spelled out are the same walk');

  const big = await hierarchy(alice, top, { limit: 1_000_000 });
  t.equal(big.status, 200, 'a huge limit is capped, not refused');
  t.same(ids(big), everything);
});

t.test('child events without a valid via are ignored', async (t) => {
  const sp = await space('Vias');
  const good = await room('Good');
  const [noVia, emptyVia, badVia, removed, notAList] = await Promise.all(['none', 'empty', 'bad', 'removed', 'string'].map((n) => room(`Via ${n}`)));
  await link(sp, good);
  await link(sp, noVia!, { suggested: true });
  await link(sp, emptyVia!, { via: [] });
  await link(sp, badVia!, { via: [1] });
  await link(sp, notAList!, { via: S });
  await link(sp, removed!);
  await link(sp, removed!, {}); // removed from the space by clearing its content
  await link(sp, '!notaroom', { via: [S] }); // not a room id: no child either
  const res = await hierarchy(alice, sp);
  await expectOk(t, res, OP, 'a space with invalid children');
  t.same(ids(res), [sp, good], 'only the child with a via');
  t.same(res.body.rooms[0].children_state.map((e: any) => e.state_key), [good], 'and only it in children_state');

  const unknown = `!unknown${Date.now()}:elsewhere.example`;
  await link(sp, unknown);
  const withUnknown = await hierarchy(alice, sp);
  t.same(ids(withUnknown), [sp, good], 'a child this server does not know is skipped');
  t.same(withUnknown.body.rooms[0].children_state.map((e: any) => e.state_key).sort(), [good, unknown].sort(), 'though its child event is listed');
});

t.test('who sees which room', async (t) => {
  const sp = await space('Mixed');
  const pub = await room('Public');
  const priv = await createRoom({ preset: 'private_chat', name: 'Private' });
  const privSpace = await createRoom({ preset: 'private_chat', name: 'Private space', creation_content: { type: 'm.space' } });
  const underPrivate = await room('Public, below a private space');
  const readable = await createRoom({ preset: 'private_chat', name: 'World-readable', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } }] });
  const knock = await createRoom({ preset: 'private_chat', name: 'Knock', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
  const restricted = await createRoom({ preset: 'private_chat', name: 'Members of the space', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: sp }] } }] });
  const invitedTo = await createRoom({ preset: 'private_chat', name: 'Invited' });
  for (const c of [pub, priv, privSpace, readable, knock, restricted, invitedTo]) await link(sp, c);
  await link(privSpace, underPrivate);
  await h.call(alice, 'POST', `${V3}/rooms/${enc(invitedTo)}/invite`, { user_id: carol.user_id });

  const mine = await hierarchy(alice, sp);
  await expectOk(t, mine, OP, "the creator's view");
  t.same(ids(mine), [sp, pub, priv, privSpace, underPrivate, readable, knock, restricted, invitedTo], 'alice, in every room, sees them all');

  const bobs = await hierarchy(bob, sp);
  await expectOk(t, bobs, OP, "an outsider's view");
  t.same(ids(bobs), [sp, pub, readable, knock], 'bob sees the public, world-readable and knockable rooms only');
  t.notOk(ids(bobs).includes(underPrivate), 'nothing below a room one cannot see');
  t.equal(bobs.body.rooms[0].children_state.length, 7, "the visible space's children_state still names every child");
  t.match(bobs.body.rooms.find((r: any) => r.room_id === readable), { world_readable: true, join_rule: 'invite' });
  t.match(bobs.body.rooms.find((r: any) => r.room_id === knock), { join_rule: 'knock' });
  const paged = await allPages(bob, sp, { limit: 1 });
  t.same(paged.rooms, [sp, pub, readable, knock], 'paginated: the same rooms');
  t.equal(paged.pages, 4, 'and no empty page for the hidden rooms at the end');

  await join(bob, sp);
  const member = await hierarchy(bob, sp);
  t.same(ids(member), [sp, pub, readable, knock, restricted], 'once in the space, bob sees the room restricted to its members');
  t.match(member.body.rooms.find((r: any) => r.room_id === restricted), { join_rule: 'restricted', allowed_room_ids: [sp] });

  t.same(ids(await hierarchy(carol, sp)), [sp, pub, readable, knock, invitedTo], 'an invitee sees the room they are invited to');
  await h.call(alice, 'POST', `${V3}/rooms/${enc(privSpace)}/invite`, { user_id: bob.user_id });
  await join(bob, privSpace);
  t.same(ids(await hierarchy(bob, sp)), [sp, pub, privSpace, underPrivate, readable, knock, restricted], 'joined to the private space: it and what is below it');
});

t.test('cycles end', async (t) => {
  const a = await space('A');
  const b = await space('B');
  const c = await room('C');
  await link(a, b);
  await link(b, a);
  await link(b, c);
  await link(a, a); // a space that names itself
  const res = await hierarchy(alice, a);
  await expectOk(t, res, OP, 'A → B → A');
  t.same(ids(res), [a, b, c], 'each room once');
  t.same(res.body.rooms[1].children_state.map((e: any) => e.state_key).sort(), [a, c].sort(), "B's children_state names A");
  t.same(ids(await hierarchy(alice, b)), [b, a, c], 'from B: B, A (whose children were seen), C');
  const { rooms } = await allPages(alice, a, { limit: 1 });
  t.same(rooms, [a, b, c], 'paginating the cycle ends too');
});

t.test('refusals', async (t) => {
  const priv = await createRoom({ preset: 'private_chat', name: 'Secret', creation_content: { type: 'm.space' } });
  const pub = await space('Open');
  expectError(t, await hierarchy(bob, priv), 403, 'M_FORBIDDEN', 'a root the user cannot see');
  expectError(t, await hierarchy(alice, `!nowhere-${Date.now()}:${S}`), 404, 'M_NOT_FOUND', 'an unknown root');
  expectError(t, await hierarchy(alice, 'not-a-room'), 400, 'M_INVALID_PARAM', 'not a room id');
  for (const [q, what] of [
    [{ limit: 0 }, 'limit 0'],
    [{ limit: -1 }, 'a negative limit'],
    [{ limit: 'ten' }, 'limit not a number'],
    [{ limit: 1.5 }, 'limit not an integer'],
    [{ max_depth: -1 }, 'a negative max_depth'],
    [{ max_depth: 'deep' }, 'max_depth not a number'],
    [{ suggested_only: 'yes' }, 'suggested_only not a boolean'],
  ] as const) {
    expectError(t, await hierarchy(alice, pub, q as Record<string, string | number>), 400, 'M_INVALID_PARAM', what);
  }
  expectError(t, await hierarchy(undefined, pub), 401, 'M_MISSING_TOKEN', 'no token');
  expectError(t, await hierarchy(guest, pub), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guests (not among the endpoints the spec opens to them)');

  // Losing access to the root stops the pagination of it.
  const sp = await createRoom({ preset: 'private_chat', name: 'Closing', creation_content: { type: 'm.space' } });
  for (let i = 0; i < 3; i++) await link(sp, await room(`Closing ${i}`));
  await h.call(alice, 'POST', `${V3}/rooms/${enc(sp)}/invite`, { user_id: bob.user_id });
  await join(bob, sp);
  const first = await hierarchy(bob, sp, { limit: 2 });
  t.equal(first.status, 200);
  await h.call(bob, 'POST', `${V3}/rooms/${enc(sp)}/leave`, {});
  expectError(t, await hierarchy(bob, sp, { limit: 2, from: first.body.next_batch }), 403, 'M_FORBIDDEN', 'the next page after leaving a private root');
});
