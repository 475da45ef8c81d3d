/**
 * State resolution v2 (rooms v2–v11, rooms/fragments/v2-state-res.md) and
 * v2.1 (room v12, MSC4297): v2.1 adds the conflicted state subgraph to the
 * full conflicted set and starts the power events' auth checks from empty
 * state instead of the unconflicted state map.
 */
import type { PDU } from '../events/pdu.js';
import type { RoomVersion } from '../room-versions.js';
import { EventGraph } from './event-graph.js';
import { iterativeAuthChecks } from './iterative.js';
import { mainlineOrder, reverseTopologicalPowerOrder } from './ordering.js';
import { splitConflicts, stateKey, type StateMap } from './state-map.js';
import type { ResolveOptions } from './types.js';

/** Power levels, join rules, and kicks or bans of someone else: events that can take power away. */
export function isPowerEvent(event: PDU): boolean {
  if (typeof event.state_key !== 'string') return false;
  if (event.type === 'm.room.power_levels' || event.type === 'm.room.join_rules') return event.state_key === '';
  if (event.type !== 'm.room.member') return false;
  const membership = event.content?.membership;
  return (membership === 'leave' || membership === 'ban') && event.sender !== event.state_key;
}

/**
 * ∪Cᵢ − ∩Cᵢ over the full auth chains Cᵢ of the state sets. Each Cᵢ is the
 * chain of the unconflicted events (common to all) plus the chain of the
 * set's conflicted events, so only the latter are walked per set, stopping
 * at events already in the common part.
 */
function authDifference(
  stateSets: readonly StateMap[],
  unconflicted: ReadonlyMap<string, string>,
  graph: EventGraph,
  precomputed?: ReadonlyArray<ReadonlySet<string>>,
): Set<string> {
  const chains: ReadonlySet<string>[] = [];
  if (precomputed) {
    chains.push(...precomputed);
  } else {
    const common = graph.authChain(unconflicted.values());
    for (const set of stateSets) {
      const own: string[] = [];
      for (const [key, id] of set) if (!unconflicted.has(key)) own.push(id);
      chains.push(graph.authChain(own, common));
    }
  }
  const counts = new Map<string, number>();
  for (const chain of chains) for (const id of chain) counts.set(id, (counts.get(id) ?? 0) + 1);
  const difference = new Set<string>();
  for (const [id, count] of counts) if (count < chains.length) difference.add(id);
  return difference;
}

/**
 * v2.1: events on some auth_events path from one conflicted event to
 * another, endpoints included. Such an event is reachable from the
 * conflicted set and reaches it; the second half is a backward search over
 * the events reachable from the set.
 */
export function conflictedStateSubgraph(conflicted: ReadonlySet<string>, graph: EventGraph): Set<string> {
  const reachable = graph.authChain(conflicted);
  const citedBy = new Map<string, string[]>();
  for (const id of [...reachable, ...conflicted]) {
    for (const parent of graph.authIds(id)) {
      if (!reachable.has(parent)) continue;
      const list = citedBy.get(parent);
      if (list) list.push(id);
      else citedBy.set(parent, [id]);
    }
  }
  const subgraph = new Set<string>(conflicted);
  const stack = [...conflicted];
  while (stack.length > 0) {
    const id = stack.pop()!;
    for (const child of citedBy.get(id) ?? []) {
      if (!subgraph.has(child) && reachable.has(child)) {
        subgraph.add(child);
        stack.push(child);
      }
    }
  }
  return subgraph;
}

export function resolveV2(version: RoomVersion, stateSets: readonly StateMap[], options: ResolveOptions): Map<string, string> {
  if (stateSets.length === 0) return new Map();
  const { unconflicted, conflicted } = splitConflicts(stateSets);
  if (conflicted.size === 0) return unconflicted;

  const graph = new EventGraph(options.getEvent);
  const full = new Set<string>(conflicted);
  for (const id of authDifference(stateSets, unconflicted, graph, options.authChainSets)) full.add(id);
  if (version.stateRes === 'v2.1') for (const id of conflictedStateSubgraph(conflicted, graph)) full.add(id);
  for (const id of full) if (!graph.get(id)) full.delete(id);

  // Power events plus the parts of their auth chains that are in the full conflicted set.
  const powerEvents = [...full].filter((id) => isPowerEvent(graph.get(id)!));
  const powerSide = new Set(powerEvents);
  for (const id of graph.authChain(powerEvents)) if (full.has(id)) powerSide.add(id);

  const ctx = { graph, version, isRejected: options.isRejected, isSignedBy: options.isSignedBy };
  const start = version.stateRes === 'v2.1' ? new Map<string, string>() : new Map(unconflicted);
  const partial = iterativeAuthChecks(reverseTopologicalPowerOrder(powerSide, graph, version), start, ctx);

  const others = [...full].filter((id) => !powerSide.has(id));
  const powerLevels = partial.get(stateKey('m.room.power_levels', ''));
  const resolved = iterativeAuthChecks(mainlineOrder(others, powerLevels, graph), partial, ctx);

  for (const [key, id] of unconflicted) resolved.set(key, id);
  return resolved;
}
