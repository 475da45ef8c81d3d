// State resolution cases of our own: v1, orderings, the v2.1 subgraph,
// rejected auth events, trivial inputs, and a large room.
import t from 'tap';
import { roomVersion } from '../../../src/core/room-versions.js';
import { conflictedStateSubgraph, EventGraph, resolveState, stateKey } from '../../../src/core/stateres/index.js';
import { mainlineOrder, reverseTopologicalPowerOrder } from '../../../src/core/stateres/ordering.js';
import { Dag } from './dag.js';

const alice = '@alice:a';
const bob = '@bob:b';
const eve = '@eve:e';
const K = stateKey;

t.test('v1: power levels chain, membership chain, and the deepest passing event', async (t) => {
  const dag = new Dag('1');
  const base = dag.bootstrap(alice, { users: { [alice]: 100 } });
  dag.join('$bob-join:b', bob, base);
  dag.join('$eve-join:e', eve, base);

  const a = new Map(base);
  dag.add('$plA:a', { type: 'm.room.power_levels', sender: alice, stateKey: '', content: { users: { [alice]: 100, [bob]: 50 } } }, a);
  dag.add('$topic-alice:a', { type: 'm.room.topic', sender: alice, stateKey: '', content: { topic: 'alice' } }, a);

  const b = new Map(base);
  // bob promotes himself: only valid where he already had 100, which he never has.
  dag.add('$plB:b', { type: 'm.room.power_levels', sender: bob, stateKey: '', content: { users: { [alice]: 100, [bob]: 100 } }, depth: 20 }, b);
  dag.add('$bob-leave:b', { type: 'm.room.member', sender: bob, stateKey: bob, content: { membership: 'leave' }, depth: 21 }, b);
  // eve's topic is deeper but she is below state_default.
  dag.add('$topic-eve:e', { type: 'm.room.topic', sender: eve, stateKey: '', content: { topic: 'eve' }, depth: 22 }, b);

  const resolved = resolveState(dag.version, [a, b], { getEvent: dag.getEvent });
  t.equal(resolved.get(K('m.room.power_levels', '')), '$plA:a', 'the later power levels fail auth, so the chain stops at the earlier one');
  t.equal(resolved.get(K('m.room.member', bob)), '$bob-leave:b', "bob's own leave follows his join");
  t.equal(resolved.get(K('m.room.topic', '')), '$topic-alice:a', "eve's deeper topic fails auth");
  t.equal(resolved.get(K('m.room.create', '')), '$create', 'unconflicted state stays');
  t.equal(resolved.get(K('m.room.member', eve)), '$eve-join:e');

  // v1 only calls different events for one key a conflict: a key one state lacks is kept as is.
  const c = new Map(base);
  dag.add('$name:a', { type: 'm.room.name', sender: alice, stateKey: '', content: { name: 'n' } }, c);
  const withName = resolveState(dag.version, [c, base], { getEvent: dag.getEvent });
  t.equal(withName.get(K('m.room.name', '')), '$name:a', 'v1: a key missing from one state is no conflict');
  t.same(withName, c, 'v1: nothing else changes');

  // Same sets under v2: resolution is by power ordering, with the same outcome for this fork.
  t.same(resolveState(roomVersion('2')!, [a, b], { getEvent: dag.getEvent }).get(K('m.room.power_levels', '')), '$plA:a', 'v2 agrees on power levels');
});

t.test('trivial inputs', async (t) => {
  const dag = new Dag('10');
  const base = dag.bootstrap(alice, { users: { [alice]: 100 } });
  t.same([...resolveState(dag.version, [], { getEvent: dag.getEvent })], [], 'no state sets');
  t.same(resolveState(dag.version, [base], { getEvent: dag.getEvent }), base, 'one state set');
  t.same(resolveState(dag.version, [base, new Map(base)], { getEvent: dag.getEvent }), base, 'identical state sets');
  t.same(resolveState(roomVersion('1')!, [base, new Map(base)], { getEvent: dag.getEvent }), base, 'identical state sets, v1');
});

t.test('mainline ordering puts events based on older power levels first', async (t) => {
  const dag = new Dag('10');
  const base = dag.bootstrap(alice, { users: { [alice]: 100 } });
  dag.join('$bob', bob, base);
  const beforePromotion = new Map(base);
  dag.add('$pl1', { type: 'm.room.power_levels', sender: alice, stateKey: '', content: { users: { [alice]: 100, [bob]: 50 } } }, base);
  // Cites $pl0 (mainline position 1) but has the later timestamp.
  const older = dag.add('$topic-old-pl', { type: 'm.room.topic', sender: alice, stateKey: '', content: { topic: 'old' }, ts: 2000 }, new Map(beforePromotion));
  // Cites $pl1 (position 0), earlier timestamp.
  const newer = dag.add('$topic-new-pl', { type: 'm.room.topic', sender: alice, stateKey: '', content: { topic: 'new' }, ts: 1000 }, new Map(base));
  const none = dag.add('$topic-no-pl', { type: 'm.room.topic', sender: alice, stateKey: '', content: { topic: 'none' }, ts: 3000, authEvents: ['$create', '$join-creator'] }, new Map());

  const graph = new EventGraph(dag.getEvent);
  t.same(mainlineOrder([newer, older, none], '$pl1', graph), [none, older, newer], 'no power levels (∞), then position 1, then position 0');
  t.same(mainlineOrder([newer, older], undefined, graph), [newer, older], 'without power levels: by timestamp');

  const s1 = new Map(base).set(K('m.room.topic', ''), older);
  const s2 = new Map(base).set(K('m.room.topic', ''), newer);
  t.equal(resolveState(dag.version, [s1, s2], { getEvent: dag.getEvent }).get(K('m.room.topic', '')), newer, 'the event on the newer mainline is applied last and wins');
});

t.test('reverse topological power ordering', async (t) => {
  const dag = new Dag('10');
  const base = dag.bootstrap(alice, { users: { [alice]: 100, [bob]: 50, [eve]: 50 } });
  dag.join('$bob', bob, base);
  dag.join('$eve', eve, base);
  const jr = (id: string, sender: string, ts: number) =>
    dag.add(id, { type: 'm.room.join_rules', sender, stateKey: '', content: { join_rule: 'invite' }, ts }, new Map(base));
  const fromBob = jr('$jr-bob', bob, 10);
  const fromEve = jr('$jr-eve', eve, 10);
  const fromAlice = jr('$jr-alice', alice, 30);
  const bobLater = jr('$jr-bob-later', bob, 20);
  const graph = new EventGraph(dag.getEvent);
  const order = reverseTopologicalPowerOrder(new Set([fromEve, bobLater, fromAlice, fromBob, '$pl0']), graph, dag.version);
  t.same(order, ['$pl0', fromAlice, fromBob, fromEve, bobLater], 'auth ancestors first, then power, timestamp, event id');
});

t.test('v2.1 conflicted state subgraph', async (t) => {
  const edges: Record<string, string[]> = { c1: ['x', 'z'], x: ['y'], y: ['c2'], z: [], c2: ['root'], w: ['c2'], root: [] };
  const graph = new EventGraph((id) => (edges[id] ? ({ auth_events: edges[id] } as never) : undefined));
  t.same([...conflictedStateSubgraph(new Set(['c1', 'c2']), graph)].sort(), ['c1', 'c2', 'x', 'y'], 'paths between conflicted events, endpoints included');
  t.same([...conflictedStateSubgraph(new Set(['c1', 'w']), graph)].sort(), ['c1', 'w'], 'no path: just the conflicted events');
});

t.test('rejected events are not used as auth events', async (t) => {
  const dag = new Dag('12', '!create');
  const base = dag.bootstrap(alice, { users: {} });
  dag.join('$bob', bob, base);
  dag.add('$pl-low', { type: 'm.room.power_levels', sender: alice, stateKey: '', content: { state_default: 0 } }, base);
  // Cites $pl-low and $bob, so both are in every state set's auth chain and only the topic is conflicted.
  dag.add('$bob-state', { type: 'x.bob', sender: bob, stateKey: bob }, base);
  const withTopic = new Map(base);
  dag.add('$topic', { type: 'm.room.topic', sender: bob, stateKey: '', content: { topic: 'x' } }, withTopic);
  // v2.1 checks the topic against empty state, so all it needs comes from its auth events.
  const sets = [withTopic, base];
  const options = { getEvent: dag.getEvent };
  t.equal(resolveState(dag.version, sets, options).get(K('m.room.topic', '')), '$topic', "bob's membership, from his auth events, lets the topic in");
  t.equal(
    resolveState(dag.version, sets, { ...options, isRejected: (id) => id === '$bob' }).get(K('m.room.topic', '')),
    undefined,
    'with his membership rejected the topic fails',
  );
});

t.test('a room of 10 000 members with 200 conflicting events', async (t) => {
  for (const v of ['10', '12']) {
    const dag = new Dag(v, v === '12' ? '!create' : '!room:a');
    const base = dag.bootstrap(alice, v === '12' ? { users: {} } : { users: { [alice]: 100 } });
    const users = Array.from({ length: 10_000 }, (_, i) => `@u${i}:s${i % 50}`);
    for (const u of users) dag.join(`$join-${u}`, u, base);

    // One side renames 100 members; the other kicks 100 others and adds a moderator.
    const renames = new Map(base);
    for (const u of users.slice(0, 100)) dag.join(`$rename-${u}`, u, renames, { displayname: 'x' });
    const kicks = new Map(base);
    dag.add('$pl-mod', { type: 'm.room.power_levels', sender: alice, stateKey: '', content: { users: { ...(v === '12' ? {} : { [alice]: 100 }), [users[5000]!]: 50 } } }, kicks);
    for (const u of users.slice(100, 199)) {
      dag.add(`$kick-${u}`, { type: 'm.room.member', sender: alice, stateKey: u, content: { membership: 'leave' } }, kicks);
    }

    const started = performance.now();
    const resolved = resolveState(dag.version, [renames, kicks], { getEvent: dag.getEvent });
    const ms = performance.now() - started;
    t.equal(resolved.size, base.size, `v${v}: every key resolved`);
    t.equal(resolved.get(K('m.room.member', users[0]!)), `$rename-${users[0]}`, `v${v}: renames applied`);
    t.equal(resolved.get(K('m.room.member', users[150]!)), `$kick-${users[150]}`, `v${v}: kicks applied`);
    t.equal(resolved.get(K('m.room.power_levels', '')), '$pl-mod', `v${v}: new power levels`);
    // Speed is measured by `make bench`; this only reports it.
    t.comment(`v${v}: resolved in ${ms.toFixed(0)} ms`);
  }
});
