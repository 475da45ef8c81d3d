/**
 * Send-to-device through PUT /sendToDevice/{eventType}/{txnId}: one device,
 * `*`, unknown and remote recipients, idempotency by transaction (also
 * across a restart), and refusals that store nothing.
 */
import t from 'tap';
import { sendToDeviceEvents, type SendToDeviceRecord } from '../../../src/components/eduserver/topics.js';
import { enc, expectError, expectOk } from '../../helpers/clientapi.js';
import { startEdu, type EduHarness, type EduUser } from '../../helpers/edu.js';

let h: EduHarness = await startEdu();
t.teardown(() => h.stop());
const alice = await h.register('alice');
const alice2 = await h.login('alice', 'ALICESECOND');
const bob = await h.register('bob');
const V3 = '/_matrix/client/v3';
const send = (user: EduUser | undefined, type: string, txn: string, body: unknown) => h.call(user, 'PUT', `${V3}/sendToDevice/${enc(type)}/${enc(txn)}`, body);
const records = () => h.records<SendToDeviceRecord>(sendToDeviceEvents);
const since = async (n: number) => (await records()).slice(n);
const brief = (r: SendToDeviceRecord) => `${r.user_id}/${r.device_id}: ${JSON.stringify(r.content)}`;

t.test('to one device', async (t) => {
  const n = (await records()).length;
  const r = await send(bob, 'org.example.ping', 'txn-1', { messages: { [alice.user_id]: { [alice2.device_id]: { n: 1 } } } });
  await expectOk(t, r, 'PUT /sendToDevice/{eventType}/{txnId}');
  const recs = await since(n);
  t.equal(recs.length, 1);
  t.match(recs[0], { sender: bob.user_id, sender_device: bob.device_id, type: 'org.example.ping', content: { n: 1 }, user_id: alice.user_id, device_id: alice2.device_id });
  t.type(recs[0]!.message_id, 'string');
});

t.test('to * : every device the user has, one message each, one message id', async (t) => {
  const n = (await records()).length;
  await send(bob, 'org.example.ping', 'txn-2', { messages: { [alice.user_id]: { '*': { n: 2 } } } });
  const recs = await since(n);
  t.same(recs.map(brief).sort(), [`${alice.user_id}/${alice.device_id}: {"n":2}`, `${alice.user_id}/${alice2.device_id}: {"n":2}`].sort());
  t.equal(new Set(recs.map((r) => r.message_id)).size, 1, 'one message id per request');
});

t.test('a device named next to * gets its own message; unknown users and devices are skipped; remote ones passed on', async (t) => {
  const n = (await records()).length;
  await send(alice, 'org.example.ping', 'txn-3', {
    messages: {
      [alice.user_id]: { '*': { to: 'all' }, [alice2.device_id]: { to: 'second' }, NOSUCHDEVICE: { to: 'nobody' } },
      [bob.user_id]: { NOSUCHDEVICE: { to: 'nobody' } },
      [`@nobody:${h.serverName}`]: { '*': { to: 'nobody' } },
      '@carol:remote.example': { '*': { to: 'carol' }, CAROLDEV: { to: 'carol dev' } },
    },
  });
  t.same(
    (await since(n)).map(brief).sort(),
    [
      `${alice.user_id}/${alice.device_id}: {"to":"all"}`,
      `${alice.user_id}/${alice2.device_id}: {"to":"second"}`,
      '@carol:remote.example/*: {"to":"carol"}',
      '@carol:remote.example/CAROLDEV: {"to":"carol dev"}',
    ].sort(),
  );
});

t.test('idempotent per sender device, event type and transaction id', async (t) => {
  const n = (await records()).length;
  const body = { messages: { [bob.user_id]: { [bob.device_id]: { n: 4 } } } };
  await send(alice, 'org.example.ping', 'txn-4', body);
  t.equal((await since(n)).length, 1);
  const again = await send(alice, 'org.example.ping', 'txn-4', { messages: { [bob.user_id]: { [bob.device_id]: { n: 'different' } } } });
  await expectOk(t, again, 'PUT /sendToDevice/{eventType}/{txnId}', 'a retransmission');
  t.equal((await since(n)).length, 1, 'a retransmission writes nothing');
  await Promise.all([1, 2, 3].map(() => send(alice, 'org.example.ping', 'txn-5', body)));
  t.equal((await since(n)).length, 2, 'concurrent retransmissions: written once');
  await send(alice, 'org.example.other', 'txn-4', body);
  t.equal((await since(n)).length, 3, 'another event type (another path): new');
  await send(alice2, 'org.example.ping', 'txn-4', body);
  t.equal((await since(n)).length, 4, 'another device of the same user: new');
  await send(bob, 'org.example.ping', 'txn-4', { messages: { [alice.user_id]: { [alice.device_id]: {} } } });
  t.equal((await since(n)).length, 5, 'another sender: new');
});

t.test('refusals store nothing and do not use up the transaction id', async (t) => {
  const before = await records();
  const cases: [string, unknown, number, string][] = [
    ['messages missing', {}, 400, 'M_BAD_JSON'],
    ['messages not an object', { messages: [] }, 400, 'M_BAD_JSON'],
    ['a device map not an object', { messages: { [bob.user_id]: 'x' } }, 400, 'M_BAD_JSON'],
    ['content not an object', { messages: { [bob.user_id]: { [bob.device_id]: 5 } } }, 400, 'M_BAD_JSON'],
    ['not a user id', { messages: { bob: { [bob.device_id]: {} } } }, 400, 'M_INVALID_PARAM'],
    ['not JSON', '{"messages": ', 400, 'M_NOT_JSON'],
  ];
  for (const [what, body, status, errcode] of cases) expectError(t, await send(alice, 'org.example.ping', 'txn-6', body), status, errcode, what);
  expectError(t, await send(undefined, 'org.example.ping', 'txn-6', { messages: {} }), 401, 'M_MISSING_TOKEN', 'no token');
  t.same(await records(), before, 'nothing stored');
  await send(alice, 'org.example.ping', 'txn-6', { messages: { [bob.user_id]: { [bob.device_id]: { n: 6 } } } });
  t.equal((await records()).length, before.length + 1, 'the transaction id still works');
});

t.test('guests may send to devices (guest access module)', async (t) => {
  const g = (await h.cctx.userapi.createAccount({ guest: true, login: {} })).login!;
  const guest = { user_id: g.user_id, device_id: g.device_id, token: g.access_token };
  const n = (await records()).length;
  await expectOk(t, await send(guest, 'm.room_key_request', 'g1', { messages: { [bob.user_id]: { '*': { action: 'cancellation' } } } }), 'PUT /sendToDevice/{eventType}/{txnId}');
  t.match(await since(n), [{ sender: guest.user_id, user_id: bob.user_id, device_id: bob.device_id }]);
});

t.test('messages and transactions survive a restart', async (t) => {
  const before = await records();
  h = await h.restart();
  t.same(await records(), before, 'every message is still in the log until the SyncAPI takes it');
  await send(alice, 'org.example.ping', 'txn-4', { messages: { [bob.user_id]: { [bob.device_id]: { n: 4 } } } });
  t.same(await records(), before, 'a retransmission after the restart writes nothing');
  await send(alice, 'org.example.ping', 'txn-7', { messages: { [bob.user_id]: { [bob.device_id]: { n: 7 } } } });
  t.equal((await records()).length, before.length + 1, 'a new transaction does');
});
