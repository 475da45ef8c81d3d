/**
 * State maps: (event type, state key) → event id. The pair is encoded as one
 * string key so maps stay flat; the JSON form keeps the encoding injective
 * whatever characters a type or state key holds.
 */

export type StateMap = ReadonlyMap<string, string>;

export function stateKey(type: string, stateKey: string): string {
  return JSON.stringify([type, stateKey]);
}

export function splitStateKey(key: string): { type: string; stateKey: string } {
  const [type, sk] = JSON.parse(key) as [string, string];
  return { type, stateKey: sk };
}

/** A state map from (type, state_key, event id) triples. */
export function stateMapOf(entries: Iterable<readonly [type: string, stateKey: string, eventId: string]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [type, sk, id] of entries) out.set(stateKey(type, sk), id);
  return out;
}

export interface ConflictSplit {
  readonly unconflicted: Map<string, string>;
  /** Event ids of every value of every key that is not unconflicted. */
  readonly conflicted: Set<string>;
  /** The keys those events belong to. */
  readonly conflictedKeys: Set<string>;
}

/** Splits state sets into the unconflicted state map and the conflicted state set. */
export function splitConflicts(stateSets: readonly StateMap[]): ConflictSplit {
  const unconflicted = new Map<string, string>();
  const conflicted = new Set<string>();
  const conflictedKeys = new Set<string>();
  const first = stateSets[0];
  if (!first) return { unconflicted, conflicted, conflictedKeys };
  const rest = stateSets.slice(1);
  for (const [key, id] of first) {
    if (rest.every((s) => s.get(key) === id)) {
      unconflicted.set(key, id);
    } else {
      conflictedKeys.add(key);
    }
  }
  // A key missing from the first set is conflicted by definition.
  for (const s of rest) for (const key of s.keys()) if (!first.has(key)) conflictedKeys.add(key);
  for (const key of conflictedKeys) {
    for (const s of stateSets) {
      const id = s.get(key);
      if (id !== undefined) conflicted.add(id);
    }
  }
  return { unconflicted, conflicted, conflictedKeys };
}
