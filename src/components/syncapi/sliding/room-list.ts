/**
 * The rooms a sliding sync list is cut from: every room the user is joined
 * to, invited to, knocking on, or was kicked or banned from after joining;
 * rooms the user left themselves only when this connection already had
 * them. Ordered by `bump_stamp` (the stream position of the room's latest
 * event of the MSC's bump types; for rooms the user is not joined to, of
 * their membership), newest first; filters cut the ordering down.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { forgottenRooms } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { keys, type AccountDataRecord, type StrippedRecord } from '../storage.js';
import type { RoomView } from '../views.js';
import { at, type MembershipPoint } from '../visibility.js';
import type { ListFilters } from './request.js';

/** Event types that move a room up the list (the MSC's "proper" activity). */
export const BUMP_TYPES = new Set(['m.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info']);

export interface Candidate {
  roomId: string;
  room: RoomView | undefined;
  /** The user's membership as of the answer's position. */
  m: MembershipPoint;
  bump: number;
  /** Latest event position (a tie-break). */
  latest: number;
  /** Invites and knocks: the stripped state kept when they arrived. */
  stripped?: StrippedRecord | undefined;
}

/** Per room, the latest bump event position found up to `upTo`. */
export class BumpStamps {
  private readonly cache = new Map<string, { upTo: number; bump: number }>();

  constructor(private readonly deps: SyncDeps) {}

  async of(room: RoomView, w: number): Promise<number> {
    const upTo = Math.min(room.latest, w);
    const hit = this.cache.get(room.id);
    if (hit && hit.upTo === upTo) return hit.bump;
    const after = hit && hit.upTo < upTo ? hit.upTo : 0;
    const scan = await this.deps.timeline.scan(room, { after, upTo, reverse: true, want: 1, cap: 2000, accept: (rec) => BUMP_TYPES.has(rec.pdu.type) });
    let bump: number;
    if (scan.events[0]) bump = scan.events[0].pos;
    else if (after > 0 && hit) bump = hit.bump;
    // No bump event within reach: the oldest position looked at is the best guess.
    else bump = scan.last ?? upTo;
    if (!hit || hit.upTo < upTo) {
      this.cache.set(room.id, { upTo, bump });
      if (this.cache.size > 20_000) this.cache.delete(this.cache.keys().next().value!);
    }
    return bump;
  }
}

/** What filters read of a room; looked up once per request and room. */
export class RoomFacts {
  private direct: Set<string> | undefined;
  private readonly types = new Map<string, string | null>();
  private tagsCache = new Map<string, Set<string>>();
  private spaceChildren: Map<string, Set<string>> | undefined;

  constructor(
    private readonly deps: SyncDeps,
    private readonly userId: string,
  ) {}

  /** Rooms named in the user's m.direct account data. */
  async directRooms(): Promise<Set<string>> {
    if (this.direct) return this.direct;
    const rec = await this.deps.db.get<AccountDataRecord>(keys.accountData(this.userId, '', 'm.direct'));
    const out = new Set<string>();
    for (const v of Object.values(rec?.content ?? {})) if (Array.isArray(v)) for (const id of v) if (typeof id === 'string') out.add(id);
    return (this.direct = out);
  }

  async isDm(c: Candidate): Promise<boolean> {
    if ((await this.directRooms()).has(c.roomId)) return true;
    // An invite says so itself.
    const own = c.stripped?.state.find((e) => e.type === 'm.room.member' && e.state_key === this.userId);
    return (own?.content as JsonObject | undefined)?.is_direct === true;
  }

  private strippedOf(c: Candidate, type: string): JsonObject | undefined {
    return c.stripped?.state.find((e) => e.type === type && (e.state_key ?? '') === '') as JsonObject | undefined;
  }

  async roomType(c: Candidate): Promise<string | null> {
    if (this.types.has(c.roomId)) return this.types.get(c.roomId)!;
    let type: unknown;
    if (c.stripped || !c.room) type = (this.strippedOf(c, 'm.room.create')?.content as JsonObject | undefined)?.type;
    else {
      const e = await this.deps.db.get<{ event_id: string }>(keys.state(c.roomId, 'm.room.create', ''));
      const rec = e ? await this.deps.events.get(e.event_id) : undefined;
      type = rec?.pdu.content.type;
    }
    const t = typeof type === 'string' ? type : null;
    this.types.set(c.roomId, t);
    return t;
  }

  encrypted(c: Candidate): boolean {
    if (c.stripped || !c.room) return this.strippedOf(c, 'm.room.encryption') !== undefined;
    return c.room.encrypted;
  }

  async tags(roomId: string): Promise<Set<string>> {
    let t = this.tagsCache.get(roomId);
    if (!t) {
      const rec = await this.deps.db.get<AccountDataRecord>(keys.accountData(this.userId, roomId, 'm.tag'));
      const tags = rec?.content.tags;
      t = new Set(tags && typeof tags === 'object' && !Array.isArray(tags) ? Object.keys(tags) : []);
      this.tagsCache.set(roomId, t);
    }
    return t;
  }

  /** Children (m.space.child with `via`) of the spaces the user is joined to, among those named. */
  async childrenOf(spaces: string[], w: number): Promise<Set<string>> {
    this.spaceChildren ??= new Map();
    const out = new Set<string>();
    for (const spaceId of spaces) {
      let kids = this.spaceChildren.get(spaceId);
      if (!kids) {
        kids = new Set();
        const room = this.deps.views.room(spaceId);
        if (room && at(room.local.get(this.userId), w)?.membership === 'join') {
          const children = await this.deps.state.current(spaceId, { only: 'm.space.child' });
          for (const rec of await this.deps.events.records([...children.values()])) {
            if (Array.isArray(rec.pdu.content.via) && rec.pdu.content.via.length > 0) kids.add(rec.pdu.state_key!);
          }
        }
        this.spaceChildren.set(spaceId, kids);
      }
      for (const k of kids) out.add(k);
    }
    return out;
  }

  async passes(c: Candidate, f: ListFilters, w: number): Promise<boolean> {
    if (f.is_invite !== undefined && (c.m.membership === 'invite') !== f.is_invite) return false;
    if (f.is_dm !== undefined && (await this.isDm(c)) !== f.is_dm) return false;
    if (f.is_encrypted !== undefined && this.encrypted(c) !== f.is_encrypted) return false;
    if (f.room_types || f.not_room_types) {
      const type = await this.roomType(c);
      if (f.not_room_types?.includes(type)) return false;
      if (f.room_types && !f.room_types.includes(type)) return false;
    }
    if (f.spaces && !(await this.childrenOf(f.spaces, w)).has(c.roomId)) return false;
    if (f.tags || f.not_tags) {
      const tags = await this.tags(c.roomId);
      if (f.not_tags?.some((t) => tags.has(t))) return false;
      if (f.tags && !f.tags.some((t) => tags.has(t))) return false;
    }
    return true;
  }
}

/**
 * The user's rooms as of `w`, newest first. `known`: rooms this connection
 * already had (a room the user left stays listed on the connection that
 * saw it).
 */
export async function candidates(deps: SyncDeps, bumps: BumpStamps, userId: string, w: number, known: ReadonlySet<string>): Promise<Candidate[]> {
  const user = deps.views.users.get(userId);
  if (!user) return [];
  const out: Candidate[] = [];
  // Asked of the Roomserver once, and only when some room needs it.
  let forgotten: Promise<Set<string>> | undefined;
  const isForgotten = async (roomId: string) => (await (forgotten ??= forgottenRooms(deps, userId))).has(roomId);
  await Promise.all(
    [...user.rooms].map(async (roomId) => {
      const room = deps.views.room(roomId);
      const hist = room?.local.get(userId) ?? user.remote.get(roomId);
      const m = at(hist, w);
      if (!m) return;
      const everJoined = hist!.some((p) => p.membership === 'join' && p.pos <= m.pos);
      switch (m.membership) {
        case 'join': {
          if (!room) return;
          out.push({ roomId, room, m, bump: await bumps.of(room, w), latest: Math.min(room.latest, w) });
          return;
        }
        case 'invite':
        case 'knock': {
          const stripped = await deps.db.get<StrippedRecord>(keys.stripped(userId, roomId));
          if (!stripped) return;
          if (m.membership === 'invite') {
            // Invites from ignored users, and any while the user blocks invites, are not shown.
            const own = stripped.state.find((e) => e.type === 'm.room.member' && e.state_key === userId);
            if (own && deps.views.hidesInvite(userId, String(own.sender))) return;
          }
          out.push({ roomId, room, m, bump: m.pos, latest: m.pos, stripped });
          return;
        }
        case 'ban': {
          if (!everJoined && !known.has(roomId)) return;
          out.push({ roomId, room, m, bump: m.pos, latest: m.pos });
          return;
        }
        default: {
          if (!known.has(roomId)) {
            // Kicked after joining: listed, the user may not know yet, unless they forgot the room since. Left by themselves: not.
            if (!everJoined) return;
            const ev = await deps.events.get(m.event_id);
            if (!ev || ev.pdu.sender === userId) return;
            if (await isForgotten(roomId)) return;
          }
          out.push({ roomId, room, m, bump: m.pos, latest: m.pos });
        }
      }
    }),
  );
  out.sort((a, b) => b.bump - a.bump || b.latest - a.latest || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
  return out;
}
