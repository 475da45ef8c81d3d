/**
 * The persistent data unit (PDU): an event as servers exchange it. One type
 * covers every room version; fields that only some versions carry are
 * optional. See the spec's rooms/v*.md "Event format" sections.
 */
import type { JsonObject } from '../canonical-json.js';

/** v1/v2 reference another event as [event_id, {sha256: hash}]. */
export type EventReferenceV1 = [string, { sha256?: string }];

export interface PDU {
  /** Present on the wire only in v1/v2; v3+ derive it from the reference hash. */
  event_id?: string;
  /** Absent only on v12 create events. */
  room_id?: string;
  sender: string;
  type: string;
  state_key?: string;
  content: JsonObject;
  origin_server_ts: number;
  depth: number;
  prev_events: string[] | EventReferenceV1[];
  auth_events: string[] | EventReferenceV1[];
  /** v1–v10 m.room.redaction; v11+ carry it in content. */
  redacts?: string;
  hashes: { sha256: string; [alg: string]: string };
  signatures: Record<string, Record<string, string>>;
  unsigned?: JsonObject;
  /** Legacy fields kept by pre-v11 redaction. */
  origin?: string;
  membership?: string;
  prev_state?: unknown;
  [key: string]: unknown;
}

/** A PDU with its event id known (computed or, for v1/v2, read). */
export interface Event {
  readonly eventId: string;
  readonly roomVersion: string;
  readonly pdu: PDU;
}

/** The ids in prev_events / auth_events, whatever the room version's shape. */
export function referenceIds(refs: string[] | EventReferenceV1[]): string[] {
  return refs.map((r) => (typeof r === 'string' ? r : r[0]));
}
