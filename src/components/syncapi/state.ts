/**
 * Room state at a stream position, rebuilt from the current state and the
 * per-position deltas: the state after position X is the current state
 * with every change after X undone (newest first). Undoing is idempotent
 * per key, so a change that committed between reading the current state
 * and reading the deltas is undone to the value already read.
 */
import type { Database } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import { keys, type StateDelta, type StateEntry } from './storage.js';

/** type\0state_key → event id */
export type StateMap = Map<string, string>;

export const stateKey = (type: string, key: string) => `${type}\0${key}`;

export function splitStateKey(k: string): [type: string, stateKey: string] {
  const i = k.indexOf('\0');
  return [k.slice(0, i), k.slice(i + 1)];
}

export interface StateSelection {
  only?: string;
  except?: string;
}

export class StateReader {
  constructor(private readonly db: Database) {}

  /** The current state: all of it, one event type (`only`), or all but one type (`except`). */
  async current(roomId: string, opts: StateSelection = {}): Promise<StateMap> {
    const out: StateMap = new Map();
    const add = (rows: [string, StateEntry][]) => {
      for (const [k, e] of rows) {
        const [, , t, sk] = decodeKey(k) as [string, string, string, string];
        out.set(stateKey(t, sk), e.event_id);
      }
    };
    if (opts.only !== undefined) add(await this.db.entries<StateEntry>(keys.stateTypeRange(roomId, opts.only)));
    else if (opts.except !== undefined) {
      const all = keys.stateRange(roomId);
      const skip = keys.stateTypeRange(roomId, opts.except);
      add(await this.db.entries<StateEntry>({ gt: all.gt, lt: keys.state(roomId, opts.except, '') }));
      add(await this.db.entries<StateEntry>({ gte: skip.lt, lt: all.lt }));
    } else add(await this.db.entries<StateEntry>(keys.stateRange(roomId)));
    return out;
  }

  /** Changes after position `x`, newest first. */
  private async changesAfter(roomId: string, x: number): Promise<[string, StateDelta][]> {
    const range = keys.deltaRange(roomId);
    const out: [string, StateDelta][] = [];
    for (const [k, d] of await this.db.entries<StateDelta>({ gte: keys.deltaPos(roomId, x + 1), lt: range.lt, reverse: true })) {
      const [, , , t, sk] = decodeKey(k) as [string, string, number, string, string];
      out.push([stateKey(t, sk), d]);
    }
    return out;
  }

  /** The state after position `x` (or part of it, as `current` selects). */
  async at(roomId: string, x: number, opts: StateSelection = {}): Promise<StateMap> {
    const state = await this.current(roomId, opts);
    for (const [k, d] of await this.changesAfter(roomId, x)) {
      const type = k.slice(0, k.indexOf('\0'));
      if ((opts.only !== undefined && type !== opts.only) || (opts.except !== undefined && type === opts.except)) continue;
      if (d.o) state.set(k, d.o);
      else state.delete(k);
    }
    return state;
  }

  /** Some entries of the state after `x`: one read of the changes, then only these keys. */
  async entriesAt(roomId: string, x: number, wanted: [type: string, key: string][]): Promise<StateMap> {
    const undo = new Map<string, StateDelta>();
    for (const [k, d] of await this.changesAfter(roomId, x)) undo.set(k, d); // oldest last: its `o` wins
    const out: StateMap = new Map();
    const entries = await this.db.getMany<StateEntry>(wanted.map(([t, k]) => keys.state(roomId, t, k)));
    wanted.forEach(([t, k], i) => {
      const sk = stateKey(t, k);
      const d = undo.get(sk);
      const id = d ? d.o : entries[i]?.event_id;
      if (id) out.set(sk, id);
    });
    return out;
  }

  /**
   * What changed between positions `from` (exclusive) and `to` (inclusive):
   * each changed key with its event at `to`; keys that came back to their
   * value at `from` are left out, keys removed are left out too (the
   * client-server API cannot express a removal).
   */
  async delta(roomId: string, from: number, to: number): Promise<StateMap> {
    if (to <= from) return new Map();
    const first = new Map<string, string | undefined>();
    const last = new Map<string, string | undefined>();
    for (const [k, d] of await this.db.entries<StateDelta>({ gte: keys.deltaPos(roomId, from + 1), lt: keys.deltaPos(roomId, to + 1) })) {
      const [, , , t, sk] = decodeKey(k) as [string, string, number, string, string];
      const key = stateKey(t, sk);
      if (!first.has(key)) first.set(key, d.o);
      last.set(key, d.n);
    }
    const out: StateMap = new Map();
    for (const [k, n] of last) if (n !== undefined && n !== first.get(k)) out.set(k, n);
    return out;
  }
}
