/**
 * Erasure (client-server API /account/deactivate with `erase`), over HTTP
 * on the built server: who was joined when an erased user's event was sent
 * still sees it whole; everyone else — a user who joined later, before or
 * after the erasure — gets its redacted form from every read path (/sync,
 * /messages, /context, /event, search, bundled edits), and keeps getting it
 * after a restart. State the erased user set (the room's name) stays whole;
 * a plain deactivation redacts nothing.
 */
import t, { type Test } from 'tap';
import { cli, initServer, removeDataDir, startServer, waitFor, type RunningServer } from '../helpers/server.js';

const { dataDir, ports, serverName } = await initServer({ mode: 'monolith', tls: 'off', extra: ['--registration', 'open'] });
t.equal(cli(['user', 'add', 'root', '--password', 'root-pw', '--admin', '--data-dir', dataDir]).status, 0, 'an admin');
let server: RunningServer = await startServer(dataDir, { clientPort: ports.client });
t.teardown(async () => {
  await server.stop();
  removeDataDir(dataDir);
});

const BASE = `http://127.0.0.1:${ports.client}`;
const C = '/_matrix/client/v3';

async function call(method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(BASE + path, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function must(t: Test, method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<any> {
  const a = await call(method, path, opts);
  if (a.status !== 200) t.fail(`${method} ${path}: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

async function register(username: string): Promise<string> {
  const first = await call('POST', `${C}/register`, { body: { username, password: 'pw' } });
  const done = await call('POST', `${C}/register`, { body: { username, password: 'pw', auth: { type: 'm.login.dummy', session: first.body.session } } });
  return done.body.access_token;
}

async function deactivate(t: Test, user: string, token: string, erase: boolean): Promise<void> {
  const ask = await call('POST', `${C}/account/deactivate`, { token, body: { erase } });
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw', session: ask.body.session };
  await must(t, 'POST', `${C}/account/deactivate`, { token, body: { erase, auth } });
}

const me = (local: string) => `@${local}:${serverName}`;
const enc = encodeURIComponent;

const creator = await register('creator');
const member = await register('member');
const joiner = await register('joiner');
const plain = await register('plain');
const root = (await call('POST', `${C}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'root' }, password: 'root-pw' } })).body.access_token;

const { room_id: roomId } = await must(t, 'POST', `${C}/createRoom`, { token: creator, body: { preset: 'public_chat', name: 'Orchard' } });
const room = enc(roomId);
await must(t, 'POST', `${C}/join/${room}`, { token: member });
await must(t, 'POST', `${C}/join/${room}`, { token: plain });
await must(t, 'PUT', `${C}/profile/${enc(me('creator'))}/displayname`, { token: creator, body: { displayname: 'Creator Name' } });
const secret = (await must(t, 'PUT', `${C}/rooms/${room}/send/m.room.message/t1`, { token: creator, body: { msgtype: 'm.text', body: 'pineapple secret' } })).event_id;
await must(t, 'PUT', `${C}/rooms/${room}/send/m.room.message/t2`, {
  token: creator,
  body: { msgtype: 'm.text', body: '* pineapple edited', 'm.new_content': { msgtype: 'm.text', body: 'pineapple edited' }, 'm.relates_to': { rel_type: 'm.replace', event_id: secret } },
});
const plainMsg = (await must(t, 'PUT', `${C}/rooms/${room}/send/m.room.message/t3`, { token: plain, body: { msgtype: 'm.text', body: 'plain words' } })).event_id;
await must(t, 'POST', `${C}/join/${room}`, { token: joiner });

const messages = async (token: string) => (await must(t, 'GET', `${C}/rooms/${room}/messages?dir=b&limit=50`, { token })).chunk as any[];
const byId = (events: any[], id: string) => events.find((e) => e.event_id === id);

t.test('before the erasure everyone who may read the event sees it whole', async (t) => {
  t.equal(byId(await messages(joiner), secret)?.content.body, 'pineapple secret', 'the later joiner (shared history)');
  t.equal(byId(await messages(member), secret)?.content.body, 'pineapple secret', 'the member');
});

t.test('deactivation with and without erase', async (t) => {
  await deactivate(t, 'plain', plain, false);
  await deactivate(t, 'creator', creator, true);
  const admin = await must(t, 'GET', `/_synapse/admin/v2/users/${enc(me('creator'))}`, { token: root });
  t.match(admin, { deactivated: true, erased: true }, 'the admin API says erased');
  t.match(await must(t, 'GET', `/_synapse/admin/v2/users/${enc(me('plain'))}`, { token: root }), { deactivated: true, erased: false }, 'and not for a plain deactivation');
});

const late = await register('late');
await must(t, 'POST', `${C}/join/${room}`, { token: late });

async function checkViews(t: Test, when: string): Promise<void> {
  // The erasure reaches the SyncAPI through the UserAPI's log, a moment after the deactivation answered.
  await waitFor('the SyncAPI to learn of the erasure', async () => (Object.keys(byId(await messages(late), secret)?.content ?? { x: 1 }).length === 0 ? true : undefined), 10_000);
  for (const [who, token] of [['member', member]] as const) {
    const m = await messages(token);
    t.equal(byId(m, secret)?.content.body, 'pineapple secret', `${when}: ${who} (joined when it was sent) still sees it`);
    t.equal(byId(m, secret)?.unsigned?.['m.relations']?.['m.replace']?.content?.['m.new_content']?.body, 'pineapple edited', `${when}: ${who}: with its edit bundled`);
    t.equal((await must(t, 'GET', `${C}/rooms/${room}/event/${enc(secret)}`, { token })).content.body, 'pineapple secret', `${when}: ${who}: /event`);
    const found = await must(t, 'POST', `${C}/search`, { token, body: { search_categories: { room_events: { search_term: 'pineapple' } } } });
    t.ok(found.search_categories.room_events.results.some((r: any) => r.result.event_id === secret), `${when}: ${who}: search finds it`);
  }
  for (const [who, token] of [['joiner', joiner], ['late', late]] as const) {
    const m = await messages(token);
    const e = byId(m, secret);
    t.same([e?.type, e?.sender, e?.content], ['m.room.message', me('creator'), {}], `${when}: ${who}: /messages gives it redacted`);
    t.equal(e?.unsigned?.['m.relations'], undefined, `${when}: ${who}: and no edit bundled`);
    const edits = m.filter((x) => x.sender === me('creator') && x.type === 'm.room.message');
    t.ok(edits.every((x) => Object.keys(x.content).length === 0), `${when}: ${who}: the edit event is redacted too`);
    const creatorMember = m.filter((x) => x.type === 'm.room.member' && x.state_key === me('creator'));
    t.ok(creatorMember.length >= 3, `${when}: ${who}: the erased user's joins and leave are there`);
    t.ok(creatorMember.every((x) => Object.keys(x.content).join() === 'membership'), `${when}: ${who}: keeping only their membership (no display name)`);
    t.equal(byId(m, plainMsg)?.content.body, 'plain words', `${when}: ${who}: a plainly deactivated user's message stays whole`);
    t.same((await must(t, 'GET', `${C}/rooms/${room}/event/${enc(secret)}`, { token })).content, {}, `${when}: ${who}: /event`);
    const ctx = await must(t, 'GET', `${C}/rooms/${room}/context/${enc(secret)}?limit=2`, { token });
    t.same(ctx.event.content, {}, `${when}: ${who}: /context`);
    const found = await must(t, 'POST', `${C}/search`, { token, body: { search_categories: { room_events: { search_term: 'pineapple' } } } });
    t.same(found.search_categories.room_events.results, [], `${when}: ${who}: search does not find its words`);
    const filter = enc(JSON.stringify({ room: { timeline: { limit: 50 } } }));
    const sync = await must(t, 'GET', `${C}/sync?filter=${filter}`, { token });
    const tl = sync.rooms.join[roomId].timeline.events as any[];
    t.same(byId(tl, secret)?.content, {}, `${when}: ${who}: /sync gives it redacted`);
    t.equal((await must(t, 'GET', `${C}/rooms/${room}/state/m.room.name/`, { token })).name, 'Orchard', `${when}: ${who}: the room name the erased user set stays`);
  }
  const memberSync = await must(t, 'GET', `${C}/sync?filter=${enc(JSON.stringify({ room: { timeline: { limit: 50 } } }))}`, { token: member });
  t.equal(byId(memberSync.rooms.join[roomId].timeline.events, secret)?.content.body, 'pineapple secret', `${when}: member: /sync gives it whole`);
}

t.test('after the erasure', (t) => checkViews(t, 'after the erasure'));

t.test('after a restart', async (t) => {
  t.equal((await server.stop()).code, 0, 'clean stop');
  server = await startServer(dataDir, { clientPort: ports.client });
  await checkViews(t, 'after a restart');
});
