/**
 * Reading a room state (a state-tree root) as events: the auth state an
 * event is checked against, the full map state resolution needs, or the
 * events of some keys or types.
 */
import type { PDU } from '../../../core/events/pdu.js';
import type { AuthState } from '../../../core/auth/types.js';
import { authEventKeys } from '../../../core/auth/selection.js';
import type { RoomVersion } from '../../../core/room-versions.js';
import { stateKey as resolutionKey } from '../../../core/stateres/state-map.js';
import type { EventStore } from '../events.js';
import { splitStateTreeKey, stateTreeKey, type StoredEvent } from '../storage.js';
import type { StateTree } from './state-tree.js';

/** State-tree values are numeric event ids, base 36. */
export const nidValue = (nid: number): string => nid.toString(36);
export const nidOf = (value: string): number => parseInt(value, 36);

export interface StateEntry {
  type: string;
  stateKey: string;
  eventId: string;
  event: StoredEvent;
}

export class RoomStateReader {
  constructor(
    readonly tree: StateTree,
    private readonly events: EventStore,
  ) {}

  /** The event ids at these (type, state_key) pairs; absent pairs are left out. */
  async eventIds(root: string, pairs: [string, string][]): Promise<Map<string, string>> {
    const treeKeys = pairs.map(([t, k]) => stateTreeKey(t, k));
    const values = await this.tree.getMany(root, treeKeys);
    const present = treeKeys.filter((k) => values.get(k) !== undefined);
    const ids = await this.events.idsOfNids(present.map((k) => nidOf(values.get(k)!)));
    const out = new Map<string, string>();
    present.forEach((k, i) => {
      if (ids[i]) out.set(k, ids[i]!);
    });
    return out;
  }

  /** The state entries of `root` for these pairs, types, or (neither) all of them. */
  async entries(root: string, filter: { keys?: [string, string][]; types?: string[] } = {}): Promise<StateEntry[]> {
    let idsByKey: Map<string, string>;
    if (filter.keys) {
      idsByKey = await this.eventIds(root, filter.keys);
    } else {
      const all = await this.tree.entries(root);
      const types = filter.types ? new Set(filter.types) : undefined;
      const wanted = [...all].filter(([k]) => !types || types.has(splitStateTreeKey(k)[0]));
      const ids = await this.events.idsOfNids(wanted.map(([, v]) => nidOf(v)));
      idsByKey = new Map();
      wanted.forEach(([k], i) => {
        if (ids[i]) idsByKey.set(k, ids[i]!);
      });
    }
    const keys = [...idsByKey.keys()];
    const events = await this.events.getMany(keys.map((k) => idsByKey.get(k)!));
    const out: StateEntry[] = [];
    keys.forEach((k, i) => {
      const event = events[i];
      if (!event) return;
      const [type, stateKey] = splitStateTreeKey(k);
      out.push({ type, stateKey, eventId: idsByKey.get(k)!, event });
    });
    return out;
  }

  /**
   * What the auth rules read for `event`: its auth-event pairs (and always
   * the create event, which v12 events no longer cite but the rules need).
   */
  async authState(root: string, event: PDU, version: RoomVersion): Promise<AuthStateWithIds> {
    const pairs: [string, string][] = authEventKeys(event, version).map((p) => [p.type, p.stateKey]);
    if (!pairs.some(([t]) => t === 'm.room.create')) pairs.push(['m.room.create', '']);
    const entries = await this.entries(root, { keys: pairs });
    return authStateOf(entries);
  }

  /** The whole state as state resolution takes it: resolution key → event id. */
  async resolutionMap(root: string): Promise<Map<string, string>> {
    const all = await this.entries(root);
    return new Map(all.map((e) => [resolutionKey(e.type, e.stateKey), e.eventId]));
  }
}

export interface AuthStateWithIds extends AuthState {
  /** The id of the event at a pair, for auth_events and hooks. */
  idOf(type: string, stateKey: string): string | undefined;
  entries: StateEntry[];
}

export function authStateOf(entries: StateEntry[]): AuthStateWithIds {
  const byKey = new Map(entries.map((e) => [stateTreeKey(e.type, e.stateKey), e]));
  return {
    entries,
    get: (type, stateKey) => byKey.get(stateTreeKey(type, stateKey))?.event.pdu,
    idOf: (type, stateKey) => byKey.get(stateTreeKey(type, stateKey))?.eventId,
  };
}
