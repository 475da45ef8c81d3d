/**
 * Relationships between events (client-server API "Forming relationships
 * between events"): the index of children by parent, and the bundled
 * aggregations served with a parent: `m.thread` (count, latest event,
 * whether the viewer took part), `m.replace` (the latest edit by the
 * original sender) and `m.reference` (the referencing event ids).
 */
import { isObject } from '../../core/auth/types.js';
import type { JsonObject } from '../../core/canonical-json.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import type { EventStore } from './events.js';
import { formatEvent, type FormatOptions } from './format.js';
import { keys, type EventRecord, type RelationRecord, type ThreadRecord } from './storage.js';

/** The relation an event's content declares, when it is well formed. */
export function relationOf(content: Record<string, unknown>): { rel_type: string; event_id: string } | undefined {
  const r = content['m.relates_to'];
  if (!r || typeof r !== 'object' || Array.isArray(r)) return undefined;
  const { rel_type, event_id } = r as Record<string, unknown>;
  if (typeof rel_type !== 'string' || typeof event_id !== 'string') return undefined;
  return { rel_type, event_id };
}

export interface Child extends RelationRecord {
  pos: number;
}

/**
 * An edit without a state_key, holding the new content as an object; an encrypted edit holds it in its
 * ciphertext, where the server cannot look.
 */
function validEdit(r: EventRecord): boolean {
  if (typeof r.pdu.state_key === 'string') return false;
  return r.pdu.type === 'm.room.encrypted' || isObject(r.pdu.content['m.new_content']);
}

/** How many references or edits a bundle looks at. */
const BUNDLE_SCAN = 200;

export class Relations {
  /** Events that some event relates to: only these can have aggregations (most events have none). */
  private readonly parents = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
  ) {}

  async load(): Promise<void> {
    for (const k of await this.db.keys({ gt: 'rel', lt: 'rel\x01' })) this.parents.add(String(decodeKey(k)[2]));
  }

  noteParent(eventId: string): void {
    this.parents.add(eventId);
  }

  /** Children of a parent between two positions (exclusive lower bound, inclusive upper), in the direction asked. */
  async children(roomId: string, parent: string, opts: { after?: number; upTo?: number; reverse: boolean; limit?: number }): Promise<Child[]> {
    const range = keys.relationsOf(roomId, parent);
    const out: Child[] = [];
    for (const [k, v] of await this.db.entries<RelationRecord>({
      gt: opts.after !== undefined ? keys.relation(roomId, parent, opts.after) : range.gt,
      ...(opts.upTo !== undefined ? { lte: keys.relation(roomId, parent, opts.upTo) } : { lt: range.lt }),
      reverse: opts.reverse,
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    })) {
      out.push({ ...v, pos: Number(decodeKey(k)[3]) });
    }
    return out;
  }

  /**
   * The bundled aggregations of an event for a viewer, who sees the children
   * `visible` admits and ignores the users in `ignored`, or undefined. State
   * events get none (the spec leaves them out for now).
   */
  async bundle(rec: EventRecord, opts: FormatOptions, visible: (child: EventRecord) => boolean, ignored: ReadonlySet<string>): Promise<JsonObject | undefined> {
    if (!this.parents.has(rec.event_id) || typeof rec.pdu.state_key === 'string') return undefined;
    const out: JsonObject = {};
    const thread = await this.db.get<ThreadRecord>(keys.thread(rec.room_id, rec.event_id));
    const seen = thread ? await this.threadSeen(rec, thread, visible, ignored) : undefined;
    if (thread && seen) {
      out['m.thread'] = {
        latest_event: formatEvent(seen.latest, { ...opts, withRoomId: true }, await this.edits(seen.latest, opts, visible)),
        count: seen.count,
        current_user_participated: rec.pdu.sender === opts.viewer.user_id || thread.participants.includes(opts.viewer.user_id),
      };
    }
    const edits = await this.edits(rec, opts, visible);
    if (edits.relations) Object.assign(out, edits.relations);
    const refs = (await this.children(rec.room_id, rec.event_id, { reverse: false, limit: BUNDLE_SCAN })).filter((c) => c.rel_type === 'm.reference');
    if (refs.length > 0) {
      const recs = (await this.events.records(refs.map((r) => r.event_id))).filter(visible);
      if (recs.length > 0) out['m.reference'] = { chunk: recs.map((r) => ({ event_id: r.event_id })) };
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  /**
   * A thread as the viewer sees it: the newest reply they may see, and the count less the replies of users they
   * ignore (client-server API "Server-side aggregation of m.thread relationships"). The stored summary serves
   * unless its latest reply is hidden from them or they ignore a participant; then the root's newest BUNDLE_SCAN
   * children are read, so an ignored user's older replies still count, and an older visible reply is not found.
   */
  private async threadSeen(rec: EventRecord, thread: ThreadRecord, visible: (child: EventRecord) => boolean, ignored: ReadonlySet<string>): Promise<{ latest: EventRecord; count: number } | undefined> {
    const latest = await this.events.get(thread.latest_event_id);
    const ignoring = ignored.size > 0 && thread.participants.some((u) => ignored.has(u));
    if (latest && visible(latest) && !ignoring) return { latest, count: thread.count };
    const replies = (await this.children(rec.room_id, rec.event_id, { reverse: true, limit: BUNDLE_SCAN })).filter((c) => c.rel_type === 'm.thread');
    const count = thread.count - replies.filter((c) => ignored.has(c.sender)).length;
    const newest = (await this.events.records(replies.filter((c) => !ignored.has(c.sender)).map((c) => c.event_id))).find(visible);
    return newest && { latest: newest, count };
  }

  /**
   * `m.replace`: the most recent valid edit, as a full event (client-server API "Validity of replacement
   * events"). None for an original that is redacted, a state event, or itself an edit.
   */
  private async edits(rec: EventRecord, opts: FormatOptions, visible: (child: EventRecord) => boolean): Promise<{ relations?: JsonObject }> {
    if (!this.parents.has(rec.event_id) || rec.redacted_because || typeof rec.pdu.state_key === 'string') return {};
    if (relationOf(rec.pdu.content)?.rel_type === 'm.replace') return {};
    const cands = (await this.children(rec.room_id, rec.event_id, { reverse: true, limit: BUNDLE_SCAN })).filter(
      (c) => c.rel_type === 'm.replace' && c.sender === rec.pdu.sender && c.type === rec.pdu.type,
    );
    if (cands.length === 0) return {};
    const recs = (await this.events.records(cands.map((c) => c.event_id))).filter((r) => visible(r) && !r.redacted_because && validEdit(r));
    // Most recent by origin_server_ts, ties by event id (client-server API "Server behaviour" of replacements).
    recs.sort((a, b) => b.pdu.origin_server_ts - a.pdu.origin_server_ts || (a.event_id < b.event_id ? 1 : -1));
    const latest = recs[0];
    if (!latest) return {};
    return { relations: { 'm.replace': formatEvent(latest, { ...opts, withRoomId: true }) } };
  }
}
