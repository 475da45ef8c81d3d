/**
 * State resolution v1 (room v1, rooms/v1.md "State resolution"). Known to
 * reset state in some forks; kept because v1 rooms still exist.
 */
import { createHash } from 'node:crypto';
import { checkAuth } from '../auth/rules.js';
import type { AuthHooks, AuthState } from '../auth/types.js';
import { compareCodePoints } from '../canonical-json.js';
import type { PDU } from '../events/pdu.js';
import type { RoomVersion } from '../room-versions.js';
import { EventGraph } from './event-graph.js';
import { splitStateKey, stateKey, type StateMap } from './state-map.js';
import type { ResolveOptions } from './types.js';

interface Candidate {
  readonly id: string;
  readonly event: PDU;
  readonly depth: number;
  readonly sha1: string;
}

function candidatesFor(key: string, stateSets: readonly StateMap[], graph: EventGraph): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const set of stateSets) {
    const id = set.get(key);
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    const event = graph.get(id);
    if (!event) continue;
    const depth = typeof event.depth === 'number' && Number.isFinite(event.depth) ? event.depth : 0;
    out.push({ id, event, depth, sha1: createHash('sha1').update(id, 'utf8').digest('hex') });
  }
  return out;
}

/**
 * v1 calls keys conflicting only where states hold different events for
 * them; a key some states lack is not a conflict (unlike v2's split).
 */
function splitV1(stateSets: readonly StateMap[]): { unconflicted: Map<string, string>; conflictedKeys: Set<string> } {
  const unconflicted = new Map<string, string>();
  const conflictedKeys = new Set<string>();
  for (const set of stateSets) {
    for (const [key, id] of set) {
      if (conflictedKeys.has(key)) continue;
      const seen = unconflicted.get(key);
      if (seen === undefined) {
        unconflicted.set(key, id);
      } else if (seen !== id) {
        unconflicted.delete(key);
        conflictedKeys.add(key);
      }
    }
  }
  return { unconflicted, conflictedKeys };
}

export function resolveV1(version: RoomVersion, stateSets: readonly StateMap[], options: ResolveOptions): Map<string, string> {
  const { unconflicted, conflictedKeys } = splitV1(stateSets);
  if (conflictedKeys.size === 0) return unconflicted;

  const graph = new EventGraph(options.getEvent);
  const resolved = new Map(unconflicted);
  const view: AuthState = {
    get(type, sk) {
      const id = resolved.get(stateKey(type, sk));
      return id === undefined ? undefined : graph.get(id);
    },
  };
  const hooks: AuthHooks = {
    eventIdOf: (e) => graph.idOf(e),
    ...(options.isSignedBy ? { isSignedBy: options.isSignedBy } : {}),
  };
  const allowed = (c: Candidate): boolean => checkAuth(c.event, view, version, hooks).allowed;

  // Power levels, then join rules, then each membership: from the lowest
  // depth up, taking events while they pass auth in the state so far.
  const resolveChain = (key: string): void => {
    const list = candidatesFor(key, stateSets, graph).sort((a, b) => a.depth - b.depth || compareCodePoints(b.sha1, a.sha1));
    const [first, ...rest] = list;
    if (!first) return;
    resolved.set(key, first.id);
    for (const c of rest) {
      if (!allowed(c)) break;
      resolved.set(key, c.id);
    }
  };
  // Everything else: the deepest event that passes auth, lowest sha1 first among equals.
  const resolvePick = (key: string): void => {
    const list = candidatesFor(key, stateSets, graph).sort((a, b) => b.depth - a.depth || compareCodePoints(a.sha1, b.sha1));
    const pick = list.find(allowed);
    if (pick) resolved.set(key, pick.id);
  };

  const sortedKeys = [...conflictedKeys].sort(compareCodePoints);
  const powerLevelsKey = stateKey('m.room.power_levels', '');
  const joinRulesKey = stateKey('m.room.join_rules', '');
  if (conflictedKeys.has(powerLevelsKey)) resolveChain(powerLevelsKey);
  if (conflictedKeys.has(joinRulesKey)) resolveChain(joinRulesKey);
  for (const key of sortedKeys) if (splitStateKey(key).type === 'm.room.member') resolveChain(key);
  for (const key of sortedKeys) {
    if (key === powerLevelsKey || key === joinRulesKey || splitStateKey(key).type === 'm.room.member') continue;
    resolvePick(key);
  }
  return resolved;
}
