/**
 * The two orderings of state resolution v2 (rooms/v2 "Definitions"): reverse
 * topological power ordering and mainline ordering.
 */
import { roomPowers } from '../auth/power-levels.js';
import { compareCodePoints } from '../canonical-json.js';
import type { PDU } from '../events/pdu.js';
import type { RoomVersion } from '../room-versions.js';
import type { EventGraph } from './event-graph.js';

function timestampOf(event: PDU | undefined): number {
  const ts = event?.origin_server_ts;
  return typeof ts === 'number' && Number.isFinite(ts) ? ts : 0;
}

/** A binary min-heap; Kahn's algorithm takes the smallest candidate at each step. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < items.length && this.less(items[l]!, items[smallest]!)) smallest = l;
        if (r < items.length && this.less(items[r]!, items[smallest]!)) smallest = r;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * The sender's power level "when looking at their respective auth_events":
 * the power levels and create events the event cites (v12: the create event
 * its room id names).
 */
export function senderPowerFromAuthEvents(eventId: string, graph: EventGraph, version: RoomVersion): number {
  const event = graph.get(eventId);
  if (!event) return 0;
  let create: PDU | undefined;
  let powerLevels: PDU | undefined;
  for (const id of graph.authIds(eventId)) {
    const authEvent = graph.get(id);
    if (authEvent?.state_key !== '') continue;
    if (authEvent.type === 'm.room.create') create = authEvent;
    else if (authEvent.type === 'm.room.power_levels') powerLevels = authEvent;
  }
  if (!create && version.roomIdIsCreateEventHash) create = graph.createEventOfRoom(event.room_id);
  return roomPowers(create, powerLevels, version).userLevel(event.sender);
}

/**
 * Sorts `ids` earliest first: Kahn's algorithm over the auth_events edges
 * between members of `ids`, taking at each step the candidate whose sender
 * has the greatest power, then the smallest origin_server_ts, then the
 * smallest event id.
 */
export function reverseTopologicalPowerOrder(ids: ReadonlySet<string>, graph: EventGraph, version: RoomVersion): string[] {
  const power = new Map<string, number>();
  const ts = new Map<string, number>();
  for (const id of ids) {
    power.set(id, senderPowerFromAuthEvents(id, graph, version));
    ts.set(id, timestampOf(graph.get(id)));
  }
  const less = (a: string, b: string): boolean => {
    const pa = power.get(a)!;
    const pb = power.get(b)!;
    if (pa !== pb) return pa > pb;
    const ta = ts.get(a)!;
    const tb = ts.get(b)!;
    if (ta !== tb) return ta < tb;
    return compareCodePoints(a, b) < 0;
  };

  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  const heap = new MinHeap<string>(less);
  for (const id of ids) {
    let count = 0;
    for (const parent of graph.authIds(id)) {
      if (!ids.has(parent) || parent === id) continue;
      count++;
      const list = dependents.get(parent);
      if (list) list.push(id);
      else dependents.set(parent, [id]);
    }
    waitingOn.set(id, count);
    if (count === 0) heap.push(id);
  }

  const order: string[] = [];
  while (heap.size > 0) {
    const id = heap.pop()!;
    order.push(id);
    for (const child of dependents.get(id) ?? []) {
      const left = waitingOn.get(child)! - 1;
      waitingOn.set(child, left);
      if (left === 0) heap.push(child);
    }
  }
  // Only a cycle (possible with forged v1/v2 ids) leaves events behind; keep the result deterministic.
  if (order.length < ids.size) {
    const placed = new Set(order);
    order.push(...[...ids].filter((id) => !placed.has(id)).sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0)));
  }
  return order;
}

/**
 * Sorts `ids` by mainline ordering based on `powerLevelsId`: events whose
 * closest power levels ancestor sits earlier on the mainline (greater
 * position; none at all counts as infinite) first, then by
 * origin_server_ts, then by event id.
 */
export function mainlineOrder(ids: readonly string[], powerLevelsId: string | undefined, graph: EventGraph): string[] {
  // Position i of P_i, walking from P_0 = the resolved power levels back through their power levels auth events.
  const mainline = new Map<string, number>();
  for (let p = powerLevelsId, i = 0; p !== undefined && !mainline.has(p) && graph.get(p); p = graph.powerLevelsAuthOf(p), i++) {
    mainline.set(p, i);
  }

  // Position reached from a power levels event e_j (j ≥ 1), memoised: many events share their power levels ancestors.
  const fromPowerLevels = new Map<string, number>();
  const positionFrom = (start: string | undefined): number => {
    const walked: string[] = [];
    let position = Infinity;
    const seen = new Set<string>();
    for (let p = start; p !== undefined && !seen.has(p); p = graph.powerLevelsAuthOf(p)) {
      const known = fromPowerLevels.get(p) ?? mainline.get(p);
      if (known !== undefined) {
        position = known;
        break;
      }
      seen.add(p);
      walked.push(p);
    }
    for (const p of walked) fromPowerLevels.set(p, position);
    return position;
  };

  const keyed = ids.map((id) => ({
    id,
    position: positionFrom(graph.powerLevelsAuthOf(id)),
    ts: timestampOf(graph.get(id)),
  }));
  keyed.sort((a, b) => {
    if (a.position !== b.position) return a.position > b.position ? -1 : 1;
    if (a.ts !== b.ts) return a.ts - b.ts;
    return compareCodePoints(a.id, b.id);
  });
  return keyed.map((k) => k.id);
}
