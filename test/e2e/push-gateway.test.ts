/**
 * Push notifications reach push gateways (client-server API "Push
 * notifications", push gateway API /notify), split and monolith: a real
 * HTTPS gateway on loopback, trusted by the server through
 * NODE_EXTRA_CA_CERTS, records what it is sent. Every request must fit the
 * spec's schema; the sender is never notified of their own event; reading
 * sends the new badge; `event_id_only` sends no content; a failing gateway
 * gets the notification again; a rejected pushkey loses its pusher.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createSelfSignedCertificate } from '../../src/platform/tls/self-signed.js';
import { specRequest } from '../helpers/spec-schemas.js';
import { initServer, removeDataDir, startServer, tempDir, waitFor } from '../helpers/server.js';

interface Received {
  body: any;
  answered: number;
}

/** An HTTPS push gateway: records each request; `answer` decides the reply. */
async function gateway(): Promise<{ server: Server; url: string; caFile: string; received: Received[]; answer: (body: any) => { status: number; rejected?: string[] } }> {
  const { certPem, keyPem } = createSelfSignedCertificate(['127.0.0.1']);
  const caFile = join(tempDir('nt-push-ca-'), 'ca.pem');
  writeFileSync(caFile, certPem);
  const received: Received[] = [];
  const gw = {
    received,
    caFile,
    answer: (_body: any): { status: number; rejected?: string[] } => ({ status: 200 }),
  } as Awaited<ReturnType<typeof gateway>>;
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const body = JSON.parse(data);
      const a = req.url === '/_matrix/push/v1/notify' ? gw.answer(body) : { status: 404 };
      received.push({ body, answered: a.status });
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.status === 200 ? { rejected: a.rejected ?? [] } : { errcode: 'M_UNKNOWN' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gw.server = server;
  gw.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/_matrix/push/v1/notify`;
  return gw;
}

const C = '/_matrix/client/v3';

async function harness(t: Test, mode: 'monolith' | 'split') {
  const gw = await gateway();
  const { dataDir, ports } = await initServer({ mode, tls: 'off', extra: ['--registration', 'open'] });
  const start = () => startServer(dataDir, { clientPort: ports.client, env: { NODE_EXTRA_CA_CERTS: gw.caFile } });
  const h = { server: await start(), restart: async () => {} };
  h.restart = async () => {
    t.equal((await h.server.stop()).code, 0, 'clean stop');
    h.server = await start();
  };
  t.teardown(async () => {
    await h.server.stop();
    gw.server.close();
    removeDataDir(dataDir);
  });
  const BASE = `http://127.0.0.1:${ports.client}`;
  const call = async (method: string, path: string, token?: string, body?: unknown): Promise<any> => {
    const r = await fetch(BASE + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const register = async (username: string): Promise<{ user_id: string; access_token: string }> => {
    const first = (await fetch(`${BASE}${C}/register`, { method: 'POST', body: JSON.stringify({ username, password: 'pw' }) }).then((r) => r.json())) as { session: string };
    return call('POST', `${C}/register`, undefined, { username, password: 'pw', auth: { type: 'm.login.dummy', session: first.session } });
  };
  const pusher = (pushkey: string, data: Record<string, unknown> = {}) => ({
    kind: 'http',
    app_id: 'org.example.app',
    pushkey,
    app_display_name: 'Example',
    device_display_name: 'Phone',
    lang: 'en',
    data: { url: gw.url, ...data },
  });
  const toKey = (pushkey: string) => gw.received.filter((r) => r.body.notification?.devices?.[0]?.pushkey === pushkey);
  const arrives = (what: string, pushkey: string, n: number) => waitFor(what, async () => (toKey(pushkey).length >= n ? toKey(pushkey)[n - 1]!.body.notification : undefined), 20_000);
  return { h, gw, call, register, pusher, toKey, arrives };
}

async function journey(t: Test, mode: 'monolith' | 'split') {
  const fits = await specRequest('push-gateway', 'POST /notify');
  const { h, gw, call, register, pusher, toKey, arrives } = await harness(t, mode);
  const alice = await register('alice');
  const bob = await register('bob');
  const carol = await register('carol');
  await call('POST', `${C}/pushers/set`, bob.access_token, pusher('bob-key', { custom: 'kept' }));
  await call('POST', `${C}/pushers/set`, alice.access_token, pusher('alice-key'));
  const { room_id: roomId } = await call('POST', `${C}/createRoom`, alice.access_token, { name: 'Kitchen', invite: [bob.user_id] });
  const invite = await arrives('the invite to reach bob', 'bob-key', 1);
  t.same([invite.type, invite.user_is_target, invite.room_name, invite.membership], ['m.room.member', true, 'Kitchen', 'invite'], 'an invite notifies its target');
  t.equal(invite.id, invite.event_id, 'the event id also as `id`, as Synapse sends it');
  await call('POST', `${C}/join/${encodeURIComponent(roomId)}`, bob.access_token, {});

  const room = encodeURIComponent(roomId);
  const { event_id: first } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/1`, alice.access_token, { msgtype: 'm.text', body: 'dinner is ready' });
  const n1 = await arrives('the message to reach bob', 'bob-key', 2);
  t.match(n1, {
    event_id: first,
    room_id: roomId,
    type: 'm.room.message',
    sender: alice.user_id,
    sender_display_name: 'alice',
    room_name: 'Kitchen',
    content: { body: 'dinner is ready' },
    counts: { unread: 1 },
    prio: 'high',
  }, 'the event, its room and sender by name, and the badge');
  const [{ pushkey_ts, ...device }] = n1.devices;
  t.same(device, { app_id: 'org.example.app', pushkey: 'bob-key', data: { custom: 'kept' }, tweaks: { sound: 'default' } }, 'the device: its data without the url, and the rule’s tweaks');
  t.ok(Math.abs(pushkey_ts - Date.now() / 1000) < 600, 'and when its pusher was set, in seconds');
  const listed = (await call('GET', `${C}/pushers`, bob.access_token)).pushers;
  t.notOk(listed.some((p: any) => 'pushkey_ts' in p), 'which GET /pushers does not show');
  t.equal(toKey('alice-key').length, 0, 'alice is never notified of her own events');

  await call('PUT', `${C}/rooms/${room}/send/m.room.message/2`, alice.access_token, { msgtype: 'm.text', body: 'second' });
  t.equal((await arrives('the second message', 'bob-key', 3)).counts.unread, 2, 'the badge counts both');
  const { event_id: latest } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/3`, alice.access_token, { msgtype: 'm.text', body: 'third' });
  await arrives('the third message', 'bob-key', 4);
  await call('POST', `${C}/rooms/${room}/receipt/m.read/${encodeURIComponent(latest)}`, bob.access_token, {});
  const badge = await arrives('the badge after reading', 'bob-key', 5);
  t.same([badge.event_id, badge.counts], [undefined, { unread: 0 }], 'reading sends the badge alone, cleared');

  // event_id_only: nothing of the content leaves the server.
  await call('POST', `${C}/pushers/set`, carol.access_token, pusher('carol-key', { format: 'event_id_only' }));
  await call('POST', `${C}/rooms/${room}/invite`, alice.access_token, { user_id: carol.user_id });
  await arrives('the invite to reach carol', 'carol-key', 1);
  await call('POST', `${C}/join/${room}`, carol.access_token, {});
  const { event_id: forCarol } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/4`, alice.access_token, { msgtype: 'm.text', body: 'secret' });
  const slim = await waitFor('carol’s notification', async () => toKey('carol-key').find((r) => r.body.notification.event_id === forCarol)?.body.notification);
  t.same(Object.keys(slim).sort(), ['counts', 'devices', 'event_id', 'prio', 'room_id'], 'event_id_only: the ids, counts and devices only');
  t.same(slim.devices[0].data, { format: 'event_id_only' });

  // A gateway that fails is tried again.
  // Only the notification under test is refused: others still arriving (carol's message reaching bob) must not use up the failure.
  const refuseOnce = (body: string, status: number) => {
    let refused = false;
    gw.answer = (b) => {
      if (refused || b.notification.content?.body !== body || b.notification.devices[0].pushkey !== 'bob-key') return { status: 200 };
      refused = true;
      return { status };
    };
  };
  refuseOnce('again', 503);
  const { event_id: retried } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/5`, alice.access_token, { msgtype: 'm.text', body: 'again' });
  const tries = await waitFor('a retry after the 503', async () => {
    const got = toKey('bob-key').filter((r) => r.body.notification.event_id === retried);
    return got.length >= 2 ? got : undefined;
  });
  t.same(tries.map((r) => r.answered), [503, 200], 'sent again after a 503, with the same event id');

  // A 4xx is not retried: the next notification goes on.
  refuseOnce('refused', 400);
  const { event_id: refused } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/5b`, alice.access_token, { msgtype: 'm.text', body: 'refused' });
  const { event_id: next } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/5c`, alice.access_token, { msgtype: 'm.text', body: 'next' });
  await waitFor('the message after the refused one', async () => (toKey('bob-key').some((r) => r.body.notification.event_id === next) ? true : undefined));
  t.same(toKey('bob-key').filter((r) => r.body.notification.event_id === refused).map((r) => r.answered), [400], 'a 400 is not sent again');

  // A rejected pushkey loses its pusher.
  gw.answer = (body) => ({ status: 200, rejected: body.notification.devices.map((d: any) => d.pushkey).filter((k: string) => k === 'bob-key') });
  await call('PUT', `${C}/rooms/${room}/send/m.room.message/6`, alice.access_token, { msgtype: 'm.text', body: 'rejected' });
  await waitFor('bob’s pusher to go', async () => ((await call('GET', `${C}/pushers`, bob.access_token)).pushers.length === 0 ? true : undefined));
  gw.answer = () => ({ status: 200 });
  const before = toKey('bob-key').length;
  const { event_id: last } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/7`, alice.access_token, { msgtype: 'm.text', body: 'after' });
  await waitFor('carol’s notification of the last message', async () => (toKey('carol-key').some((r) => r.body.notification.event_id === last) ? true : undefined));
  t.equal(toKey('bob-key').length, before, 'nothing more for the removed pusher');

  for (const r of gw.received) t.equal(fits(r.body), undefined, `the request about ${r.body.notification.event_id ?? 'the badge'} fits the spec`);
  t.ok(!h.server.output().includes('"level":50'), 'no errors logged');
}

t.test('after a restart, what the gateway did not take is sent', async (t) => {
  const { h, gw, call, register, pusher, toKey, arrives } = await harness(t, 'monolith');
  const alice = await register('alice');
  const bob = await register('bob');
  await call('POST', `${C}/pushers/set`, bob.access_token, pusher('bob-key'));
  const { room_id: roomId } = await call('POST', `${C}/createRoom`, alice.access_token, { invite: [bob.user_id] });
  await arrives('the invite', 'bob-key', 1);
  const room = encodeURIComponent(roomId);
  await call('POST', `${C}/join/${room}`, bob.access_token, {});
  gw.answer = () => ({ status: 503 });
  const { event_id: pending } = await call('PUT', `${C}/rooms/${room}/send/m.room.message/1`, alice.access_token, { msgtype: 'm.text', body: 'while the gateway is down' });
  await arrives('a first attempt', 'bob-key', 2);
  await h.restart();
  gw.answer = () => ({ status: 200 });
  const delivered = await waitFor('the pending notification after the restart', async () => toKey('bob-key').find((r) => r.answered === 200 && r.body.notification.event_id === pending));
  t.equal(delivered.body.notification.content.body, 'while the gateway is down', 'delivered once the server is back');
});

t.test('monolith', (t) => journey(t, 'monolith'));
t.test('split', (t) => journey(t, 'split'));
