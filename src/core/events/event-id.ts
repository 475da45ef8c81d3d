/**
 * Event ids per room version (rooms/fragments/v1-event-ids.md, rooms/v3.md,
 * rooms/fragments/v4-event-ids.md) and the v12 room id, which is the create
 * event's id with `!` for `$` (appendices "Room IDs").
 */
import { encodeBase64, encodeBase64Url } from '../base64.js';
import type { RoomVersion } from '../room-versions.js';
import { referenceHash } from './hashes.js';
import type { Event, EventReferenceV1, PDU } from './pdu.js';

/** Thrown when an id cannot be derived because the event lacks what it needs. */
export class EventIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventIdError';
  }
}

/**
 * The event id: v1/v2 read the `event_id` field; v3 is `$` + the reference
 * hash in standard unpadded base64, v4+ in URL-safe unpadded base64.
 */
export function eventId(pdu: PDU, version: RoomVersion): string {
  switch (version.eventIdFormat) {
    case 'v1': {
      const id = (pdu as Record<string, unknown>).event_id;
      if (typeof id !== 'string') throw new EventIdError(`room version ${version.id} events carry their event_id, and this one has none`);
      return id;
    }
    case 'v3':
    case 'v4':
      return idFromReferenceHash('$', referenceHash(pdu, version), version);
  }
}

/**
 * An id made of a reference hash: `$` for a v3+ event id (standard base64 in
 * v3, URL-safe from v4), `!` for a v12 room id.
 */
export function idFromReferenceHash(sigil: '$' | '!', hash: Uint8Array, version: RoomVersion): string {
  return sigil + (version.eventIdFormat === 'v3' ? encodeBase64(hash) : encodeBase64Url(hash));
}

/** The room id a v12 m.room.create event defines: `!` + its URL-safe reference hash. */
export function roomIdOfCreateEvent(create: PDU, version: RoomVersion): string {
  if (!version.roomIdIsCreateEventHash) throw new EventIdError(`room version ${version.id} does not derive room ids from the create event`);
  if (create.type !== 'm.room.create') throw new EventIdError(`a ${String(create.type)} event does not define a room id`);
  return idFromReferenceHash('!', referenceHash(create, version), version);
}

/**
 * How other events of the room version refer to this one in prev_events and
 * auth_events: v1/v2 pair the id with the reference hash, v3+ use the id.
 */
export function eventReference(pdu: PDU, version: RoomVersion): string | EventReferenceV1 {
  const id = eventId(pdu, version);
  if (version.eventIdFormat !== 'v1') return id;
  return [id, { sha256: encodeBase64(referenceHash(pdu, version)) }];
}

/** The PDU with its id computed (or, for v1/v2, read). */
export function toEvent(pdu: PDU, version: RoomVersion): Event {
  return { eventId: eventId(pdu, version), roomVersion: version.id, pdu };
}
