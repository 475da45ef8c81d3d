/**
 * Room state as a persistent, content-addressed hash array mapped trie.
 *
 * A state is a map from a state key (the roomserver encodes (event type,
 * state_key) into one string) to a string value (an event id or a numeric
 * event id). Storing every state whole would cost events × state; here a
 * state is the id of the root node of a trie whose nodes are immutable and
 * named by the hash of their contents, so a state that differs from another
 * in k keys adds only the O(k · depth) nodes on the changed paths, and equal
 * subtrees — and equal states reached through different histories — are
 * stored once.
 *
 * Shape: a node holding at most LEAF_MAX entries is a leaf (entries sorted by
 * key); a larger one is a branch of up to 16 children chosen by the next 4
 * bits of the key's 32-bit hash. When the bits run out (depth MAX_DEPTH) a
 * leaf grows without bound. The shape is a pure function of the entries
 * (branches collapse back to leaves as they shrink), so the same map always
 * has the same root id whatever order it was built in.
 *
 * The encoding of nodes, the key hash and the limits are an on-disk format:
 * changing any of them changes every root id.
 */
import { LruCache } from '../cache.js';
import { createHash } from 'node:crypto';
import type { Database, WriteOp } from '../../../platform/storage/database.js';

/** Most entries a leaf holds above the last level. */
export const LEAF_MAX = 32;
const BITS = 4;
const FANOUT = 1 << BITS;
const SLOT_MASK = FANOUT - 1;
/** Depth at which the 32 hash bits are used up: nodes there are always leaves. */
export const MAX_DEPTH = 32 / BITS;

export type StateEntry = readonly [key: string, value: string];

/** A leaf: `e` holds its entries sorted by key (UTF-16 code unit order). */
export interface StateLeaf {
  readonly e: readonly StateEntry[];
}

/**
 * A branch: `n` entries below it; bit i of `m` is set when slot i has a
 * child; `c` lists the children's ids in slot order (one per set bit).
 */
export interface StateBranch {
  readonly n: number;
  readonly m: number;
  readonly c: readonly string[];
}

/** A node as stored: this object is the JSON value, and its JSON text is what its id hashes. */
export type StateNode = StateLeaf | StateBranch;

export type KeyHash = (key: string) => number;

export interface StateNodeStore {
  get(id: string): Promise<StateNode | undefined>;
  /** Optional batched read, used when many nodes are wanted at once. */
  getMany?(ids: readonly string[]): Promise<(StateNode | undefined)[]>;
}

export interface StateTreeOptions {
  /** Decoded nodes kept in memory (LRU by count); 0 disables the cache. Default 2048. */
  cacheSize?: number;
  /** Key hash; only tests should change it (it decides the shape, so root ids depend on it). */
  hash?: KeyHash;
}

export interface StateUpdate {
  root: string;
  /**
   * Nodes the new root needs that the old root did not have; the caller
   * persists them together with whatever caused the change. One may already
   * be stored if the state returned to an earlier one (puts are idempotent).
   */
  nodes: [string, StateNode][];
}

/** A key whose value differs between states `a` and `b`; undefined where absent. */
export interface StateChange {
  key: string;
  a: string | undefined;
  b: string | undefined;
}

export class StateNodeMissingError extends Error {
  constructor(readonly id: string) {
    super(`state node ${id} is missing from the store`);
    this.name = 'StateNodeMissingError';
  }
}

export function isLeaf(node: StateNode): node is StateLeaf {
  return 'e' in node;
}

/**
 * Canonical encoding: the JSON text of the node with its fields in a fixed
 * order. JSON.stringify escapes lone surrogates, so distinct strings never
 * encode alike, and the text is exactly what the LevelDB JSON encoding stores.
 */
export function encodeNode(node: StateNode): string {
  return isLeaf(node) ? JSON.stringify({ e: node.e }) : JSON.stringify({ n: node.n, m: node.m, c: node.c });
}

/** First 16 bytes of sha256 over the canonical encoding, base64url (22 characters). */
export function nodeId(node: StateNode): string {
  return createHash('sha256').update(encodeNode(node)).digest().subarray(0, 16).toString('base64url');
}

const EMPTY_LEAF: StateLeaf = Object.freeze({ e: Object.freeze([]) as readonly StateEntry[] });

/** The root of the empty map. Its node is never stored: every tree knows it. */
export const EMPTY_STATE_ROOT = nodeId(EMPTY_LEAF);

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32. */
export function stateKeyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits depend only on the inputs' low bits, and the trie takes its
  // first nibble from there: mix the high bits down.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function slotOf(hash: number, depth: number): number {
  return (hash >>> (depth * BITS)) & SLOT_MASK;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** The id of the child in `slot`, or undefined. */
function childAt(node: StateBranch, slot: number): string | undefined {
  const bit = 1 << slot;
  return node.m & bit ? node.c[popcount(node.m & (bit - 1))] : undefined;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function leafFind(entries: readonly StateEntry[], key: string): string | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid]!;
    if (e[0] === key) return e[1];
    if (e[0] < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

interface Change {
  key: string;
  hash: number;
  value: string | null;
}

/** A subtree during an update, before its new nodes are hashed. */
type Sub =
  | { kind: 'ref'; id: string }
  | { kind: 'leaf'; entries: StateEntry[] }
  | { kind: 'branch'; size: number; children: (Sub | undefined)[] };

interface UpdateResult {
  sub: Sub;
  before: number;
  after: number;
}

interface UpdateContext {
  /** Every node read during the update: a rebuilt node with one of these ids is not new. */
  seen: Set<string>;
  out: Map<string, StateNode>;
}

/** Applies sorted changes to sorted entries; null when nothing changes. */
function applyToLeaf(entries: readonly StateEntry[], changes: readonly Change[]): StateEntry[] | null {
  const out: StateEntry[] = [];
  let i = 0;
  let changed = false;
  for (const c of changes) {
    while (i < entries.length && entries[i]![0] < c.key) out.push(entries[i++]!);
    const cur = i < entries.length && entries[i]![0] === c.key ? entries[i++]! : undefined;
    if (c.value === null) {
      if (cur) changed = true;
    } else if (cur && cur[1] === c.value) {
      out.push(cur);
    } else {
      out.push([c.key, c.value]);
      changed = true;
    }
  }
  if (!changed) return null;
  while (i < entries.length) out.push(entries[i++]!);
  return out;
}

export class StateTree {
  private readonly cache: LruCache<string, StateNode>;
  private readonly hash: KeyHash;

  constructor(
    private readonly store: StateNodeStore,
    opts: StateTreeOptions = {},
  ) {
    this.cache = new LruCache(opts.cacheSize ?? 2048);
    const hash = opts.hash ?? stateKeyHash;
    this.hash = opts.hash ? (k) => hash(k) >>> 0 : hash;
  }

  /** The root of the empty map (EMPTY_STATE_ROOT). */
  get emptyRoot(): string {
    return EMPTY_STATE_ROOT;
  }

  /** Empties the cache of decoded nodes (a quiet process; see platform/memory/quiet.ts). */
  dropCached(): void {
    this.cache.clear();
  }

  /** Decoded nodes currently cached. */
  get cachedNodes(): number {
    return this.cache.size;
  }

  async get(root: string, key: string): Promise<string | undefined> {
    const h = this.hash(key);
    let id = root;
    for (let depth = 0; ; depth++) {
      const node = await this.load(id);
      if (isLeaf(node)) return leafFind(node.e, key);
      const child = childAt(node, slotOf(h, depth));
      if (child === undefined) return undefined;
      id = child;
    }
  }

  /** The values of those `keys` that are present. */
  async getMany(root: string, keys: Iterable<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const items = [...new Set(keys)].map((key) => ({ key, hash: this.hash(key) }));
    if (items.length > 0) await this.lookupMany(root, 0, items, out);
    return out;
  }

  private async lookupMany(id: string, depth: number, items: { key: string; hash: number }[], out: Map<string, string>): Promise<void> {
    const node = await this.load(id);
    if (isLeaf(node)) {
      for (const it of items) {
        const v = leafFind(node.e, it.key);
        if (v !== undefined) out.set(it.key, v);
      }
      return;
    }
    const groups = new Map<string, typeof items>();
    for (const it of items) {
      const child = childAt(node, slotOf(it.hash, depth));
      if (child === undefined) continue;
      let g = groups.get(child);
      if (!g) groups.set(child, (g = []));
      g.push(it);
    }
    await Promise.all([...groups].map(([child, g]) => this.lookupMany(child, depth + 1, g, out)));
  }

  async size(root: string): Promise<number> {
    const node = await this.load(root);
    return isLeaf(node) ? node.e.length : node.n;
  }

  /** Every entry, read level by level so a batching store is asked once per level. */
  async entries(root: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let level: readonly string[] = [root];
    while (level.length > 0) {
      const nodes = await this.loadMany(level);
      const next: string[] = [];
      for (const node of nodes) {
        if (isLeaf(node)) for (const [k, v] of node.e) out.set(k, v);
        else for (const c of node.c) next.push(c);
      }
      level = next;
    }
    return out;
  }

  /**
   * Applies `changes` (null deletes) to the state at `root`. Writes nothing:
   * returns the new root and the nodes to persist. Returned nodes are cached.
   */
  async update(root: string, changes: ReadonlyMap<string, string | null>): Promise<StateUpdate> {
    if (changes.size === 0) return { root, nodes: [] };
    const sorted: Change[] = [];
    for (const [key, value] of changes) sorted.push({ key, hash: this.hash(key), value });
    sorted.sort((a, b) => compareKeys(a.key, b.key));
    const ctx: UpdateContext = { seen: new Set(), out: new Map() };
    const { sub } = await this.updateNode(root, 0, sorted, ctx);
    const newRoot = this.materialize(sub, ctx);
    return { root: newRoot, nodes: [...ctx.out] };
  }

  /**
   * Keys whose values differ between two states, with both values, in no
   * particular order. Subtrees with the same id are skipped without being read.
   */
  async diff(a: string, b: string): Promise<StateChange[]> {
    const out: StateChange[] = [];
    await this.diffNodes(a, b, out);
    return out;
  }

  private async diffNodes(a: string, b: string, out: StateChange[]): Promise<void> {
    if (a === b) return;
    const [na, nb] = (await this.loadMany([a, b])) as [StateNode, StateNode];
    if (!isLeaf(na) && !isLeaf(nb)) {
      // Both branches at the same depth: their slots mean the same hash bits.
      const tasks: Promise<void>[] = [];
      for (let slot = 0, m = na.m | nb.m; m !== 0; slot++, m >>>= 1) {
        if (m & 1) tasks.push(this.diffNodes(childAt(na, slot) ?? EMPTY_STATE_ROOT, childAt(nb, slot) ?? EMPTY_STATE_ROOT, out));
      }
      await Promise.all(tasks);
      return;
    }
    // One side is a leaf, so at most LEAF_MAX entries can match (at the last
    // level both are leaves): listing the other side whole costs about as
    // much as the differences it yields.
    const ea = isLeaf(na) ? new Map(na.e) : await this.entries(a);
    const eb = isLeaf(nb) ? new Map(nb.e) : await this.entries(b);
    for (const [key, v] of ea) {
      const w = eb.get(key);
      if (w !== v) out.push({ key, a: v, b: w });
    }
    for (const [key, w] of eb) if (!ea.has(key)) out.push({ key, a: undefined, b: w });
  }

  private async updateNode(id: string, depth: number, changes: Change[], ctx: UpdateContext): Promise<UpdateResult> {
    const node = await this.load(id, ctx.seen);
    if (isLeaf(node)) {
      const merged = applyToLeaf(node.e, changes);
      if (merged === null) return { sub: { kind: 'ref', id }, before: node.e.length, after: node.e.length };
      return { sub: this.build(merged, depth), before: node.e.length, after: merged.length };
    }

    const groups: Change[][] = [];
    for (const c of changes) (groups[slotOf(c.hash, depth)] ??= []).push(c);
    const results: (UpdateResult | undefined)[] = new Array(FANOUT);
    await Promise.all(
      groups.map(async (g, slot) => {
        results[slot] = await this.updateNode(childAt(node, slot) ?? EMPTY_STATE_ROOT, depth + 1, g, ctx);
      }),
    );

    let size = node.n;
    let changed = false;
    for (let slot = 0; slot < FANOUT; slot++) {
      const r = results[slot];
      if (!r) continue;
      size += r.after - r.before;
      if (r.sub.kind !== 'ref' || r.sub.id !== (childAt(node, slot) ?? EMPTY_STATE_ROOT)) changed = true;
    }
    if (!changed) return { sub: { kind: 'ref', id }, before: node.n, after: node.n };

    const children: (Sub | undefined)[] = new Array(FANOUT);
    for (let slot = 0; slot < FANOUT; slot++) {
      const r = results[slot];
      if (r) {
        if (r.after > 0) children[slot] = r.sub;
      } else {
        const child = childAt(node, slot);
        if (child !== undefined) children[slot] = { kind: 'ref', id: child };
      }
    }

    if (size > LEAF_MAX) return { sub: { kind: 'branch', size, children }, before: node.n, after: size };
    // Few enough entries left to be a leaf: collapse, so the shape stays a
    // function of the contents alone.
    const entries: StateEntry[] = [];
    for (const c of children) if (c) await this.collectSub(c, entries, ctx);
    entries.sort((x, y) => compareKeys(x[0], y[0]));
    return { sub: { kind: 'leaf', entries }, before: node.n, after: size };
  }

  /** The canonical subtree for sorted entries at `depth`. */
  private build(entries: StateEntry[], depth: number): Sub {
    if (entries.length <= LEAF_MAX || depth >= MAX_DEPTH) return { kind: 'leaf', entries };
    const buckets: StateEntry[][] = [];
    for (const e of entries) (buckets[slotOf(this.hash(e[0]), depth)] ??= []).push(e);
    const children: (Sub | undefined)[] = new Array(FANOUT);
    buckets.forEach((b, slot) => {
      children[slot] = this.build(b, depth + 1);
    });
    return { kind: 'branch', size: entries.length, children };
  }

  private async collectSub(sub: Sub, into: StateEntry[], ctx: UpdateContext): Promise<void> {
    if (sub.kind === 'leaf') into.push(...sub.entries);
    else if (sub.kind === 'branch') {
      for (const c of sub.children) if (c) await this.collectSub(c, into, ctx);
    } else {
      const node = await this.load(sub.id, ctx.seen);
      if (isLeaf(node)) into.push(...node.e);
      else for (const c of node.c) await this.collectSub({ kind: 'ref', id: c }, into, ctx);
    }
  }

  /** Hashes new nodes bottom-up, recording those the old root did not have. */
  private materialize(sub: Sub, ctx: UpdateContext): string {
    if (sub.kind === 'ref') return sub.id;
    let node: StateNode;
    if (sub.kind === 'leaf') {
      if (sub.entries.length === 0) return EMPTY_STATE_ROOT;
      node = { e: sub.entries };
    } else {
      let m = 0;
      const c: string[] = [];
      for (let slot = 0; slot < FANOUT; slot++) {
        const child = sub.children[slot];
        if (!child) continue;
        m |= 1 << slot;
        c.push(this.materialize(child, ctx));
      }
      node = { n: sub.size, m, c };
    }
    const id = nodeId(node);
    this.cache.set(id, node);
    if (!ctx.seen.has(id)) ctx.out.set(id, node);
    return id;
  }

  private async load(id: string, seen?: Set<string>): Promise<StateNode> {
    seen?.add(id);
    if (id === EMPTY_STATE_ROOT) return EMPTY_LEAF;
    const cached = this.cache.get(id);
    if (cached) return cached;
    const node = await this.store.get(id);
    if (!node) throw new StateNodeMissingError(id);
    this.cache.set(id, node);
    return node;
  }

  private async loadMany(ids: readonly string[]): Promise<StateNode[]> {
    const out = new Array<StateNode>(ids.length);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const node = id === EMPTY_STATE_ROOT ? EMPTY_LEAF : this.cache.get(id);
      if (node) out[i] = node;
      else missing.push(i);
    });
    if (missing.length === 0) return out;
    const missingIds = missing.map((i) => ids[i]!);
    const got = this.store.getMany ? await this.store.getMany(missingIds) : await Promise.all(missingIds.map((id) => this.store.get(id)));
    missing.forEach((i, j) => {
      const node = got[j];
      if (!node) throw new StateNodeMissingError(ids[i]!);
      this.cache.set(ids[i]!, node);
      out[i] = node;
    });
    return out;
  }
}

/** Nodes in memory, for tests and tools. Counts reads so tests can see what reached the store. */
export class MemoryNodeStore implements StateNodeStore {
  readonly nodes = new Map<string, StateNode>();
  reads = 0;

  constructor(nodes: Iterable<readonly [string, StateNode]> = []) {
    this.put(nodes);
  }

  put(nodes: Iterable<readonly [string, StateNode]>): void {
    for (const [id, node] of nodes) this.nodes.set(id, node);
  }

  async get(id: string): Promise<StateNode | undefined> {
    this.reads++;
    return this.nodes.get(id);
  }

  async getMany(ids: readonly string[]): Promise<(StateNode | undefined)[]> {
    this.reads += ids.length;
    return ids.map((id) => this.nodes.get(id));
  }
}

function isStateNode(v: unknown): v is StateNode {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o.e) || (typeof o.n === 'number' && typeof o.m === 'number' && Array.isArray(o.c));
}

function checked(id: string, v: unknown): StateNode | undefined {
  if (v === undefined) return undefined;
  if (!isStateNode(v)) throw new Error(`state node ${id} is malformed`);
  return v;
}

/** Reads nodes stored as JSON values under `keyOf(id)` in a Database. */
export function levelNodeStore(db: Database, keyOf: (id: string) => string): StateNodeStore {
  return {
    get: async (id) => checked(id, await db.get<unknown>(keyOf(id))),
    getMany: async (ids) => (await db.getMany<unknown>(ids.map(keyOf))).map((v, i) => checked(ids[i]!, v)),
  };
}

/** The puts that persist an update's nodes, for the caller's own batch. */
export function stateNodePuts(nodes: readonly (readonly [string, StateNode])[], keyOf: (id: string) => string): WriteOp[] {
  return nodes.map(([id, node]) => ({ type: 'put', key: keyOf(id), value: node }));
}
