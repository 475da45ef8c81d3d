/**
 * GET /_matrix/client/v1/rooms/{roomId}/hierarchy (client-server API
 * "Spaces", v1.2): a walk over a space's `m.space.child` events, one page
 * of rooms at a time, each room with its summary (room-summaries.ts) and
 * its own children as stripped state.
 *
 * The walk is depth-first, as the spec's section "Discovering rooms within
 * spaces" says (and Synapse and Dendrite do): a room, then each of its
 * children in the spec's order with the child's own subtree before the
 * next sibling. A room is visited once, so loops end and a room reached
 * twice is listed once. Rooms the user may not see are left out and not
 * walked into.
 *
 * Rooms come from a HierarchySource. The local one answers for rooms this
 * server knows and says nothing of the others, which are skipped; a
 * federated source (the federation API's `/hierarchy`, asked through the
 * child's `via` servers) can stand in front of it later without changing
 * the walk.
 *
 * Pagination keeps the rest of the walk (what is left to visit and what
 * was visited) here, in memory, under a random `next_batch` token for a few
 * minutes. A token is bound to its user, room, `suggested_only` and
 * `max_depth`; an unknown, expired or mismatched one is 400 M_INVALID_PARAM
 * (the spec names both cases). A token may be used again (a client that
 * retries gets the same page).
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { parseRoomId } from '../../../../core/identifiers.js';
import type { RoomEvent, RoomPreview } from '../../../roomserver/api.js';
import type { ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { fullUser, params, query, roomIdParam } from './common.js';
import { joinedCheck, roomSummaryFor, type JoinedCheck } from './room-summaries.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
export const DEFAULT_MAX_DEPTH = 10;
export const MAX_MAX_DEPTH = 20;
/** How long a `next_batch` token stays usable, and how many are kept at most (the oldest go first). */
const TOKEN_TTL_MS = 5 * 60_000;
const MAX_TOKENS = 200;

/** An `m.space.child` event as `children_state` lists it: stripped state with its timestamp. */
export interface StrippedChild {
  type: 'm.space.child';
  state_key: string;
  content: JsonObject;
  sender: string;
  origin_server_ts: number;
}

/** A child of a space: a valid `m.space.child` event (a room id as state key, a non-empty `via`). */
export interface ChildLink {
  room_id: string;
  via: string[];
  suggested: boolean;
  /** The `order` when it is valid (ASCII \x20-\x7E, 1 to 50 characters). */
  order?: string;
  origin_server_ts: number;
  event: StrippedChild;
}

export type HierarchyChunk = RoomPreview & { children_state: StrippedChild[] };

export interface HierarchyRoom {
  /** The room as the response lists it. */
  chunk: HierarchyChunk;
  /** Its children in the spec's order; empty unless the room is a space. */
  children: ChildLink[];
  /** Whether the requester may see it (and so its children). */
  visible: boolean;
}

/** Where the walk learns about rooms; null for a room the source does not know. */
export interface HierarchySource {
  room(roomId: string, via: string[]): Promise<HierarchyRoom | null>;
}

const ORDER = /^[\x20-\x7E]{1,50}$/;

/** The child links among a space's `m.space.child` state, sorted as the spec's "Ordering of children within a space" says. */
export function childLinks(events: RoomEvent[]): ChildLink[] {
  const links: ChildLink[] = [];
  for (const { pdu } of events) {
    const roomId = pdu.state_key;
    const content = (pdu.content ?? {}) as JsonObject;
    const via = content.via;
    if (pdu.type !== 'm.space.child' || typeof roomId !== 'string' || !parseRoomId(roomId).ok) continue;
    if (!Array.isArray(via) || via.length === 0 || !via.every((v) => typeof v === 'string')) continue;
    const ts = typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0;
    links.push({
      room_id: roomId,
      via: via as string[],
      suggested: content.suggested === true,
      ...(typeof content.order === 'string' && ORDER.test(content.order) ? { order: content.order } : {}),
      origin_server_ts: ts,
      event: { type: 'm.space.child', state_key: roomId, content, sender: pdu.sender, origin_server_ts: ts },
    });
  }
  return links.sort(compareChildren);
}

function compareChildren(a: ChildLink, b: ChildLink): number {
  if (a.order !== undefined || b.order !== undefined) {
    if (a.order === undefined) return 1;
    if (b.order === undefined) return -1;
    // ASCII only, so comparing UTF-16 code units compares code points.
    if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  }
  if (a.origin_server_ts !== b.origin_server_ts) return a.origin_server_ts - b.origin_server_ts;
  return a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0;
}

/** Rooms this server knows, from the Roomserver's current state, as `userId` may see them. */
export function localHierarchySource(cctx: ClientApiContext, userId: string, joined: JoinedCheck = joinedCheck(cctx, userId)): HierarchySource {
  return {
    async room(roomId) {
      const view = await roomSummaryFor(cctx, roomId, userId, joined);
      if (!view) return null;
      const isSpace = view.room.room_type === 'm.space';
      // Only a space-room has children: the spec's children_state "should be empty" for other rooms.
      const children = view.visible && isSpace ? childLinks((await cctx.roomserver.queryCurrentState({ room_id: roomId, types: ['m.space.child'] })).events) : [];
      return { chunk: { ...view.room, children_state: children.map((c) => c.event) }, children, visible: view.visible };
    },
  };
}

/** Where a walk stands between pages. */
interface Walk {
  user_id: string;
  room_id: string;
  suggested_only: boolean;
  max_depth: number;
  /** Rooms still to visit, the next one last. */
  stack: { room_id: string; depth: number; via: string[] }[];
  /** Rooms visited: listed, unknown or not visible. */
  seen: Set<string>;
}

/** The `next_batch` tokens of unfinished walks, kept in memory for a few minutes. */
export class WalkTokens {
  private readonly walks = new Map<string, { walk: Walk; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  save(walk: Walk): string {
    const t = this.now();
    for (const [token, w] of this.walks) if (w.expires <= t) this.walks.delete(token);
    while (this.walks.size >= MAX_TOKENS) this.walks.delete(this.walks.keys().next().value!);
    const token = randomBytes(18).toString('base64url');
    this.walks.set(token, { walk: copy(walk), expires: t + TOKEN_TTL_MS });
    return token;
  }

  /** A copy of the walk a token stands for, so that the token can be used again. */
  get(token: string): Walk | undefined {
    const w = this.walks.get(token);
    if (!w || w.expires <= this.now()) return undefined;
    return copy(w.walk);
  }
}

function copy(walk: Walk): Walk {
  return { ...walk, stack: walk.stack.map((e) => ({ ...e })), seen: new Set(walk.seen) };
}

/** Lists `room` and queues its children (within the depth and the suggested filter). */
function visit(walk: Walk, room: HierarchyRoom, depth: number, out: HierarchyChunk[]): void {
  // suggested_only: the server "only considers" suggested rooms, in children_state too (as Synapse does).
  out.push(walk.suggested_only ? { ...room.chunk, children_state: room.children.filter((c) => c.suggested).map((c) => c.event) } : room.chunk);
  if (depth >= walk.max_depth) return;
  const children = room.children.filter((c) => !walk.seen.has(c.room_id) && (!walk.suggested_only || c.suggested));
  for (let i = children.length - 1; i >= 0; i--) walk.stack.push({ room_id: children[i]!.room_id, depth: depth + 1, via: children[i]!.via });
}

/**
 * Up to `limit` more rooms of the walk. It then looks one room ahead, so
 * that a walk whose remaining rooms are all unknown or hidden ends here
 * instead of with an empty page.
 */
async function walkPage(source: HierarchySource, walk: Walk, limit: number, out: HierarchyChunk[]): Promise<void> {
  while (walk.stack.length > 0) {
    const next = walk.stack.pop()!;
    if (walk.seen.has(next.room_id)) continue;
    const room = await source.room(next.room_id, next.via);
    if (out.length >= limit) {
      if (room?.visible) {
        // The next page starts here (and asks again: the room may change meanwhile).
        walk.stack.push(next);
        return;
      }
      walk.seen.add(next.room_id);
      continue;
    }
    walk.seen.add(next.room_id);
    if (room?.visible) visit(walk, room, next.depth, out);
  }
}

function intParam(q: Record<string, string | string[] | undefined>, name: string, min: number): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9]{1,9}$/.test(v) || Number(v) < min) {
    throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer`);
  }
  return Number(v);
}

function boolParam(q: Record<string, string | string[] | undefined>, name: string): boolean {
  const v = q[name];
  if (v === undefined) return false;
  if (v !== 'true' && v !== 'false') throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be true or false`);
  return v === 'true';
}

export const hierarchyRoutes: ClientRoutes = (app, cctx) => {
  const tokens = new WalkTokens();

  app.get('/_matrix/client/v1/rooms/:roomId/hierarchy', { onRequest: cctx.auth.required }, async (request) => {
    const owner = fullUser(request);
    cctx.limit('default', owner.user_id);
    const roomId = roomIdParam(params(request).roomId);
    const q = query(request);
    const limit = Math.min(intParam(q, 'limit', 1) ?? DEFAULT_LIMIT, MAX_LIMIT);
    const maxDepth = Math.min(intParam(q, 'max_depth', 0) ?? DEFAULT_MAX_DEPTH, MAX_MAX_DEPTH);
    const suggestedOnly = boolParam(q, 'suggested_only');
    const from = q.from;
    if (from !== undefined && typeof from !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'from may be given once');

    let walk: Walk | undefined;
    if (from !== undefined) {
      walk = tokens.get(from);
      if (!walk || walk.user_id !== owner.user_id) throw new MatrixError(400, 'M_INVALID_PARAM', 'Unknown or expired pagination token');
      if (walk.room_id !== roomId || walk.suggested_only !== suggestedOnly || walk.max_depth !== maxDepth) {
        throw new MatrixError(400, 'M_INVALID_PARAM', 'The room, suggested_only and max_depth cannot change between paginated requests');
      }
    }

    // The root is checked on every page: a user who lost access to the space stops paginating it.
    const source = localHierarchySource(cctx, owner.user_id);
    const root = await source.room(roomId, []);
    if (!root) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found');
    if (!root.visible) throw new MatrixError(403, 'M_FORBIDDEN', 'You are not allowed to view this room');

    const rooms: HierarchyChunk[] = [];
    if (!walk) {
      walk = { user_id: owner.user_id, room_id: roomId, suggested_only: suggestedOnly, max_depth: maxDepth, stack: [], seen: new Set([roomId]) };
      visit(walk, root, 0, rooms);
    }
    await walkPage(source, walk, limit, rooms);
    return { rooms, ...(walk.stack.length > 0 ? { next_batch: tokens.save(walk) } : {}) };
  });
};
