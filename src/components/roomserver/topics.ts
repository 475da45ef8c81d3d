/**
 * The roomserver's output log. Every event accepted into a room's timeline
 * appears here once, in the order the roomserver accepted it, with the
 * change it made to the room's current state. The SyncAPI, the ClientAPI
 * and the FederationSender consume it.
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

export type OutputRoomEvent = NewRoomEvent | RedactedEvent;

export const outputRoomEvents = defineTopic<OutputRoomEvent>('roomserver', 'output_room_events');
