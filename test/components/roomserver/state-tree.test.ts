/**
 * StateTree: the content-addressed HAMT that stores room state. Checked
 * against a plain Map model with seeded random operations (seeds printed;
 * set STATE_TREE_SEED to replay one), for canonical roots, diffs, the nodes
 * an update returns, a real LevelDB, last-level collisions, the node cache,
 * and a storage-growth measurement.
 */
import { rng } from '../../helpers/random.js';
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Database } from '../../../src/platform/storage/database.js';
import {
  EMPTY_STATE_ROOT,
  LEAF_MAX,
  MAX_DEPTH,
  MemoryNodeStore,
  StateNodeMissingError,
  StateTree,
  encodeNode,
  isLeaf,
  levelNodeStore,
  nodeId,
  stateKeyHash,
  stateNodePuts,
  type KeyHash,
  type StateChange,
  type StateNode,
} from '../../../src/components/roomserver/state/state-tree.js';


const SEEDS: number[] = process.env.STATE_TREE_SEED
  ? [Number(process.env.STATE_TREE_SEED)]
  : [1, 2, 3, Math.floor(Math.random() * 0xffffffff)];

const memberKey = (i: number): string => `m.room.member\u0000@user${i}:example.org`;

function shuffle<T>(r: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function sortedEntries(m: Map<string, string>): [string, string][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function sortedChanges(cs: StateChange[]): StateChange[] {
  return [...cs].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

function modelDiff(a: Map<string, string>, b: Map<string, string>): StateChange[] {
  const out: StateChange[] = [];
  for (const [key, v] of a) if (b.get(key) !== v) out.push({ key, a: v, b: b.get(key) });
  for (const [key, w] of b) if (!a.has(key)) out.push({ key, a: undefined, b: w });
  return sortedChanges(out);
}

/** Node ids reachable from `root`, read straight from the store's map. */
function reachable(store: MemoryNodeStore, root: string): Set<string> {
  const out = new Set<string>();
  const stack = root === EMPTY_STATE_ROOT ? [] : [root];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    const node = store.nodes.get(id);
    if (!node) throw new Error(`unreachable node ${id}`);
    if (!isLeaf(node)) stack.push(...node.c);
  }
  return out;
}

/** Depth of the node that holds `key` (0 = root). */
async function depthOf(store: MemoryNodeStore, root: string, key: string, hash: KeyHash = stateKeyHash): Promise<number> {
  let node = store.nodes.get(root);
  const h = hash(key) >>> 0;
  for (let d = 0; node; d++) {
    if (isLeaf(node)) return d;
    const slot = (h >>> (4 * d)) & 15;
    const bit = 1 << slot;
    if (!(node.m & bit)) return d;
    let idx = 0;
    for (let s = 0; s < slot; s++) if (node.m & (1 << s)) idx++;
    node = store.nodes.get(node.c[idx]!);
  }
  return 0;
}

/** Builds `model` from the empty map in one update. */
async function buildAll(tree: StateTree, store: MemoryNodeStore, model: Map<string, string>): Promise<string> {
  const u = await tree.update(EMPTY_STATE_ROOT, new Map(model));
  store.put(u.nodes);
  return u.root;
}

/** Checks a tree's whole structure against the canonical rules. */
function checkShape(t: Test, store: MemoryNodeStore, root: string, hash: KeyHash, label: string): void {
  const problems: string[] = [];
  const walk = (id: string, depth: number, prefix: number): number => {
    const node = store.nodes.get(id)!;
    if (nodeId(node) !== id) problems.push(`${id}: id is not the hash of the node`);
    const mask = depth === 0 ? 0 : (2 ** (4 * depth) - 1) >>> 0;
    if (isLeaf(node)) {
      if (node.e.length > LEAF_MAX && depth < MAX_DEPTH) problems.push(`${id}: leaf of ${node.e.length} above the last level`);
      if (node.e.length === 0) problems.push(`${id}: empty leaf below the root`);
      for (let i = 1; i < node.e.length; i++) if (!(node.e[i - 1]![0] < node.e[i]![0])) problems.push(`${id}: leaf not sorted`);
      for (const [k] of node.e) if (((hash(k) >>> 0) & mask) >>> 0 !== prefix) problems.push(`${id}: key in the wrong subtree`);
      return node.e.length;
    }
    let n = 0;
    let idx = 0;
    for (let slot = 0; slot < 16; slot++) {
      if (!(node.m & (1 << slot))) continue;
      n += walk(node.c[idx++]!, depth + 1, (prefix | (slot << (4 * depth))) >>> 0);
    }
    if (idx !== node.c.length) problems.push(`${id}: bitmap and children disagree`);
    if (n !== node.n) problems.push(`${id}: size ${node.n} but ${n} entries below`);
    if (n <= LEAF_MAX) problems.push(`${id}: branch of ${n} entries should be a leaf`);
    return n;
  };
  if (root !== EMPTY_STATE_ROOT) walk(root, 0, 0);
  t.same(problems.slice(0, 5), [], `${label}: the tree has the canonical shape`);
}

t.test('the empty map, single keys, reads', async (t) => {
  const store = new MemoryNodeStore();
  const tree = new StateTree(store);
  t.equal(EMPTY_STATE_ROOT.length, 22, 'ids are 22 base64url characters');
  t.equal(EMPTY_STATE_ROOT, nodeId({ e: [] }), 'the empty root is the id of the empty leaf');
  t.equal(tree.emptyRoot, EMPTY_STATE_ROOT);
  t.equal(await tree.get(EMPTY_STATE_ROOT, 'x'), undefined, 'the empty map needs no stored node');
  t.equal(await tree.size(EMPTY_STATE_ROOT), 0);
  t.same([...(await tree.entries(EMPTY_STATE_ROOT))], []);
  t.same(await tree.diff(EMPTY_STATE_ROOT, EMPTY_STATE_ROOT), []);

  const u = await tree.update(EMPTY_STATE_ROOT, new Map([['m.room.create\u0000', '1'], ['m.room.name\u0000', '2']]));
  t.equal(u.nodes.length, 1, 'a small map is one leaf');
  t.same(u.nodes[0]![1], { e: [['m.room.create\u0000', '1'], ['m.room.name\u0000', '2']] }, 'leaf entries sorted by key');
  t.equal(u.nodes[0]![0], u.root);
  t.equal(encodeNode(u.nodes[0]![1]), JSON.stringify(u.nodes[0]![1]), 'the canonical encoding is the stored JSON');
  store.put(u.nodes);
  t.equal(await tree.get(u.root, 'm.room.name\u0000'), '2');
  t.equal(await tree.get(u.root, 'm.room.topic\u0000'), undefined);
  t.same(await tree.getMany(u.root, ['m.room.topic\u0000', 'm.room.create\u0000']), new Map([['m.room.create\u0000', '1']]));
  t.equal(await tree.size(u.root), 2);

  const none = await tree.update(u.root, new Map([['m.room.name\u0000', '2'], ['absent', null]]));
  t.same(none, { root: u.root, nodes: [] }, 'a no-op update keeps the root and writes nothing');
  t.same(await tree.update(u.root, new Map()), { root: u.root, nodes: [] });
  const gone = await tree.update(u.root, new Map([['m.room.name\u0000', null], ['m.room.create\u0000', null]]));
  t.same(gone, { root: EMPTY_STATE_ROOT, nodes: [] }, 'deleting everything gives the empty root');

  const odd = ['', '\u0000', '\ud800', '\udc00', '\ud800\udc00', 'é', '"\\'];
  const v = await tree.update(EMPTY_STATE_ROOT, new Map(odd.map((k, i) => [k, String(i)])));
  store.put(v.nodes);
  t.same(await tree.getMany(v.root, odd), new Map(odd.map((k, i) => [k, String(i)])), 'empty, NUL and lone-surrogate keys are distinct');
  await t.rejects(new StateTree(new MemoryNodeStore()).get(u.root, 'x'), StateNodeMissingError, 'a missing node is an error, not an empty answer');
});

interface HashVariant {
  name: string;
  hash: KeyHash | undefined;
  pool: number;
  steps: number;
}

const VARIANTS: HashVariant[] = [
  { name: 'default hash', hash: undefined, pool: 3000, steps: 160 },
  // Only 5 hash bits and 2 slots per level: deep trees and big last-level leaves with few keys.
  { name: 'narrow hash', hash: (k) => stateKeyHash(k) & 0x00011111, pool: 1200, steps: 160 },
  { name: 'constant hash', hash: () => 0, pool: 90, steps: 160 },
];

t.test('random operations against a Map model', async (t) => {
  for (const variant of VARIANTS) {
    for (const seed of SEEDS) {
      t.comment(`${variant.name}, seed ${seed}`);
      const label = `${variant.name} seed ${seed}`;
      const r = rng(seed);
      const hash = variant.hash ?? stateKeyHash;
      const store = new MemoryNodeStore();
      const tree = new StateTree(store, { hash: variant.hash, cacheSize: 300 });
      const model = new Map<string, string>();
      let root = EMPTY_STATE_ROOT;
      const failures: string[] = [];
      const fail = (step: number, what: string): void => {
        if (failures.length < 5) failures.push(`step ${step}: ${what}`);
      };
      let maxSize = 0;
      for (let step = 0; step < variant.steps; step++) {
        // Grow for a while, then shrink to nothing, so trees both split and collapse.
        const phase = Math.floor(step / (variant.steps / 4)) % 2 === 0 ? 'grow' : 'shrink';
        const pDelete = phase === 'grow' ? 0.15 : 0.85;
        const big = r() < 0.15;
        const n = big ? 1 + Math.floor(r() * (variant.pool / 2)) : 1 + Math.floor(r() * 3);
        const changes = new Map<string, string | null>();
        for (let i = 0; i < n; i++) {
          const useExisting = model.size > 0 && r() < 0.5;
          const key = useExisting ? [...model.keys()][Math.floor(r() * model.size)]! : memberKey(Math.floor(r() * variant.pool));
          const x = r();
          // Deleting absent keys and rewriting equal values are no-ops the tree must notice.
          changes.set(key, x < pDelete ? null : x < pDelete + 0.05 && model.has(key) ? model.get(key)! : Math.floor(r() * 1e6).toString(36));
        }
        const before = new Map(model);
        const beforeJson = JSON.stringify(sortedEntries(model));
        for (const [k, v] of changes) {
          if (v === null) model.delete(k);
          else model.set(k, v);
        }
        maxSize = Math.max(maxSize, model.size);

        const oldReach = reachable(store, root);
        const u = await tree.update(root, changes);
        for (const [id, node] of u.nodes) {
          if (nodeId(node) !== id) fail(step, `returned node ${id} is not named by its hash`);
          if (oldReach.has(id)) fail(step, `returned node ${id} was already in the old state`);
        }
        if (new Set(u.nodes.map(([id]) => id)).size !== u.nodes.length) fail(step, 'a node returned twice');
        // Only the old state's nodes plus the returned ones, read without a cache.
        const minimal = new MemoryNodeStore([...oldReach].map((id) => [id, store.nodes.get(id)!] as const));
        minimal.put(u.nodes);
        const cold = new StateTree(minimal, { hash: variant.hash, cacheSize: 0 });
        const coldEntries = await cold.entries(u.root);
        if (JSON.stringify(sortedEntries(coldEntries)) !== JSON.stringify(sortedEntries(model))) fail(step, 'entries differ from the model');
        const newReach = reachable(minimal, u.root);
        for (const [id] of u.nodes) if (!newReach.has(id)) fail(step, `returned node ${id} is not part of the new state`);
        if (beforeJson === JSON.stringify(sortedEntries(model)) && (u.root !== root || u.nodes.length > 0)) fail(step, 'a no-op update changed something');
        store.put(u.nodes);
        const prev = root;
        root = u.root;

        if ((await tree.size(root)) !== model.size) fail(step, `size ${await tree.size(root)}, model ${model.size}`);
        const probes = [...changes.keys()].slice(0, 20);
        probes.push(memberKey(variant.pool + step));
        for (const k of probes) if ((await cold.get(root, k)) !== model.get(k)) fail(step, `get ${JSON.stringify(k)}`);
        const many = await tree.getMany(root, probes);
        const expectMany = new Map(probes.filter((k) => model.has(k)).map((k) => [k, model.get(k)!]));
        if (JSON.stringify(sortedEntries(many)) !== JSON.stringify(sortedEntries(expectMany))) fail(step, 'getMany');
        const d = sortedChanges(await tree.diff(prev, root));
        if (JSON.stringify(d) !== JSON.stringify(modelDiff(before, model))) fail(step, 'diff against the previous state');
        // Canonical: the same contents built in one go from nothing.
        const fresh = new StateTree(new MemoryNodeStore(), { hash: variant.hash });
        const rebuilt = await fresh.update(EMPTY_STATE_ROOT, new Map(model));
        if (rebuilt.root !== root) fail(step, 'root differs from a fresh build of the same contents');
      }
      t.same(failures, [], `${label}: every step agrees with the model (largest state ${maxSize})`);
      t.equal(root === EMPTY_STATE_ROOT, model.size === 0);
      checkShape(t, store, root, hash, label);
    }
  }
});

t.test('canonical roots: the same contents give the same root whatever the history', async (t) => {
  for (const seed of SEEDS) {
    const r = rng(seed);
    const store = new MemoryNodeStore();
    const tree = new StateTree(store);
    const target = new Map<string, string>();
    for (let i = 0; i < 1200; i++) target.set(memberKey(i), Math.floor(r() * 1e6).toString(36));
    const oneBatch = await buildAll(tree, store, target);
    checkShape(t, store, oneBatch, stateKeyHash, `seed ${seed}`);

    // One key at a time, in a random order.
    let root = EMPTY_STATE_ROOT;
    for (const [k, v] of shuffle(r, [...target])) {
      const u = await tree.update(root, new Map([[k, v]]));
      store.put(u.nodes);
      root = u.root;
    }
    t.equal(root, oneBatch, `seed ${seed}: one at a time in random order`);

    // Random batches with detours: extra keys added then deleted, values changed then restored.
    root = EMPTY_STATE_ROOT;
    const pending = shuffle(r, [...target]);
    const junk = new Map<string, string>();
    while (pending.length > 0 || junk.size > 0) {
      const changes = new Map<string, string | null>();
      for (const [k, v] of pending.splice(0, 1 + Math.floor(r() * 60))) changes.set(k, r() < 0.2 ? 'wrong' : v);
      for (let i = 0; i < 10 && pending.length > 0; i++) {
        const k = memberKey(5000 + Math.floor(r() * 3000));
        junk.set(k, 'x');
        changes.set(k, 'x');
      }
      if (pending.length === 0) {
        for (const k of junk.keys()) changes.set(k, null);
        junk.clear();
      }
      const u = await tree.update(root, changes);
      store.put(u.nodes);
      root = u.root;
    }
    const fixes = new Map<string, string | null>();
    for (const [k, v] of target) if ((await tree.get(root, k)) !== v) fixes.set(k, v);
    const fixed = await tree.update(root, fixes);
    store.put(fixed.nodes);
    t.ok(fixes.size > 0, 'some values were wrong before the fix');
    t.equal(fixed.root, oneBatch, `seed ${seed}: random batches with detours`);

    // Shrinking to a subset matches building the subset; shrinking to nothing gives the empty root.
    // At most LEAF_MAX entries, so that they fit one leaf (a 2 % sample of 1 200 was 33 for one seed).
    const keep = new Map(shuffle(r, [...target]).slice(0, 1 + Math.floor(r() * LEAF_MAX)));
    const dels = new Map<string, string | null>([...target.keys()].filter((k) => !keep.has(k)).map((k) => [k, null]));
    const shrunk = await tree.update(oneBatch, dels);
    t.equal(shrunk.root, await buildAll(new StateTree(new MemoryNodeStore()), new MemoryNodeStore(), keep), `seed ${seed}: shrunk to ${keep.size} entries collapses to the same leaf`);
    t.ok(isLeaf(shrunk.nodes.find(([id]) => id === shrunk.root)![1]), 'and that root is a leaf');
    let empty = oneBatch;
    for (const k of shuffle(r, [...target.keys()])) {
      const u = await tree.update(empty, new Map([[k, null]]));
      store.put(u.nodes);
      empty = u.root;
    }
    t.equal(empty, EMPTY_STATE_ROOT, `seed ${seed}: deleting every key one by one gives the empty root`);
  }

  // Two forks that reach the same state share its root and every node.
  const store = new MemoryNodeStore();
  const tree = new StateTree(store);
  const base = await buildAll(tree, store, new Map(Array.from({ length: 500 }, (_, i) => [memberKey(i), 'join'])));
  const a1 = await tree.update(base, new Map([[memberKey(1), 'leave']]));
  store.put(a1.nodes);
  const a2 = await tree.update(a1.root, new Map([[memberKey(2), 'ban']]));
  const b1 = await tree.update(base, new Map([[memberKey(2), 'ban']]));
  store.put(b1.nodes);
  const b2 = await tree.update(b1.root, new Map([[memberKey(1), 'leave']]));
  t.equal(a2.root, b2.root, 'forks converging on the same state have the same root');
  t.same(new Set(a2.nodes.map(([id]) => id)).size > 0 && a2.nodes.every(([id]) => b2.nodes.some(([j]) => j === id) || store.nodes.has(id)), true, 'and the same nodes');
});

t.test('diff against the model, skipping identical subtrees', async (t) => {
  for (const seed of SEEDS) {
    const r = rng(seed);
    const store = new MemoryNodeStore();
    const tree = new StateTree(store);
    const baseModel = new Map(Array.from({ length: 3000 }, (_, i) => [memberKey(i), 'j' + (i % 7)]));
    const base = await buildAll(tree, store, baseModel);
    const derive = async (k: number): Promise<[string, Map<string, string>]> => {
      const m = new Map(baseModel);
      const changes = new Map<string, string | null>();
      for (let i = 0; i < k; i++) {
        const key = memberKey(Math.floor(r() * 4000));
        const v = r() < 0.3 ? null : 'v' + Math.floor(r() * 100);
        changes.set(key, v);
      }
      for (const [key, v] of changes) {
        if (v === null) m.delete(key);
        else m.set(key, v);
      }
      const u = await tree.update(base, changes);
      store.put(u.nodes);
      return [u.root, m];
    };
    const states: [string, Map<string, string>][] = [[base, baseModel], [EMPTY_STATE_ROOT, new Map()]];
    for (const k of [1, 2, 5, 40, 400, 3000]) states.push(await derive(k));
    const small = new Map([[memberKey(1), 'x'], [memberKey(3001), 'y']]);
    states.push([await buildAll(tree, store, small), small]);
    const bad: string[] = [];
    for (const [ra, ma] of states) {
      for (const [rb, mb] of states) {
        const d = sortedChanges(await tree.diff(ra, rb));
        if (JSON.stringify(d) !== JSON.stringify(modelDiff(ma, mb))) bad.push(`${ma.size} → ${mb.size}`);
        // The diff, applied to a, gives b.
        const u = await tree.update(ra, new Map(d.map((c) => [c.key, c.b ?? null])));
        if (u.root !== rb) bad.push(`applying the diff ${ma.size} → ${mb.size}`);
      }
    }
    t.same(bad, [], `seed ${seed}: every pair of ${states.length} states diffs as the model does, and applying a diff converts`);
  }

  // A one-key change in a big state reads only the two paths to that key.
  const store = new MemoryNodeStore();
  const tree = new StateTree(store);
  const big = await buildAll(tree, store, new Map(Array.from({ length: 10000 }, (_, i) => [memberKey(i), 'join'])));
  const u = await tree.update(big, new Map([[memberKey(4321), 'leave']]));
  store.put(u.nodes);
  const cold = new StateTree(store, { cacheSize: 0 });
  store.reads = 0;
  t.same(await cold.diff(big, u.root), [{ key: memberKey(4321), a: 'join', b: 'leave' }]);
  const depth = await depthOf(store, big, memberKey(4321));
  t.ok(store.reads <= 2 * (depth + 1), `diff of a one-key change in 10 000 entries read ${store.reads} nodes (two paths of ${depth + 1})`);
});

t.test('update returns only the new nodes, and they suffice', async (t) => {
  const store = new MemoryNodeStore();
  const tree = new StateTree(store);
  const model = new Map(Array.from({ length: 10000 }, (_, i) => [memberKey(i), 'join']));
  const root = await buildAll(tree, store, model);
  checkShape(t, store, root, stateKeyHash, '10 000 entries');
  t.equal(reachable(store, root).size, store.nodes.size, 'a build from nothing returns exactly the nodes of the state');

  for (const i of [0, 17, 9999]) {
    const key = memberKey(i);
    const depth = await depthOf(store, root, key);
    const u = await tree.update(root, new Map([[key, 'leave']]));
    t.equal(u.nodes.length, depth + 1, `one changed key writes the ${depth + 1} nodes on its path`);
    const onlyNew = new MemoryNodeStore(store.nodes);
    onlyNew.put(u.nodes);
    const cold = new StateTree(onlyNew, { cacheSize: 0 });
    t.equal(await cold.get(u.root, key), 'leave');
    t.equal(await cold.size(u.root), 10000);
  }
  // A leaf that splits, or a branch that collapses, can rebuild a node the old
  // state already had; such a node is not returned.
  const byLetter: KeyHash = (k) => (k.startsWith('a') ? 0 : 1);
  const letters = new StateTree(new MemoryNodeStore(), { hash: byLetter });
  const aKeys = new Map(Array.from({ length: LEAF_MAX }, (_, i) => [`a${i}`, 'v']));
  const aLeaf = await letters.update(EMPTY_STATE_ROOT, aKeys);
  const split = await letters.update(aLeaf.root, new Map([['b0', 'v']]));
  t.equal(split.nodes.length, 2, 'a split returns the new branch and the new leaf ...');
  t.notOk(split.nodes.some(([id]) => id === aLeaf.root), '... not the old leaf it rebuilt');
  const collapsed = await letters.update(split.root, new Map([['b0', null]]));
  t.same(collapsed, { root: aLeaf.root, nodes: [] }, 'a collapse back to a leaf the old state held returns nothing');

  const before = store.nodes.size;
  const added = await tree.update(root, new Map([[memberKey(10000), 'invite']]));
  t.ok(added.nodes.length <= MAX_DEPTH + 16, 'adding a key writes one path (and the leaves of a split)');
  t.equal(store.nodes.size, before, 'update itself writes nothing to the store');
});

t.test('over a real LevelDB through the adapter', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'nt-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keyOf = (id: string): string => `sn\u0000${id}`;
  let db = await Database.open(join(dir, 'db'));
  let tree = new StateTree(levelNodeStore(db, keyOf));
  const model = new Map(Array.from({ length: 3000 }, (_, i) => [memberKey(i), i.toString(36)]));
  model.set('m.room.name\u0000', 'ünïcødé \ud800 😀');
  const u1 = await tree.update(EMPTY_STATE_ROOT, new Map(model));
  await db.write([...stateNodePuts(u1.nodes, keyOf), { type: 'put', key: 'room', value: u1.root }], { durable: true });
  const u2 = await tree.update(u1.root, new Map([[memberKey(5), null], [memberKey(3001), 'new']]));
  await db.write([...stateNodePuts(u2.nodes, keyOf), { type: 'put', key: 'room', value: u2.root }], { durable: true });
  await db.close();

  db = await Database.open(join(dir, 'db'));
  t.teardown(() => db.close());
  tree = new StateTree(levelNodeStore(db, keyOf), { cacheSize: 0 });
  const root = await db.get<string>('room');
  t.equal(root, u2.root);
  model.delete(memberKey(5));
  model.set(memberKey(3001), 'new');
  t.same(sortedEntries(await tree.entries(root!)), sortedEntries(model), 'entries read back from LevelDB after reopening');
  t.equal(await tree.get(root!, 'm.room.name\u0000'), 'ünïcødé \ud800 😀', 'a lone surrogate survives the JSON round trip');
  t.same(sortedChanges(await tree.diff(u1.root, root!)), sortedChanges([
    { key: memberKey(5), a: '5', b: undefined },
    { key: memberKey(3001), a: undefined, b: 'new' },
  ]));
  t.equal(await tree.size(root!), model.size);
  const stored = await db.get<StateNode>(keyOf(root!));
  t.equal(nodeId(stored!), root, 'the stored value hashes to its id');

  await t.rejects(tree.get('AAAAAAAAAAAAAAAAAAAAAA', 'x'), StateNodeMissingError, 'a missing node');
  await db.put(keyOf('BBBBBBBBBBBBBBBBBBBBBB'), { nope: 1 });
  await t.rejects(tree.get('BBBBBBBBBBBBBBBBBBBBBB', 'x'), /malformed/, 'a value that is not a node');
});

t.test('collisions at the last level', async (t) => {
  const hash: KeyHash = () => 0x12345678;
  const store = new MemoryNodeStore();
  const tree = new StateTree(store, { hash });
  const model = new Map(Array.from({ length: 100 }, (_, i) => [memberKey(i), String(i)]));
  const root = await buildAll(tree, store, model);
  t.equal(store.nodes.size, MAX_DEPTH + 1, `a chain of ${MAX_DEPTH} branches down to one leaf`);
  const leaf = [...store.nodes.values()].find(isLeaf)!;
  t.equal(leaf.e.length, 100, 'the last-level leaf grows past LEAF_MAX');
  checkShape(t, store, root, hash, 'colliding keys');
  t.same(await tree.getMany(root, [...model.keys()]), model, 'every colliding key is found');
  t.equal(await tree.get(root, memberKey(100)), undefined);

  const dels = new Map<string, string | null>(Array.from({ length: 67 }, (_, i) => [memberKey(i), null]));
  const u33 = await tree.update(root, dels);
  store.put(u33.nodes);
  t.equal(await tree.size(u33.root), 33);
  t.equal(u33.nodes.length, MAX_DEPTH + 1, '33 entries still need the chain');
  const u32 = await tree.update(u33.root, new Map([[memberKey(67), null]]));
  t.equal(u32.nodes.length, 1, 'at 32 entries the chain collapses into one leaf');
  t.ok(isLeaf(u32.nodes[0]![1]));
  store.put(u32.nodes);
  const rest = new Map([...model].slice(68));
  t.equal(u32.root, await buildAll(new StateTree(new MemoryNodeStore(), { hash }), new MemoryNodeStore(), rest), 'and is canonical');
  t.same(sortedChanges(await tree.diff(root, u32.root)), modelDiff(model, rest), 'diff across the collapse');
  const back = await tree.update(u32.root, new Map([...model].slice(0, 68)));
  t.equal(back.root, root, 'growing back gives the original root');
  // The chain was not in the 32-entry state, so it is returned again; it is the original's, already stored.
  t.equal(back.nodes.length, MAX_DEPTH + 1);
  t.ok(back.nodes.every(([id]) => store.nodes.has(id)), 'returning to an earlier state returns nodes already stored');
});

t.test('the node cache', async (t) => {
  const store = new MemoryNodeStore();
  const builder = new StateTree(store);
  const root = await buildAll(builder, store, new Map(Array.from({ length: 2000 }, (_, i) => [memberKey(i), 'join'])));
  t.ok(builder.cachedNodes > 100, 'nodes returned by update are cached');
  store.reads = 0;
  await builder.entries(root);
  t.equal(store.reads, 0, 'so reading them back does not touch the store');

  const small = new StateTree(store, { cacheSize: 10 });
  await small.entries(root);
  t.ok(small.cachedNodes > 0 && small.cachedNodes <= 10, 'the cache is bounded by count');
  store.reads = 0;
  await small.get(root, memberKey(5));
  await small.get(root, memberKey(5));
  t.equal(store.reads, (await depthOf(store, root, memberKey(5))) + 1, 'a repeated read comes from the cache');
  const u = await small.update(root, new Map([[memberKey(5), 'leave']]));
  store.reads = 0;
  t.equal(await small.get(u.root, memberKey(5)), 'leave', 'the new nodes are cached (not yet in the store)');
  t.equal(store.reads, 0);

  const none = new StateTree(store, { cacheSize: 0 });
  store.reads = 0;
  await none.get(root, memberKey(5));
  await none.get(root, memberKey(5));
  t.equal(none.cachedNodes, 0, 'cacheSize 0 caches nothing');
  t.equal(store.reads, 2 * ((await depthOf(store, root, memberKey(5))) + 1));
});

t.test('storage growth per single-key update', async (t) => {
  const r = rng(7);
  const value = (): string => Math.floor(r() * 36 ** 4).toString(36).padStart(4, '0');
  const lines: string[] = [];
  for (const n of [100, 1000, 10000]) {
    const store = new MemoryNodeStore();
    const tree = new StateTree(store);
    const model = new Map(Array.from({ length: n }, (_, i) => [memberKey(i), value()]));
    let root = await buildAll(tree, store, model);
    const whole = [...store.nodes.values()].reduce((s, node) => s + Buffer.byteLength(encodeNode(node)), 0);
    const snapshot = Buffer.byteLength(JSON.stringify([...model]));
    const updates = 500;
    let nodes = 0;
    let bytes = 0;
    let maxNodes = 0;
    for (let i = 0; i < updates; i++) {
      // Mostly membership changes of existing members, some new members.
      const key = r() < 0.8 ? memberKey(Math.floor(r() * n)) : memberKey(n + i);
      const u = await tree.update(root, new Map([[key, value()]]));
      store.put(u.nodes);
      root = u.root;
      nodes += u.nodes.length;
      maxNodes = Math.max(maxNodes, u.nodes.length);
      for (const [, node] of u.nodes) bytes += Buffer.byteLength(encodeNode(node));
    }
    lines.push(
      `${n} entries: ${(nodes / updates).toFixed(2)} nodes (max ${maxNodes}) and ${Math.round(bytes / updates)} bytes per single-key update; ` +
        `whole tree ${whole} bytes, a flat snapshot would be ${snapshot}`,
    );
    // One path, plus the up to 16 leaves of a leaf that splits.
    t.ok(maxNodes <= MAX_DEPTH + 16, `${n} entries: an update writes at most one path and one split`);
    t.ok(bytes / updates < whole / 4 || n < 200, `${n} entries: an update writes a small part of the state`);
  }
  for (const l of lines) t.comment(l);
});
