/**
 * Every operation of the spec's client-server API (spec/matrix-v1.19/api/
 * client-server), on the built server in split mode, given malformed
 * bodies and both good and bogus path parameters, as outside test suites
 * and fuzzers do: no answer is a 5xx, every refusal is a Matrix error
 * (JSON with an errcode; user-interactive auth's 401 carries its flows
 * instead), no connection fails, no process restarts, and afterwards the
 * account and its token work and the room keeps its message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { cli, initServer, removeDataDir, startServer } from '../helpers/server.js';

const SPEC = resolve(import.meta.dirname, '../../spec/matrix-v1.19/api/client-server');
// Operations that would end the session the rest of the run needs.
const SKIP = /\/logout|\/account\/deactivate|\/account\/password|\/delete_devices/;
const BODIES: (string | undefined)[] = [
  undefined,
  '',
  'null',
  '[]',
  '"text"',
  '123',
  '{"a":',
  '{"content":null}',
  '{"x":1e999}',
  '{"__proto__":{"polluted":1}}',
  JSON.stringify({ visibility: 5, filter: 'x', limit: -1, from: {}, user_id: 7, reason: [], type: {}, content: [], device_keys: 'x', one_time_keys: [1], auth: 'x', messages: { x: 1 }, timeout: 'x', rooms: 1, room_id: [], displayname: {}, presence: 'zzz', m: null, body: null }),
];

const { dataDir, ports, serverName } = await initServer({ mode: 'split', tls: 'off', extra: ['--registration', 'open'] });
const server = await startServer(dataDir, { clientPort: ports.client });
t.teardown(async () => {
  await server.stop();
  removeDataDir(dataDir);
});
const BASE = `http://127.0.0.1:${ports.client}`;

async function raw(method: string, path: string, token?: string, body?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(BASE + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined && method !== 'GET' ? { body } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: r.status, text: await r.text() };
}
const call = async (method: string, path: string, token?: string, body?: unknown) => JSON.parse((await raw(method, path, token, JSON.stringify(body))).text);

const register = async (username: string) => {
  const first = await call('POST', '/_matrix/client/v3/register', undefined, { username, password: `${username}-password` });
  return call('POST', '/_matrix/client/v3/register', undefined, { username, password: `${username}-password`, auth: { type: 'm.login.dummy', session: first.session } });
};
const alice = await register('alice');
const bob = await register('bob');
const roomId = (await call('POST', '/_matrix/client/v3/createRoom', alice.access_token, { preset: 'public_chat', room_alias_name: 'fuzz' })).room_id as string;
const eventId = (await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, alice.access_token, { msgtype: 'm.text', body: 'before' })).event_id as string;

// Per parameter name: a value that names something real, and one that is malformed.
const VALUES: Record<string, [string, string]> = {
  roomId: [roomId, 'not-a-room'],
  userId: [bob.user_id, 'not-a-user'],
  eventId: [eventId, '$'],
  roomIdOrAlias: [`#fuzz:${serverName}`, '#'],
  roomAlias: [`#other:${serverName}`, 'not-an-alias'],
  serverName: [serverName, '//'],
  mediaId: ['nothing', '%00'],
};
const fill = (path: string, variant: 0 | 1) => path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent((VALUES[name] ?? ['m.test', 'x'.repeat(300)])[variant]));

t.test('malformed requests to every operation: Matrix errors, never a 5xx', async (t) => {
  const problems: string[] = [];
  let requests = 0;
  let operations = 0;
  for (const file of readdirSync(SPEC).filter((f) => f.endsWith('.yaml'))) {
    const doc = parse(readFileSync(join(SPEC, file), 'utf8'));
    const prefix = (doc.servers?.[0]?.variables?.basePath?.default ?? '/_matrix/client/v3') as string;
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths ?? {})) {
      for (const method of Object.keys(ops).filter((m) => ['get', 'put', 'post', 'delete'].includes(m))) {
        if (SKIP.test(path)) continue;
        operations++;
        for (const variant of [0, 1] as const) {
          // timeout=0: long-polls (/sync, /events) answer at once.
          const url = `${prefix}${fill(path, variant)}?timeout=0`;
          for (const body of BODIES) {
            requests++;
            const what = `${method.toUpperCase()} ${url.slice(0, 100)} ${body === undefined ? '(no body)' : body.slice(0, 30)}`;
            let r;
            try {
              r = await raw(method.toUpperCase(), url, alice.access_token, body);
            } catch (e) {
              problems.push(`${what}: ${String((e as Error).cause ?? e)}`);
              continue;
            }
            if (r.status < 400) continue;
            let answer: { errcode?: unknown; flows?: unknown } | undefined;
            try {
              answer = JSON.parse(r.text);
            } catch {
              // not JSON: reported below
            }
            const uia = r.status === 401 && Array.isArray(answer?.flows);
            if (r.status >= 500 || (!uia && typeof answer?.errcode !== 'string')) problems.push(`${what}: ${r.status} ${r.text.slice(0, 120)}`);
          }
        }
      }
    }
  }
  t.comment(`${operations} operations, ${requests} requests`);
  t.ok(operations >= 150, 'every operation of the spec was tried (159 in v1.19, less the few that would end the session)');
  t.same(problems, [], 'no 5xx, no refusal without an errcode, no failed connection');
});

t.test('afterwards: no process restarted, and the server serves as before', async (t) => {
  const status = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout);
  t.same(status.processes.filter((p: { restarts: number }) => p.restarts > 0).map((p: { name: string }) => p.name), [], 'no process restarted');
  t.equal((await call('GET', '/_matrix/client/v3/account/whoami', alice.access_token)).user_id, alice.user_id, "alice's token still works");
  // Valid bodies among the fuzz (an empty leave, then a forget) can take alice out of the public room, and a
  // forgotten room's history is closed to her: she joins again, as a user would.
  await call('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, alice.access_token, {});
  const messages = await call('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`, alice.access_token);
  t.ok(messages.chunk.some((e: { event_id: string }) => e.event_id === eventId), 'the room still holds its message');
  // Some bodies were valid (an empty leave, say): the server still does what a client asks.
  const room = (await call('POST', '/_matrix/client/v3/createRoom', alice.access_token, { preset: 'private_chat' })).room_id as string;
  const sent = await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/after`, alice.access_token, { msgtype: 'm.text', body: 'after' });
  t.match(sent.event_id, /^\$/, 'a new room and a message in it');
});
