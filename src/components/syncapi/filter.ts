/**
 * Filters (client-server API "Filtering"): given inline as JSON or by the id
 * of a filter stored through the UserAPI, checked against the spec's
 * schema, and applied to events, rooms and account data.
 */
import { MatrixError } from '../../core/errors.js';
import { specValidator } from '../../platform/http/validate.js';

export interface EventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

export interface RoomEventFilter extends EventFilter {
  rooms?: string[];
  not_rooms?: string[];
  contains_url?: boolean;
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  unread_thread_notifications?: boolean;
}

export interface RoomFilter {
  rooms?: string[];
  not_rooms?: string[];
  include_leave?: boolean;
  state?: RoomEventFilter;
  timeline?: RoomEventFilter;
  ephemeral?: RoomEventFilter;
  account_data?: RoomEventFilter;
}

export interface SyncFilter {
  event_fields?: string[];
  event_format?: 'client' | 'federation';
  presence?: EventFilter;
  account_data?: EventFilter;
  room?: RoomFilter;
}

const checkFilter = specValidator('client-server', 'POST /user/{userId}/filter');

/** Parses a filter given as JSON text; 400 M_BAD_JSON / M_NOT_JSON when it is not one. */
export function parseFilterJson<T extends object>(text: string, what = 'filter'): T {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', `${what} is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MatrixError(400, 'M_BAD_JSON', `${what} must be a JSON object`);
  return v as T;
}

/** A sync filter given inline: checked against the spec's Filter schema. */
export function parseSyncFilter(text: string): SyncFilter {
  const f = parseFilterJson<SyncFilter>(text);
  checkFilter(f);
  return f;
}

/** A RoomEventFilter (/messages, /context): its fields are a subset of the sync filter's room filters. */
export function parseRoomEventFilter(text: string): RoomEventFilter {
  const f = parseFilterJson<RoomEventFilter>(text);
  checkFilter({ room: { timeline: f } });
  return f;
}

/** `*` in a type pattern matches any sequence of characters. */
function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(type);
}

/** Whether an event passes an EventFilter's type and sender lists (and, for a RoomEventFilter, contains_url). */
export function eventPasses(f: RoomEventFilter | undefined, ev: { type: string; sender?: string; content?: Record<string, unknown> }): boolean {
  if (!f) return true;
  if (f.not_types?.some((p) => typeMatches(p, ev.type))) return false;
  if (f.types && !f.types.some((p) => typeMatches(p, ev.type))) return false;
  if (ev.sender !== undefined) {
    if (f.not_senders?.includes(ev.sender)) return false;
    if (f.senders && !f.senders.includes(ev.sender)) return false;
  }
  if (f.contains_url !== undefined) {
    const has = typeof ev.content?.url === 'string';
    if (has !== f.contains_url) return false;
  }
  return true;
}

/** Whether a room passes room lists (not_rooms wins). */
export function roomPasses(f: { rooms?: string[]; not_rooms?: string[] } | undefined, roomId: string): boolean {
  if (!f) return true;
  if (f.not_rooms?.includes(roomId)) return false;
  return !f.rooms || f.rooms.includes(roomId);
}

/** A filter's limit held to [1, max], or the default. */
export function limitOf(f: EventFilter | undefined, dflt: number, max: number, min = 1): number {
  const l = f?.limit;
  if (typeof l !== 'number' || !Number.isFinite(l)) return dflt;
  return Math.max(min, Math.min(Math.floor(l), max));
}
