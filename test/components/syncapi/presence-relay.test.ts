/**
 * The sync's set_presence on its way to the EDUServer: offline asks nothing,
 * the same state within the window is passed on once, a change of state (or
 * a presence record for the user) goes through at once, and a call that
 * failed does not hold back the next.
 */
import t from 'tap';
import { PresenceRelay } from '../../../src/components/syncapi/presence-relay.js';

function relayWithClock(fail = () => false) {
  const sent: [string, string][] = [];
  let clock = 1_000_000;
  const relay = new PresenceRelay(
    async (userId, presence) => {
      if (fail()) throw new Error('EDUServer away');
      sent.push([userId, presence]);
    },
    () => clock,
    5_000,
  );
  return { relay, sent, advance: (ms: number) => (clock += ms) };
}

t.test('offline asks nothing; the same state within the window is passed on once', async (t) => {
  const { relay, sent, advance } = relayWithClock();
  await relay.relay('@a:h', 'offline');
  t.same(sent, [], 'offline: no call');
  await relay.relay('@a:h', 'online');
  await relay.relay('@a:h', 'online');
  advance(4_999);
  await relay.relay('@a:h', 'online');
  t.same(sent, [['@a:h', 'online']], 'one call for three syncs within five seconds');
  await relay.relay('@b:h', 'online');
  t.same(sent.at(-1), ['@b:h', 'online'], 'another user is not held back');
  advance(2);
  await relay.relay('@a:h', 'online');
  t.equal(sent.filter(([u]) => u === '@a:h').length, 2, 'after the window, the next sync tells the EDUServer the user still syncs');
});

t.test('a new state, or a presence change seen for the user, goes through at once', async (t) => {
  const { relay, sent } = relayWithClock();
  await relay.relay('@a:h', 'online');
  await relay.relay('@a:h', 'unavailable');
  t.same(sent, [['@a:h', 'online'], ['@a:h', 'unavailable']]);
  relay.changed('@a:h');
  await relay.relay('@a:h', 'unavailable');
  t.equal(sent.length, 3, 'after a presence record for the user (say the client set offline), the next sync is passed on');
});

t.test('a call that failed is tried again by the next sync', async (t) => {
  let down = true;
  const { relay, sent } = relayWithClock(() => down);
  await t.rejects(relay.relay('@a:h', 'online'));
  down = false;
  await relay.relay('@a:h', 'online');
  t.same(sent, [['@a:h', 'online']]);
});
