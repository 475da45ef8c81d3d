/**
 * The roomserver's output log. Every event accepted into a room's timeline
 * appears here once, in the order the roomserver accepted it, with the
 * change it made to the room's current state. The SyncAPI and the
 * EDUServer (typing ends when a member leaves) consume it, and later the
 * FederationSender.
 */
import { defineTopic } from '../../platform/log/topic.js';
import type { RoomEvent, TxnKey } from './api.js';

export interface NewRoomEvent {
  kind: 'new_room_event';
  event: RoomEvent;
  /** Events that entered the room's current state with this event (usually the event itself, if it is a state event). */
  adds_state: string[];
  /** Events that left the room's current state. */
  removes_state: string[];
  /** The room's forward extremities after this event. */
  latest_event_ids: string[];
  /** The local client transaction that sent it, so its device sees `unsigned.transaction_id`. */
  txn?: TxnKey;
  /** The event was accepted into the DAG but fails against current state (soft-failed): not shown to clients. */
  soft_failed?: boolean;
}

export interface RedactedEvent {
  kind: 'redacted_event';
  room_id: string;
  redacted_event_id: string;
  redaction: RoomEvent;
}

/** A local user was invited (so clients show the invite, whatever else they know of the room). */
export interface NewInviteEvent {
  kind: 'new_invite_event';
  room_id: string;
  user_id: string;
  event: RoomEvent;
}

/** A local user's invite ended: they joined, declined, were uninvited or banned. */
export interface RetireInviteEvent {
  kind: 'retire_invite_event';
  room_id: string;
  user_id: string;
  /** The membership event that ended the invite. */
  event_id: string;
  membership: string;
}

export type OutputRoomEvent = NewRoomEvent | RedactedEvent | NewInviteEvent | RetireInviteEvent;

/** A record's kind for consumers that want only some (see roomEventKind). */
function outputKind(record: OutputRoomEvent): string {
  return record.kind === 'new_room_event' ? roomEventKind(record.event.pdu.type) : record.kind;
}

/** The kind of a `new_room_event` record of this event type. */
export const roomEventKind = (eventType: string) => `new_room_event ${eventType}`;

export const outputRoomEvents = defineTopic<OutputRoomEvent>('roomserver', 'output_room_events', { kindOf: outputKind });
