/**
 * Events as clients see them (client-server API `ClientEvent`): no
 * federation fields, and `unsigned` computed for the viewer: age, the
 * transaction id for the device that sent it, the redaction that redacted
 * it, the previous content of a state entry, the viewer's membership at the
 * event, and bundled aggregations. Filters may ask for the federation
 * format instead, or for only some fields (`event_fields`).
 */
import type { JsonObject, JsonValue } from '../../core/canonical-json.js';
import type { PDU } from '../../core/events/pdu.js';
import type { EventRecord } from './storage.js';
import { splitPath, valueAt } from '../../core/push/path.js';

export interface Viewer {
  user_id: string;
  device_id: string;
}

export interface FormatOptions {
  viewer: Viewer;
  now: number;
  /** /sync leaves `room_id` out of room sections (ClientEventWithoutRoomID). */
  withRoomId: boolean;
  format?: 'client' | 'federation';
  fields?: string[] | undefined;
}

export interface EventExtras {
  /** The viewer's membership at the event (`unsigned.membership`). */
  membership?: string | undefined;
  /** Bundled aggregations (`unsigned.m.relations`). */
  relations?: JsonObject | undefined;
}

function redactsOf(pdu: PDU): string | undefined {
  // From v11 `redacts` moved into content; clients of every version read it at the top too.
  if (typeof pdu.redacts === 'string') return pdu.redacts;
  return typeof pdu.content.redacts === 'string' ? pdu.content.redacts : undefined;
}

function base(eventId: string, roomId: string, pdu: PDU, opts: FormatOptions): JsonObject {
  const ev: JsonObject = {
    event_id: eventId,
    type: pdu.type,
    sender: pdu.sender,
    origin_server_ts: pdu.origin_server_ts,
    content: pdu.content,
    unsigned: { age: Math.max(0, opts.now - pdu.origin_server_ts) },
  };
  if (opts.withRoomId) ev.room_id = roomId;
  if (typeof pdu.state_key === 'string') ev.state_key = pdu.state_key;
  if (pdu.type === 'm.room.redaction') {
    const r = redactsOf(pdu);
    if (r !== undefined) ev.redacts = r;
  }
  return ev;
}

export function formatEvent(rec: EventRecord, opts: FormatOptions, extras: EventExtras = {}): JsonObject {
  if (opts.format === 'federation') {
    const unsigned: JsonObject = { ...(rec.pdu.unsigned ?? {}), age: Math.max(0, opts.now - rec.pdu.origin_server_ts) };
    return pick({ ...(rec.pdu as unknown as JsonObject), unsigned }, opts.fields);
  }
  const ev = base(rec.event_id, rec.room_id, rec.pdu, opts);
  const unsigned = ev.unsigned as JsonObject;
  if (rec.redacted_because) unsigned.redacted_because = base(rec.redacted_because.event_id, rec.room_id, rec.redacted_because.pdu, { ...opts, withRoomId: true });
  if (rec.txn && rec.txn.user_id === opts.viewer.user_id && rec.txn.device_id === opts.viewer.device_id) unsigned.transaction_id = rec.txn.txn_id;
  if (rec.prev) {
    unsigned.prev_content = rec.prev.content;
    unsigned.replaces_state = rec.prev.event_id;
    unsigned.prev_sender = rec.prev.sender;
  }
  if (extras.membership !== undefined) unsigned.membership = extras.membership;
  if (extras.relations && Object.keys(extras.relations).length > 0) unsigned['m.relations'] = extras.relations;
  return pick(ev, opts.fields);
}

/** Keeps only the listed fields (event_fields); all of them when no list is given. */
export function pick(ev: JsonObject, fields: string[] | undefined): JsonObject {
  if (!fields) return ev;
  const out: JsonObject = {};
  for (const path of fields) {
    const src = valueAt(ev, path) as JsonValue | undefined;
    if (src === undefined) continue;
    const parts = splitPath(path);
    let dst = out;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) dst[p] = src;
      else {
        const next = dst[p];
        dst = (next && typeof next === 'object' && !Array.isArray(next) ? next : (dst[p] = {})) as JsonObject;
      }
    });
  }
  return out;
}

/** Stripped state (client-server API "Stripped state"): sender, type, state_key and content only. */
export function strippedEvent(pdu: PDU): JsonObject {
  return { type: pdu.type, state_key: pdu.state_key ?? '', sender: pdu.sender, content: pdu.content };
}
