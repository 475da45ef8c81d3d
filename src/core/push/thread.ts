/**
 * Which thread an event belongs to (client-server API, "Threaded read
 * receipts"): the root named by an `m.thread` relation, found by following
 * the event's relations at most three hops; `main` otherwise. Thread roots,
 * and events related to a root by other relations, are in the main
 * timeline. Receipts are checked against it and notification counts are
 * split by it.
 */

export const MAIN_THREAD = 'main';
const MAX_HOPS = 3;

/** The parts of an event this needs. */
export interface RelatedEvent {
  content: Record<string, unknown>;
}

/** The relation an event declares in `content.m.relates_to`, if it is well formed. */
export function relationOf(content: Record<string, unknown>): { rel_type?: string; event_id: string } | undefined {
  const rel = content['m.relates_to'];
  if (typeof rel !== 'object' || rel === null || Array.isArray(rel)) return undefined;
  const r = rel as Record<string, unknown>;
  if (typeof r.event_id !== 'string') return undefined;
  return { event_id: r.event_id, ...(typeof r.rel_type === 'string' ? { rel_type: r.rel_type } : {}) };
}

/**
 * The thread root's event id, or `main`. `fetch` looks up a related event
 * (undefined when unknown: the chain ends in the main timeline).
 */
export async function threadOf(event: RelatedEvent, fetch: (eventId: string) => Promise<RelatedEvent | undefined>): Promise<string> {
  let current: RelatedEvent | undefined = event;
  for (let hop = 0; hop < MAX_HOPS && current; hop++) {
    const rel = relationOf(current.content);
    if (!rel) return MAIN_THREAD;
    if (rel.rel_type === 'm.thread') return rel.event_id;
    if (hop + 1 === MAX_HOPS) break;
    current = await fetch(rel.event_id);
  }
  return MAIN_THREAD;
}
