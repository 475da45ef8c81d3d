/**
 * Memoised access to the events one resolution looks at: lookups by id,
 * auth_events edges, auth chains. One instance lives for one resolution.
 */
import { referencedIds } from '../auth/types.js';
import type { PDU } from '../events/pdu.js';

/** Synchronous event lookup; undefined for events the caller does not have. */
export type EventLookup = (eventId: string) => PDU | undefined;

export class EventGraph {
  private readonly events = new Map<string, PDU | undefined>();
  private readonly ids = new WeakMap<PDU, string>();
  private readonly authIdCache = new Map<string, string[]>();
  private readonly powerLevelsAuthCache = new Map<string, string | undefined>();

  constructor(private readonly lookup: EventLookup) {}

  get(eventId: string): PDU | undefined {
    if (this.events.has(eventId)) return this.events.get(eventId);
    const event = this.lookup(eventId);
    this.events.set(eventId, event);
    // PDUs of v3+ rooms carry no id; the auth rules ask for ids by object.
    if (event && !this.ids.has(event)) this.ids.set(event, eventId);
    return event;
  }

  /** The id an event was looked up by. */
  idOf(event: PDU): string | undefined {
    return this.ids.get(event) ?? (typeof event.event_id === 'string' ? event.event_id : undefined);
  }

  /** The ids in the event's auth_events (empty for unknown events). */
  authIds(eventId: string): string[] {
    let ids = this.authIdCache.get(eventId);
    if (!ids) {
      const event = this.get(eventId);
      ids = event ? [...new Set(referencedIds(event.auth_events))] : [];
      this.authIdCache.set(eventId, ids);
    }
    return ids;
  }

  /**
   * The union of the auth chains of `starts`: known events reachable through
   * one or more auth_events edges. Traversal does not enter `stopAt`.
   */
  authChain(starts: Iterable<string>, stopAt?: ReadonlySet<string>): Set<string> {
    const chain = new Set<string>();
    const stack: string[] = [];
    for (const id of starts) stack.push(...this.authIds(id));
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (chain.has(id) || stopAt?.has(id) || !this.get(id)) continue;
      chain.add(id);
      for (const parent of this.authIds(id)) if (!chain.has(parent)) stack.push(parent);
    }
    return chain;
  }

  /** The m.room.power_levels event among an event's auth events. */
  powerLevelsAuthOf(eventId: string): string | undefined {
    if (this.powerLevelsAuthCache.has(eventId)) return this.powerLevelsAuthCache.get(eventId);
    let found: string | undefined;
    for (const id of this.authIds(eventId)) {
      const e = this.get(id);
      if (e?.type === 'm.room.power_levels' && e.state_key === '') {
        found = id;
        break;
      }
    }
    this.powerLevelsAuthCache.set(eventId, found);
    return found;
  }

  /** v12: the create event a room id names (`!x` → `$x`). */
  createEventOfRoom(roomId: unknown): PDU | undefined {
    if (typeof roomId !== 'string' || !roomId.startsWith('!')) return undefined;
    const create = this.get(`$${roomId.slice(1)}`);
    return create?.type === 'm.room.create' && create.state_key === '' ? create : undefined;
  }
}
