/**
 * Events as clients see them (client-server API `ClientEvent`): the fields
 * a client needs, without the federation ones (hashes, signatures,
 * prev/auth events, depth), and `unsigned` data computed by this server.
 */
import type { JsonObject } from '../../../../core/canonical-json.js';
import type { PDU } from '../../../../core/events/pdu.js';
import type { RoomEvent } from '../../../roomserver/api.js';

export interface ClientEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: JsonObject;
  state_key?: string;
  redacts?: string;
  unsigned: JsonObject;
}

export interface UnsignedExtras {
  prev_content?: JsonObject;
  replaces_state?: string;
  transaction_id?: string;
  membership?: string;
  /** Bundled aggregations (the SyncAPI's). */
  'm.relations'?: JsonObject;
}

function base(eventId: string, roomId: string, pdu: PDU, now: number): ClientEvent {
  const ev: ClientEvent = {
    event_id: eventId,
    // A v12 create event carries no room_id; clients still need it.
    room_id: roomId,
    type: pdu.type,
    sender: pdu.sender,
    origin_server_ts: pdu.origin_server_ts,
    content: pdu.content,
    unsigned: { age: Math.max(0, now - pdu.origin_server_ts) },
  };
  if (typeof pdu.state_key === 'string') ev.state_key = pdu.state_key;
  // From v11 `redacts` moved into content; clients of every version read it at the top too.
  const redacts = typeof pdu.redacts === 'string' ? pdu.redacts : typeof pdu.content.redacts === 'string' ? pdu.content.redacts : undefined;
  if (pdu.type === 'm.room.redaction' && redacts !== undefined) ev.redacts = redacts;
  return ev;
}

export function clientEvent(ev: RoomEvent, extras: UnsignedExtras = {}, now = Date.now()): ClientEvent {
  const out = base(ev.event_id, ev.room_id, ev.pdu, now);
  if (ev.redacted_because) {
    const { event_id, ...pdu } = ev.redacted_because;
    out.unsigned.redacted_because = base(event_id, ev.room_id, pdu as PDU, now) as unknown as JsonObject;
  }
  for (const [k, v] of Object.entries(extras)) if (v !== undefined) out.unsigned[k] = v;
  return out;
}
