/**
 * POST /search (client-server API "Server Side Search"), the `room_events`
 * category: events of the rooms the requester may read, under the history
 * visibility rules, whose body, name or topic holds every word of the
 * search term. Candidates come from the word index (search-index.ts), or
 * from a bounded walk of the timelines while an old database is still being
 * indexed; every candidate is checked against the stored event.
 *
 * The results are ranked or ordered within a window: the newest
 * MAX_CANDIDATES events holding every word, at or below the stream position
 * of the first page (kept in `next_batch`, so later pages see the same set).
 * With `order_by: recent` the window moves down with each page instead, so
 * pagination reaches back to the oldest match.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../../core/canonical-json.js';
import { MatrixError } from '../../../core/errors.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import { specValidator } from '../../../platform/http/validate.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import { accessFor, mayReadRoom, seenWhole, serialize, visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { eventPasses, limitOf, parseRoomEventFilter, roomPasses, type RoomEventFilter } from '../filter.js';
import type { FormatOptions } from '../format.js';
import { SEARCH_KEYS, searchableTexts, wordsOf, type SearchKey } from '../search-index.js';
import { keys, type EventRecord } from '../storage.js';
import { token } from '../tokens.js';
import { readableUpTo } from './history.js';
import { formatFor, ownerOf, query, readYourWrites, single } from './common.js';

/** Events holding every word that a search looks at, newest first. */
const MAX_CANDIDATES = 1000;
/** Timeline entries per room looked at while the index is being built. */
const FALLBACK_SCAN = 2000;
const MAX_LIMIT = 100;
const MAX_CONTEXT = 100;

const checkBody = specValidator('client-server', 'POST /search');

type Order = 'rank' | 'recent';

interface Criteria {
  search_term: string;
  keys?: SearchKey[];
  filter?: RoomEventFilter;
  order_by?: Order;
  event_context?: { before_limit?: number; after_limit?: number; include_profile?: boolean };
  include_state?: boolean;
  groupings?: { group_by?: { key?: 'room_id' | 'sender' }[] };
}

/** Where a page ends: the window's top (u), the last result's position (p) and rank (k), a group's room (r) or sender (s). */
interface Batch {
  o: Order;
  u: number;
  p: number;
  k?: number;
  r?: string;
  s?: string;
  /** The total the first page counted: `count` is the whole search's, not what is left after the token. */
  n?: number;
}

function encodeBatch(b: Batch): string {
  return Buffer.from(JSON.stringify(b)).toString('base64url');
}

function parseBatch(text: string): Batch {
  const bad = () => new MatrixError(400, 'M_INVALID_PARAM', 'next_batch is not a valid search token');
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(text)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad();
  const b = v as Record<string, unknown>;
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if ((b.o !== 'rank' && b.o !== 'recent') || !count(b.u) || !count(b.p)) throw bad();
  if (b.o === 'rank' && !count(b.k)) throw bad();
  if (b.r !== undefined && typeof b.r !== 'string') throw bad();
  if (b.s !== undefined && typeof b.s !== 'string') throw bad();
  if (b.n !== undefined && !count(b.n)) throw bad();
  return {
    o: b.o,
    u: b.u as number,
    p: b.p as number,
    ...(b.o === 'rank' ? { k: b.k as number } : {}),
    ...(b.r !== undefined ? { r: b.r } : {}),
    ...(b.s !== undefined ? { s: b.s } : {}),
    ...(b.n !== undefined ? { n: b.n as number } : {}),
  };
}

/** The room_events criteria of a body, checked (400 before anything is read). */
function criteriaOf(body: unknown): Criteria {
  checkBody(body);
  const cats = (body as { search_categories: Record<string, unknown> }).search_categories;
  for (const name of Object.keys(cats)) {
    if (name !== 'room_events') throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown search category ${name}`);
  }
  const c = cats.room_events as Criteria | undefined;
  if (!c) throw new MatrixError(400, 'M_MISSING_PARAM', 'search_categories names no category to search (room_events)');
  if (c.filter !== undefined) parseRoomEventFilter(JSON.stringify(c.filter));
  for (const k of ['before_limit', 'after_limit'] as const) {
    const v = c.event_context?.[k];
    if (v !== undefined && v < 0) throw new MatrixError(400, 'M_INVALID_PARAM', `event_context.${k} must not be negative`);
  }
  return c;
}

interface Match {
  rec: EventRecord;
  pos: number;
  rank: number;
}

interface RoomScope {
  a: RoomAccess;
  /** Highest position of the room this search may return. */
  upper: number;
}

/** How often the words occur in the event's searched keys; 0 unless every word does. */
function rankOf(rec: EventRecord, words: readonly string[], searched: readonly SearchKey[]): number {
  const texts = searchableTexts(rec.pdu);
  const counts = new Map<string, number>();
  for (const k of searched) {
    const text = texts[k];
    if (text === undefined) continue;
    for (const w of wordsOf(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  let rank = 0;
  for (const w of words) {
    const n = counts.get(w) ?? 0;
    if (n === 0) return 0;
    rank += n;
  }
  return rank;
}

export function searchRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth): void {
  app.post('/_matrix/client/v3/search', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const c = criteriaOf(request.body);
    const order: Order = c.order_by ?? 'rank';
    const batchText = single(query(request), 'next_batch');
    const batch = batchText === undefined || batchText === '' ? undefined : parseBatch(batchText);
    if (batch && batch.o !== order) throw new MatrixError(400, 'M_INVALID_PARAM', `next_batch belongs to a search ordered by ${batch.o}`);
    const searched = c.keys && c.keys.length > 0 ? [...new Set(c.keys)] : [...SEARCH_KEYS];
    const filter = c.filter;
    const limit = limitOf(filter, 10, MAX_LIMIT);
    const words = [...new Set(wordsOf(c.search_term))];
    // A first page finds what the client was told is sent (a later page keeps its first page's position).
    if (!batch) await readYourWrites(deps);
    const upTo = batch ? Math.min(batch.u, deps.stream.current) : deps.stream.current;
    const groupKeys = [...new Set((c.groupings?.group_by ?? []).map((g) => g.key).filter((k): k is 'room_id' | 'sender' => k !== undefined))];

    // The rooms and how far into each the user may read.
    const scopes = new Map<string, RoomScope>();
    const roomIds = batch?.r !== undefined ? [batch.r] : [...(deps.views.users.get(owner.user_id)?.rooms ?? [])];
    for (const roomId of roomIds) {
      const room = deps.views.room(roomId);
      if (!room || !roomPasses(filter, roomId)) continue;
      const a = accessFor(deps, room, owner.user_id);
      if (!mayReadRoom(a, upTo)) continue;
      let upper = Math.min(readableUpTo(deps, a), upTo);
      if (batch && order === 'recent') upper = Math.min(upper, batch.p - 1);
      if (upper > 0) scopes.set(roomId, { a, upper });
    }

    // Candidates: positions of events holding every word, newest first.
    const cands: { roomId: string; pos: number }[] = [];
    if (words.length > 0) {
      for (const [roomId, { upper }] of scopes) {
        const positions = deps.search.ready
          ? await deps.search.candidates(roomId, words, upper, MAX_CANDIDATES)
          : (await deps.db.keys({ gt: keys.timelineRange(roomId).gt, lte: keys.timeline(roomId, upper), reverse: true, limit: FALLBACK_SCAN })).map((k) => Number(decodeKey(k)[2]));
        for (const pos of positions) cands.push({ roomId, pos });
      }
    }
    cands.sort((x, y) => y.pos - x.pos);
    const window = cands.slice(0, MAX_CANDIDATES);

    // Checked against the stored events.
    const ids = await deps.db.getMany<string>(window.map((x) => keys.timeline(x.roomId, x.pos)));
    const found = await deps.events.getMany(ids.map((id) => id ?? ''));
    const matches: Match[] = [];
    window.forEach((x, i) => {
      const rec = ids[i] === undefined ? undefined : found[i];
      if (!rec || rec.room_id !== x.roomId || rec.pos !== x.pos || rec.redacted_because) return;
      const { a } = scopes.get(x.roomId)!;
      // An erased user's words are not there for whom the event shows redacted.
      if (!seenWhole(a, rec) || !eventPasses(filter, rec.pdu)) return;
      if (batch?.s !== undefined && rec.pdu.sender !== batch.s) return;
      const rank = rankOf(rec, words, searched);
      if (rank > 0) matches.push({ rec, pos: x.pos, rank });
    });
    if (order === 'rank') matches.sort((x, y) => y.rank - x.rank || y.pos - x.pos);
    const rest = batch && order === 'rank' ? matches.filter((m) => m.rank < batch.k! || (m.rank === batch.k && m.pos < batch.p)) : matches;
    const page = rest.slice(0, limit);
    const total = batch?.n ?? rest.length;
    const tokenAfter = (m: Match, group: { r?: string; s?: string }, n: number) =>
      encodeBatch({ o: order, u: upTo, p: m.pos, ...(order === 'rank' ? { k: m.rank } : {}), ...(batch?.r !== undefined ? { r: batch.r } : {}), ...(batch?.s !== undefined ? { s: batch.s } : {}), ...group, n });

    const fmt = formatFor(owner);
    const results: JsonObject[] = [];
    for (const m of page) {
      const scope = scopes.get(m.rec.room_id)!;
      const result: JsonObject = { rank: m.rank, result: (await serialize(deps, scope.a, [m.rec], fmt, { bundle: true }))[0]! };
      if (c.event_context) result.context = await contextOf(deps, scope, m.rec, c.event_context, fmt);
      results.push(result);
    }

    const out: JsonObject = { count: total, highlights: words, results };
    const last = page[page.length - 1];
    // A full page always carries a token, as Synapse's do (Complement checks it); the next page may then be empty.
    if (last && (rest.length > page.length || page.length === limit)) out.next_batch = tokenAfter(last, {}, total);
    if (groupKeys.length > 0) {
      const groups: JsonObject = {};
      for (const key of groupKeys) {
        const valueOf = (m: Match) => (key === 'room_id' ? m.rec.room_id : m.rec.pdu.sender);
        const byValue = new Map<string, Match[]>();
        for (const m of page) {
          const list = byValue.get(valueOf(m));
          if (list) list.push(m);
          else byValue.set(valueOf(m), [m]);
        }
        const beyond = new Set(rest.slice(page.length).map(valueOf));
        const g: JsonObject = {};
        let order = 0;
        for (const [value, list] of byValue) {
          const entry: JsonObject = { order: ++order, results: list.map((m) => m.rec.event_id) };
          if (beyond.has(value)) entry.next_batch = tokenAfter(list[list.length - 1]!, key === 'room_id' ? { r: value } : { s: value }, rest.filter((m) => valueOf(m) === value).length);
          g[value] = entry;
        }
        groups[key] = g;
      }
      out.groups = groups;
    }
    if (c.include_state === true) {
      const state: JsonObject = {};
      for (const roomId of new Set(page.map((m) => m.rec.room_id))) {
        const scope = scopes.get(roomId)!;
        const recs = await deps.events.records([...(await deps.state.at(roomId, scope.upper)).values()]);
        state[roomId] = await serialize(deps, scope.a, recs, fmt, { bundle: false });
      }
      out.state = state;
    }
    return { search_categories: { room_events: out } };
  });
}

/** Events around a result that the user may see, the tokens around them and, when asked, their senders' profiles at the result. */
async function contextOf(deps: SyncDeps, scope: RoomScope, rec: EventRecord, ctx: NonNullable<Criteria['event_context']>, fmt: FormatOptions): Promise<JsonObject> {
  const { a } = scope;
  const accept = (r: EventRecord) => visible(a, r);
  const beforeLimit = Math.min(ctx.before_limit ?? 5, MAX_CONTEXT);
  const afterLimit = Math.min(ctx.after_limit ?? 5, MAX_CONTEXT);
  const before = beforeLimit > 0 ? (await deps.timeline.scan(a.room, { after: 0, upTo: rec.pos - 1, reverse: true, want: beforeLimit, accept })).events : [];
  const after = afterLimit > 0 ? (await deps.timeline.scan(a.room, { after: rec.pos, upTo: scope.upper, reverse: false, want: afterLimit, accept })).events : [];
  const oldest = before[before.length - 1];
  const newest = after[after.length - 1];
  const out: JsonObject = {
    start: token(oldest ? oldest.pos - 1 : rec.pos - 1),
    end: token(newest?.pos ?? rec.pos),
    events_before: await serialize(deps, a, before, fmt, { bundle: true }),
    events_after: await serialize(deps, a, after, fmt, { bundle: true }),
  };
  if (ctx.include_profile === true) {
    const senders = [...new Set([rec, ...before, ...after].map((r) => r.pdu.sender))];
    const members = await deps.state.entriesAt(a.room.id, rec.pos, senders.map((s) => ['m.room.member', s]));
    const recs = await deps.events.records([...members.values()]);
    const profiles: JsonObject = {};
    for (const m of recs) {
      if (typeof m.pdu.state_key !== 'string') continue;
      const p: JsonObject = {};
      if (typeof m.pdu.content.displayname === 'string') p.displayname = m.pdu.content.displayname;
      if (typeof m.pdu.content.avatar_url === 'string') p.avatar_url = m.pdu.content.avatar_url;
      profiles[m.pdu.state_key] = p;
    }
    out.profile_info = profiles;
  }
  return out;
}
