/**
 * The roomserver's key layout in its LevelDB and typed accessors.
 *
 *   ('e', event_id)              → StoredEvent
 *   ('en', nid)                  → event_id (state maps hold numeric ids)
 *   ('r', room_id)               → StoredRoom
 *   ('sn', node_id)              → state-tree node (content-addressed, shared)
 *   ('cs', room_id, type, key)   → event_id of the current state entry
 *   ('mu', user_id, room_id)     → membership of a user in a room (current)
 *   ('txn', user, device, room, type, txn) → event_id sent by that client transaction
 *   ('red', event_id)            → event_id of the redaction that redacted it
 *   ('forgot', user_id, room_id) → true: the user forgot the room
 *   ('meta', 'next_nid')         → the next numeric event id
 *   ('alias', alias)             → RoomAliasRecord: a local alias (aliases.ts)
 *   ('ral', room_id, alias)      → true: the room's local aliases
 *   ('pub', room_id)             → true: the room is in the published directory
 *
 * State is a persistent map (state/state-tree.ts) from `type\0state_key` to
 * a numeric event id; each event stores the root of the state before it and,
 * if it is a state event, after it.
 */
import type { PDU } from '../../core/events/pdu.js';
import type { TxnKey } from './api.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';

/** Which of the sender's devices sent an event, under which client transaction id. */
export interface SenderTxn {
  device_id: string;
  txn_id: string;
}

export interface StoredEvent {
  nid: number;
  room_id: string;
  room_version: string;
  pdu: PDU;
  /** Why the event was rejected; rejected events never enter state. */
  rejected?: string;
  /** Kept for its own sake (auth chains, invites): no state is known at it. */
  outlier?: boolean;
  soft_failed?: boolean;
  /** The redaction that replaced this event's content; `pdu` is then the redacted form. */
  redacted_by?: string;
  /** The sender's device and transaction id, for a local event sent with one. */
  txn?: SenderTxn;
  /** Root of the state before the event (not for outliers). */
  state_before?: string;
  /** Root of the state after the event, when it is a state event. */
  state_after?: string;
}

export interface StoredRoom {
  room_id: string;
  room_version: string;
  create_event_id: string;
  /** Forward extremities: events with no successor yet. */
  latest: string[];
  /** Root of the current state. */
  state: string;
  /** Greatest depth of any event in the room. */
  depth: number;
}

export const keys = {
  event: (eventId: string) => encodeKey('e', eventId),
  nid: (nid: number) => encodeKey('en', nid),
  room: (roomId: string) => encodeKey('r', roomId),
  stateNode: (id: string) => encodeKey('sn', id),
  currentState: (roomId: string, type: string, stateKey: string) => encodeKey('cs', roomId, type, stateKey),
  membership: (userId: string, roomId: string) => encodeKey('mu', userId, roomId),
  txn: (t: TxnKey) => encodeKey('txn', t.user_id, t.device_id, t.room_id, t.type, t.txn_id),
  redaction: (eventId: string) => encodeKey('red', eventId),
  forgotten: (userId: string, roomId: string) => encodeKey('forgot', userId, roomId),
  nextNid: () => encodeKey('meta', 'next_nid'),
  alias: (alias: string) => encodeKey('alias', alias),
  roomAlias: (roomId: string, alias: string) => encodeKey('ral', roomId, alias),
  published: (roomId: string) => encodeKey('pub', roomId),
};

/** The state-tree key of a (type, state_key) pair. */
export function stateTreeKey(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

export function splitStateTreeKey(key: string): [type: string, stateKey: string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}

export const put = (key: string, value: unknown): WriteOp => ({ type: 'put', key, value });
export const del = (key: string): WriteOp => ({ type: 'del', key });

export class RoomserverStorage {
  constructor(readonly db: Database) {}

  event(eventId: string): Promise<StoredEvent | undefined> {
    return this.db.get<StoredEvent>(keys.event(eventId));
  }

  events(eventIds: string[]): Promise<(StoredEvent | undefined)[]> {
    return this.db.getMany<StoredEvent>(eventIds.map(keys.event));
  }

  eventIdOfNid(nid: number): Promise<string | undefined> {
    return this.db.get<string>(keys.nid(nid));
  }

  eventIdsOfNids(nids: number[]): Promise<(string | undefined)[]> {
    return this.db.getMany<string>(nids.map(keys.nid));
  }

  room(roomId: string): Promise<StoredRoom | undefined> {
    return this.db.get<StoredRoom>(keys.room(roomId));
  }

  txn(t: TxnKey): Promise<string | undefined> {
    return this.db.get<string>(keys.txn(t));
  }

  redactionOf(eventId: string): Promise<string | undefined> {
    return this.db.get<string>(keys.redaction(eventId));
  }

  async nextNid(): Promise<number> {
    return (await this.db.get<number>(keys.nextNid())) ?? 1;
  }

  /** Current state entries of a room: all, or of some types. */
  async currentState(roomId: string, types?: string[]): Promise<{ type: string; stateKey: string; eventId: string }[]> {
    const ranges = types ? types.map((t) => prefixRange('cs', roomId, t)) : [prefixRange('cs', roomId)];
    const out: { type: string; stateKey: string; eventId: string }[] = [];
    for (const range of ranges) {
      for (const [k, eventId] of await this.db.entries<string>(range)) {
        const [, , type, stateKey] = decodeKey(k);
        out.push({ type: String(type), stateKey: String(stateKey), eventId });
      }
    }
    return out;
  }

  async currentStateEvent(roomId: string, type: string, stateKey: string): Promise<string | undefined> {
    return this.db.get<string>(keys.currentState(roomId, type, stateKey));
  }

  async isForgotten(userId: string, roomId: string): Promise<boolean> {
    return (await this.db.get(keys.forgotten(userId, roomId))) !== undefined;
  }

  async forgottenRooms(userId: string): Promise<Set<string>> {
    const rooms = new Set<string>();
    for (const k of await this.db.keys(prefixRange('forgot', userId))) rooms.add(String(decodeKey(k)[2]));
    return rooms;
  }

  async roomsForUser(userId: string): Promise<{ roomId: string; membership: string }[]> {
    const out: { roomId: string; membership: string }[] = [];
    for (const [k, membership] of await this.db.entries<string>(prefixRange('mu', userId))) {
      out.push({ roomId: String(decodeKey(k)[2]), membership });
    }
    return out;
  }
}
