/**
 * The published room directory as clients list it (`/publicRooms`): a
 * summary of each published room from its current state, filtered, in a
 * stable order (most joined members first, then room id) and cut into
 * pages. Tokens are positions in that order: `n<offset>` starts a page at
 * offset, `p<offset>` is the page that ends there.
 */
import { MatrixError } from '../../core/errors.js';
import type { PublicRoom, PublicRoomsRequest, PublicRoomsResponse, RoomEvent, RoomPreview } from './api.js';

/** The state a summary reads. */
export const SUMMARY_TYPES = [
  'm.room.create',
  'm.room.name',
  'm.room.topic',
  'm.room.avatar',
  'm.room.canonical_alias',
  'm.room.join_rules',
  'm.room.history_visibility',
  'm.room.guest_access',
  'm.room.member',
];

const MAX_LIMIT = 500;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The plain-text topic: the `text/plain` entry of `m.topic` (mimetype defaults to it), else the legacy `topic`. */
export function plainTopic(content: Record<string, unknown>): string | undefined {
  const rich = content['m.topic'] as { 'm.text'?: unknown } | undefined;
  const texts = rich && typeof rich === 'object' && Array.isArray(rich['m.text']) ? (rich['m.text'] as unknown[]) : [];
  for (const t of texts) {
    if (typeof t !== 'object' || t === null) continue;
    const { body, mimetype } = t as { body?: unknown; mimetype?: unknown };
    if ((mimetype === undefined || mimetype === 'text/plain') && typeof body === 'string') return body;
  }
  return str(content.topic);
}

export function summarise(roomId: string, state: RoomEvent[]): PublicRoom {
  const get = (type: string) => state.find((e) => e.pdu.type === type && e.pdu.state_key === '')?.pdu.content ?? {};
  const joined = state.filter((e) => e.pdu.type === 'm.room.member' && e.pdu.content.membership === 'join').length;
  const out: PublicRoom = {
    room_id: roomId,
    num_joined_members: joined,
    world_readable: get('m.room.history_visibility').history_visibility === 'world_readable',
    guest_can_join: get('m.room.guest_access').guest_access === 'can_join',
  };
  const name = str(get('m.room.name').name);
  const topic = plainTopic(get('m.room.topic'));
  const avatar = str(get('m.room.avatar').url);
  const alias = str(get('m.room.canonical_alias').alias);
  const joinRule = str(get('m.room.join_rules').join_rule);
  const roomType = str(get('m.room.create').type);
  if (name !== undefined) out.name = name;
  if (topic !== undefined) out.topic = topic;
  if (avatar !== undefined) out.avatar_url = avatar;
  if (alias !== undefined) out.canonical_alias = alias;
  if (joinRule !== undefined) out.join_rule = joinRule;
  if (roomType !== undefined) out.room_type = roomType;
  return out;
}

function matches(room: PublicRoom, filter: PublicRoomsRequest['filter']): boolean {
  if (!filter) return true;
  if (filter.room_types && !filter.room_types.includes(room.room_type ?? null)) return false;
  const term = filter.generic_search_term?.trim().toLowerCase();
  if (term) {
    const fields = [room.name, room.topic, room.canonical_alias, room.room_id];
    if (!fields.some((f) => f?.toLowerCase().includes(term))) return false;
  }
  return true;
}

function parseToken(since: string): { dir: 'n' | 'p'; offset: number } {
  const m = /^([np])(0|[1-9][0-9]{0,8})$/.exec(since);
  if (!m) throw new MatrixError(400, 'M_INVALID_PARAM', 'since is not a token this server gave out');
  return { dir: m[1] as 'n' | 'p', offset: Number(m[2]) };
}

export function page(rooms: PublicRoom[], req: PublicRoomsRequest): PublicRoomsResponse {
  if (req.limit !== undefined && (!Number.isInteger(req.limit) || req.limit < 1)) {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be a positive integer');
  }
  const sorted = rooms
    .filter((r) => matches(r, req.filter))
    .sort((a, b) => b.num_joined_members - a.num_joined_members || (a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0));
  const limit = Math.min(req.limit ?? sorted.length, MAX_LIMIT) || 1;
  let start = 0;
  if (req.since !== undefined) {
    const token = parseToken(req.since);
    start = token.dir === 'n' ? token.offset : Math.max(0, token.offset - limit);
    if (token.dir === 'p') {
      const chunk = sorted.slice(start, Math.min(token.offset, sorted.length));
      return withTokens(chunk, start, start + chunk.length, sorted.length);
    }
  }
  const chunk = sorted.slice(start, start + limit);
  return withTokens(chunk, start, start + chunk.length, sorted.length);
}

function withTokens(chunk: PublicRoom[], start: number, end: number, total: number): PublicRoomsResponse {
  return {
    chunk,
    ...(end < total ? { next_batch: `n${end}` } : {}),
    ...(start > 0 ? { prev_batch: `p${start}` } : {}),
    total_room_count_estimate: total,
  };
}

/** The state a preview reads: a summary's and the encryption. */
export const PREVIEW_TYPES = [...SUMMARY_TYPES, 'm.room.encryption'];

export function preview(roomId: string, roomVersion: string, state: RoomEvent[]): RoomPreview {
  const get = (type: string) => state.find((e) => e.pdu.type === type && e.pdu.state_key === '')?.pdu.content ?? {};
  const out: RoomPreview = { ...summarise(roomId, state), room_version: roomVersion };
  // The spec's schema names the one algorithm it knows.
  if (get('m.room.encryption').algorithm === 'm.megolm.v1.aes-sha2') out.encryption = 'm.megolm.v1.aes-sha2';
  const rules = get('m.room.join_rules');
  if ((rules.join_rule === 'restricted' || rules.join_rule === 'knock_restricted') && Array.isArray(rules.allow)) {
    const ids = rules.allow
      .filter((a): a is { type: string; room_id: string } => typeof a === 'object' && a !== null && (a as { type?: unknown }).type === 'm.room_membership')
      .map((a) => a.room_id)
      .filter((id) => typeof id === 'string');
    if (ids.length > 0) out.allowed_room_ids = ids;
  }
  return out;
}
