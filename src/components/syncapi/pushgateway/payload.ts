/**
 * The body of a push gateway request (push gateway API `/notify`) for one
 * pusher: about an event, or (no event) an update of the badge count
 * alone. With `format: "event_id_only"` only the event's id and room go
 * out, as the spec allows; otherwise its type, sender, content and the
 * names that let a phone show it without syncing.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import type { Pusher } from '../../userapi/api.js';

export interface NotifiedEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  content: JsonObject;
  state_key?: string;
  /** The push rule's actions for this recipient. */
  actions: unknown[];
  sender_display_name?: string;
  room_name?: string;
  room_alias?: string;
}

/** `set_tweak` actions as the gateway's `tweaks` (a tweak without a value is true: spec, push rule actions). */
export function tweaksOf(actions: unknown[]): JsonObject {
  const tweaks: JsonObject = {};
  for (const a of actions) {
    if (!a || typeof a !== 'object' || typeof (a as { set_tweak?: unknown }).set_tweak !== 'string') continue;
    const { set_tweak: name, value } = a as { set_tweak: string; value?: unknown };
    tweaks[name] = value === undefined ? true : (value as JsonObject[string]);
  }
  return tweaks;
}

function device(pusher: Pusher, tweaks: JsonObject): JsonObject {
  const { url: _url, ...data } = pusher.data;
  return { app_id: pusher.app_id, pushkey: pusher.pushkey, ...(pusher.pushkey_ts !== undefined ? { pushkey_ts: pusher.pushkey_ts } : {}), data: data as JsonObject, tweaks };
}

/** Counts that are zero are left out (spec). */
function counts(unread: number): JsonObject {
  return unread > 0 ? { unread } : {};
}

/** A membership event's `membership` at the top level too, as Synapse sends it (SyTest's "Invites are pushed" reads it there). */
function memberships(content: JsonObject): JsonObject {
  return typeof content.membership === 'string' ? { membership: content.membership } : {};
}

export function eventNotification(pusher: Pusher, ev: NotifiedEvent, recipient: string, unread: number): JsonObject {
  const tweaks = tweaksOf(ev.actions);
  // Low priority lets a phone batch what would not make a sound or highlight anyway.
  const prio = tweaks.sound !== undefined || tweaks.highlight === true ? 'high' : 'low';
  const base: JsonObject = { event_id: ev.event_id, room_id: ev.room_id, prio, counts: counts(unread), devices: [device(pusher, tweaks)] };
  if (pusher.data.format === 'event_id_only') return { notification: base };
  return {
    notification: {
      ...base,
      type: ev.type,
      sender: ev.sender,
      content: ev.content,
      ...(ev.sender_display_name !== undefined ? { sender_display_name: ev.sender_display_name } : {}),
      ...(ev.room_name !== undefined ? { room_name: ev.room_name } : {}),
      ...(ev.room_alias !== undefined ? { room_alias: ev.room_alias } : {}),
      ...(ev.type === 'm.room.member' ? { user_is_target: ev.state_key === recipient, ...memberships(ev.content) } : {}),
      // Not in the push gateway spec: Synapse also sends the event id as `id`, and SyTest looks for it.
      id: ev.event_id,
    },
  };
}

/**
 * Only the badge: sent when the user reads and the count changes. Here a
 * zero is sent, not left out: a gateway that gets no count leaves the
 * phone's badge as it was, and clearing it is the point.
 */
export function countsNotification(pusher: Pusher, unread: number): JsonObject {
  return { notification: { prio: 'low', counts: { unread }, devices: [device(pusher, {})] } };
}
