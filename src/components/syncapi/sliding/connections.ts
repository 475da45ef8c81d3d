/**
 * Sliding sync connections: per (user, device, conn_id), what was sent on
 * it as of each `pos` handed out. Kept in memory only: after a restart every
 * `pos` is unknown and clients start over (M_UNKNOWN_POS), as the MSC
 * allows. A `pos` names one snapshot of the connection; a request with it
 * builds the next snapshot from that one, never changing it, so a retried
 * or cancelled request can be sent again with the same `pos`. Once a
 * request uses a `pos`, older snapshots go. Bounded: a few connections per
 * device, a few snapshots per connection, idle connections expire.
 */
import { randomBytes } from 'node:crypto';
import type { ExtensionName, ExtensionRequest, ListFilters, RoomConfig } from './request.js';
import type { StateSpec } from './required-state.js';

const MAX_CONNECTIONS_PER_DEVICE = 5;
const MAX_DEVICES = 2000;
const MAX_SNAPSHOTS = 4;
export const IDLE_MS = 60 * 60_000;

/** A room as the client has it on this connection. */
export interface SentRoom {
  /** The stream position up to which the client has the room. */
  at: number;
  membership: string;
  timeline_limit: number;
  required_state: StateSpec;
  /** Lazy-loaded members sent (user → member event id). */
  members: ReadonlyMap<string, string>;
  bump: number;
  joined: number;
  invited: number;
  notification_count: number;
  highlight_count: number;
  is_dm: boolean;
}

/** A list's parameters as the connection holds them (what the request leaves out stays). */
export interface ListState {
  ranges: [number, number][] | undefined;
  timeline_limit: number;
  required_state: StateSpec;
  filters: ListFilters;
  count: number;
}

export interface Snapshot {
  gen: number;
  /** The stream position the answer reached. */
  stream: number;
  rooms: ReadonlyMap<string, SentRoom>;
  lists: ReadonlyMap<string, ListState>;
  subscriptions: ReadonlyMap<string, RoomConfig>;
  extensions: ReadonlyMap<ExtensionName, ExtensionRequest>;
  /** The to-device position the client was last given. */
  toDevice: number | undefined;
}

export interface Connection {
  nonce: string;
  nextGen: number;
  snapshots: Map<number, Snapshot>;
  lastUsed: number;
}

export class ConnectionStore {
  /** deviceKey → conn_id → connection; least recently used first. */
  private readonly devices = new Map<string, Map<string, Connection>>();

  constructor(private readonly now: () => number = Date.now) {}

  private expire(): void {
    const t = this.now();
    for (const [dk, conns] of this.devices) {
      for (const [id, c] of conns) if (t - c.lastUsed > IDLE_MS) conns.delete(id);
      if (conns.size === 0) this.devices.delete(dk);
    }
  }

  /** A new connection (an initial request), replacing one with the same conn_id. */
  open(deviceKey: string, connId: string): Connection {
    this.expire();
    let conns = this.devices.get(deviceKey);
    if (!conns) {
      this.devices.set(deviceKey, (conns = new Map()));
      if (this.devices.size > MAX_DEVICES) this.devices.delete(this.devices.keys().next().value!);
    }
    conns.delete(connId);
    const c: Connection = { nonce: randomBytes(6).toString('base64url'), nextGen: 1, snapshots: new Map(), lastUsed: this.now() };
    conns.set(connId, c);
    while (conns.size > MAX_CONNECTIONS_PER_DEVICE) conns.delete(conns.keys().next().value!);
    return c;
  }

  /** The connection and the snapshot a `pos` names, or undefined (unknown, expired, another device's). */
  resolve(deviceKey: string, connId: string, pos: string): { conn: Connection; snap: Snapshot } | undefined {
    const conns = this.devices.get(deviceKey);
    const c = conns?.get(connId);
    if (!c) return undefined;
    if (this.now() - c.lastUsed > IDLE_MS) {
      conns!.delete(connId);
      return undefined;
    }
    const m = /^([A-Za-z0-9_-]{8})\.(\d{1,12})$/.exec(pos);
    if (!m || m[1] !== c.nonce) return undefined;
    const snap = c.snapshots.get(Number(m[2]));
    if (!snap) return undefined;
    c.lastUsed = this.now();
    conns!.delete(connId);
    conns!.set(connId, c);
    return { conn: c, snap };
  }

  /** The request with `usedGen` was made: snapshots older than it are no longer needed. */
  acknowledge(conn: Connection, usedGen: number): void {
    for (const g of conn.snapshots.keys()) if (g < usedGen) conn.snapshots.delete(g);
  }

  /** Records the snapshot an answer ends at; returns its `pos`. */
  commit(conn: Connection, snap: Omit<Snapshot, 'gen'>): string {
    const gen = conn.nextGen++;
    conn.snapshots.set(gen, { ...snap, gen });
    while (conn.snapshots.size > MAX_SNAPSHOTS) conn.snapshots.delete(conn.snapshots.keys().next().value!);
    conn.lastUsed = this.now();
    return `${conn.nonce}.${gen}`;
  }

  get size(): number {
    let n = 0;
    for (const conns of this.devices.values()) n += conns.size;
    return n;
  }
}
