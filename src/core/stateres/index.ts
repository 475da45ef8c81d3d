/**
 * State resolution: one entry point, the algorithm chosen by the room
 * version's `stateRes` flag (v1, v2, or v2.1).
 */
import type { RoomVersion } from '../room-versions.js';
import type { StateMap } from './state-map.js';
import type { ResolveOptions } from './types.js';
import { resolveV1 } from './v1.js';
import { resolveV2 } from './v2.js';

export { EventGraph, type EventLookup } from './event-graph.js';
export { splitConflicts, splitStateKey, stateKey, stateMapOf, type ConflictSplit, type StateMap } from './state-map.js';
export type { ResolveOptions } from './types.js';
export { iterativeAuthChecks, type AuthCheckContext } from './iterative.js';
export { mainlineOrder, reverseTopologicalPowerOrder, senderPowerFromAuthEvents } from './ordering.js';
export { resolveV1 } from './v1.js';
export { conflictedStateSubgraph, isPowerEvent, resolveV2 } from './v2.js';

/** Resolves conflicting state sets into one state map. Pure and synchronous. */
export function resolveState(version: RoomVersion, stateSets: readonly StateMap[], options: ResolveOptions): Map<string, string> {
  switch (version.stateRes) {
    case 'v1':
      return resolveV1(version, stateSets, options);
    case 'v2':
    case 'v2.1':
      return resolveV2(version, stateSets, options);
  }
}
