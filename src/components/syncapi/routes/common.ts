/**
 * What the SyncAPI's routes share: query parameters, the requester, the
 * room a path names and whether the requester may read it, filters by id.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import { parseRoomId } from '../../../core/identifiers.js';
import type { RequestOwner } from '../../../platform/http/auth.js';
import { accessFor, mayReadRoom, type RoomAccess } from '../access.js';
import { at } from '../visibility.js';
import type { SyncDeps } from '../deps.js';
import { parseRoomEventFilter, parseSyncFilter, type RoomEventFilter, type SyncFilter } from '../filter.js';
import type { FormatOptions } from '../format.js';

export type Query = Record<string, string | string[] | undefined>;

export function query(request: FastifyRequest): Query {
  return (request.query ?? {}) as Query;
}

export function params(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

export function single(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} may be given once`);
  return v;
}

export function boolParam(q: Query, name: string, dflt = false): boolean {
  const v = single(q, name);
  if (v === undefined) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be true or false`);
}

export function intParam(q: Query, name: string): number | undefined {
  const v = single(q, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be a non-negative integer`);
  return Number(v);
}

export function enumParam<T extends string>(q: Query, name: string, allowed: readonly T[], dflt?: T): T | undefined {
  const v = single(q, name);
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}

export function ownerOf(request: FastifyRequest): RequestOwner {
  if (!request.owner) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
  return request.owner;
}

export function roomIdParam(value: unknown): string {
  if (typeof value !== 'string' || !parseRoomId(value).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid room id`);
  return value;
}

export function formatFor(owner: RequestOwner, opts: { format?: 'client' | 'federation'; fields?: string[] | undefined } = {}): FormatOptions {
  return { viewer: { user_id: owner.user_id, device_id: owner.device_id }, now: Date.now(), withRoomId: true, format: opts.format ?? 'client', fields: opts.fields };
}

/** How long a read waits for room events the Roomserver acknowledged but this process has not applied yet. */
const READ_YOUR_WRITES_MS = 2000;

/** Before a read: every room event a client was told is sent is in the views (see SyncDeps.caughtUp). */
export async function readYourWrites(deps: SyncDeps): Promise<void> {
  await deps.caughtUp?.('room_events', READ_YOUR_WRITES_MS);
}

/**
 * The room and what the user may see of it, or 403: a room the user was
 * never in (and that is not world-readable) looks the same whether it
 * exists or not. A membership the Roomserver has but these views do not yet
 * (a client that joins and reads at once) is waited for briefly.
 */
export async function readableRoom(deps: SyncDeps, roomId: string, userId: string): Promise<RoomAccess> {
  await readYourWrites(deps);
  const check = () => {
    const room = deps.views.room(roomId);
    const a = room ? accessFor(deps, room, userId) : undefined;
    return a && mayReadRoom(a, deps.stream.current) ? a : undefined;
  };
  const a = check() ?? ((await caughtUp(deps, roomId, userId)) ? check() : undefined);
  if (!a) throw new MatrixError(403, 'M_FORBIDDEN', "You aren't a member of the room and weren't previously a member of the room");
  // A former member who forgot the room has no history in it any more (spec: POST /forget); the mark is the Roomserver's.
  const now = at(a.hist, deps.stream.current)?.membership;
  if ((now === 'leave' || now === 'ban') && a.room.visibilityAt(deps.stream.current) !== 'world_readable') {
    if ((await deps.roomserver().queryMembership({ room_id: roomId, user_id: userId })).forgotten) throw new MatrixError(403, 'M_FORBIDDEN', 'You have forgotten this room');
  }
  return a;
}

/** How long a request waits for the views to reach a membership the Roomserver already has. */
const CATCH_UP_MS = 3000;

/** Waits until the views hold the user's current membership in the room (as the Roomserver says); false when there is none. */
export async function caughtUp(deps: SyncDeps, roomId: string, userId: string): Promise<boolean> {
  let m: { membership: string | null; event_id: string | null };
  try {
    m = await deps.roomserver().queryMembership({ room_id: roomId, user_id: userId }, { timeoutMs: CATCH_UP_MS });
  } catch {
    return false;
  }
  if (!m.event_id) return false;
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const w = deps.stream.current;
    const point = deps.views.room(roomId)?.local.get(userId)?.find((p) => p.event_id === m.event_id);
    if (point && point.pos <= w) return true;
    const left = deadline - Date.now();
    if (left <= 0 || !(await deps.notifier.wait(userId, w, left))) return false;
  }
}

export function roomEventFilterParam(q: Query): RoomEventFilter | undefined {
  const f = single(q, 'filter');
  return f === undefined || f === '' ? undefined : parseRoomEventFilter(f);
}

/** Sync filters by id are immutable once stored: kept here after the first use. */
export class FilterCache {
  private readonly cache = new Map<string, SyncFilter>();

  constructor(private readonly deps: SyncDeps) {}

  async resolve(userId: string, value: string | undefined): Promise<SyncFilter> {
    if (value === undefined || value === '') return {};
    if (value.startsWith('{')) return parseSyncFilter(value);
    const key = `${userId}\0${value}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const f = await this.deps.userapi().queryFilter({ user_id: userId, filter_id: value });
    if (!f) throw new MatrixError(400, 'M_INVALID_PARAM', `No filter with id ${value}`);
    const filter = f as SyncFilter;
    this.cache.set(key, filter);
    if (this.cache.size > 2000) this.cache.delete(this.cache.keys().next().value!);
    return filter;
  }
}
