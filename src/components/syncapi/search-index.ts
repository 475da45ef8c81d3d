/**
 * The search indexes of the SyncAPI's database, for POST /search and
 * GET /rooms/{roomId}/timestamp_to_event:
 *
 * - words: ('sw', word, room, pos) → 0 for every word of an event's
 *   `content.body`, `content.name` and `content.topic` (encrypted events
 *   have none). A word is a run of letters, digits and combining marks,
 *   lowercased after NFKC normalisation. Written by the ingest in the same
 *   batch as the event; a redaction deletes its event's words.
 * - timestamps: ('st', room, origin_server_ts, pos) → event id, for every
 *   timeline event.
 *
 * The index only proposes candidates: readers check every candidate
 * against the stored event (its current, possibly redacted, content),
 * so an entry left behind never yields a wrong result.
 *
 * Databases written before the index existed are indexed at start, in the
 * background and in small chunks (`SearchIndex.rebuild`); until that ends
 * (`ready` false) readers walk the rooms' timelines instead, bounded.
 */
import type { JsonObject } from '../../core/canonical-json.js';
import type { PDU } from '../../core/events/pdu.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';
import { keys, type EventRecord } from './storage.js';

/** Bump to index every stored event again at the next start. */
export const SEARCH_INDEX_VERSION = 1;

/** The content keys searched (client-server API "Server Side Search"). */
export const SEARCH_KEYS = ['content.body', 'content.name', 'content.topic'] as const;
export type SearchKey = (typeof SEARCH_KEYS)[number];

/** Longer words are cut (in the index and in queries alike). */
const MAX_WORD = 64;
/** Distinct words indexed per event at most (a huge message indexes its first ones). */
const MAX_WORDS_PER_EVENT = 1000;

export const searchKeys = {
  word: (word: string, roomId: string, pos: number) => encodeKey('sw', word, roomId, pos),
  wordInRoom: (word: string, roomId: string) => prefixRange('sw', word, roomId),
  ts: (roomId: string, ts: number, pos: number) => encodeKey('st', roomId, ts, pos),
  /** Keys of the room's events with origin_server_ts ≥ ts start here. */
  tsFrom: (roomId: string, ts: number) => encodeKey('st', roomId, ts),
  tsRange: (roomId: string) => prefixRange('st', roomId),
  version: () => encodeKey('meta', 'search_index'),
};

/** The words of a text: NFKC, lowercased, split on anything that is not a letter, digit or mark. */
export function wordsOf(text: string): string[] {
  const out: string[] = [];
  for (const w of text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}\p{M}]+/u)) {
    if (w === '') continue;
    out.push(w.length > MAX_WORD ? Array.from(w).slice(0, MAX_WORD).join('') : w);
  }
  return out;
}

/** The searchable texts of an event, by key; none for encrypted events. */
export function searchableTexts(pdu: Pick<PDU, 'type' | 'content'>): Partial<Record<SearchKey, string>> {
  if (pdu.type === 'm.room.encrypted') return {};
  const c = pdu.content as JsonObject | undefined;
  if (!c || typeof c !== 'object') return {};
  const out: Partial<Record<SearchKey, string>> = {};
  for (const k of SEARCH_KEYS) {
    const v = c[k.slice('content.'.length)];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/** Distinct words of an event over all searchable keys (what the index holds). */
export function indexedWords(pdu: Pick<PDU, 'type' | 'content'>): string[] {
  const set = new Set<string>();
  for (const text of Object.values(searchableTexts(pdu))) {
    for (const w of wordsOf(text)) {
      if (set.size >= MAX_WORDS_PER_EVENT) break;
      set.add(w);
    }
  }
  return [...set];
}

/** Index writes for a timeline event (words and timestamp). */
export function indexOps(rec: EventRecord): WriteOp[] {
  if (rec.pos <= 0) return [];
  const ops: WriteOp[] = [];
  if (!rec.redacted_because) {
    for (const w of indexedWords(rec.pdu)) ops.push({ type: 'put', key: searchKeys.word(w, rec.room_id, rec.pos), value: 0 });
  }
  const ts = rec.pdu.origin_server_ts;
  if (Number.isSafeInteger(ts) && ts >= 0) ops.push({ type: 'put', key: searchKeys.ts(rec.room_id, ts, rec.pos), value: rec.event_id });
  return ops;
}

/** Deletes of an event's words, for its redaction (the `pdu` as it was before). */
export function unindexWordsOps(roomId: string, pos: number, pdu: Pick<PDU, 'type' | 'content'>): WriteOp[] {
  if (pos <= 0) return [];
  return indexedWords(pdu).map((w) => ({ type: 'del', key: searchKeys.word(w, roomId, pos) }));
}

/** Events indexed per write while rebuilding. */
const REBUILD_CHUNK = 256;

export class SearchIndex {
  /** Every stored timeline event is indexed (else readers walk timelines). */
  ready = false;
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(private readonly db: Database) {}

  /** Ready when the database is indexed at this version or holds no timeline yet. */
  async open(): Promise<void> {
    if ((await this.db.get<number>(searchKeys.version())) === SEARCH_INDEX_VERSION) {
      this.ready = true;
      return;
    }
    const [any] = await this.db.keys({ ...prefixRange('tl'), limit: 1 });
    if (!any) {
      await this.db.put(searchKeys.version(), SEARCH_INDEX_VERSION);
      this.ready = true;
    }
  }

  /**
   * Indexes every event in every room's timeline, a chunk at a time, then
   * marks the database indexed. Events the ingest adds meanwhile are
   * indexed by it; writing an entry twice is harmless. `onError` hears a
   * failure (the index then stays not ready until the next start).
   */
  startRebuild(onError: (err: unknown) => void): void {
    if (this.ready || this.running) return;
    this.running = this.rebuild().catch((err) => {
      if (!this.stopping) onError(err);
    });
  }

  private async rebuild(): Promise<void> {
    const rooms = (await this.db.keys(keys.rooms())).map((k) => String(decodeKey(k)[1]));
    for (const roomId of rooms) {
      const range = keys.timelineRange(roomId);
      let gt = range.gt;
      for (;;) {
        if (this.stopping) return;
        const rows = await this.db.entries<string>({ gt, lt: range.lt, limit: REBUILD_CHUNK });
        if (rows.length === 0) break;
        const recs = await this.db.getMany<EventRecord>(rows.map(([, id]) => keys.event(id)));
        const ops: WriteOp[] = [];
        for (const rec of recs) if (rec) ops.push(...indexOps(rec));
        if (this.stopping) return;
        if (ops.length > 0) await this.db.write(ops);
        gt = rows[rows.length - 1]![0];
        // Let requests and the consumers run between chunks.
        await new Promise((r) => setImmediate(r));
      }
    }
    if (this.stopping) return;
    await this.db.put(searchKeys.version(), SEARCH_INDEX_VERSION);
    this.ready = true;
  }

  /** Stops a rebuild (before the database closes). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /**
   * Positions in (0, upTo] of the room's events holding every word, newest
   * first, at most `max` (each word's newest `perWord` entries are read).
   */
  async candidates(roomId: string, words: readonly string[], upTo: number, max: number, perWord = 50_000): Promise<number[]> {
    if (words.length === 0 || upTo <= 0) return [];
    let acc: Set<number> | undefined;
    for (const w of words) {
      const range = searchKeys.wordInRoom(w, roomId);
      const ks = await this.db.keys({ gt: range.gt, lte: searchKeys.word(w, roomId, upTo), reverse: true, limit: perWord });
      const positions = ks.map((k) => Number(decodeKey(k)[3]));
      if (acc === undefined) acc = new Set(positions);
      else {
        const next = new Set<number>();
        for (const p of positions) if (acc.has(p)) next.add(p);
        acc = next;
      }
      if (acc.size === 0) return [];
    }
    return [...acc!].sort((a, b) => b - a).slice(0, max);
  }
}
