/**
 * The fully read marker: room account data `m.fully_read` of the UserAPI,
 * which only the read markers API may set. Like a receipt it does not move
 * back to an older event (by depth).
 */
import type { Client } from '../../platform/ipc/directory.js';
import type { RoomEvent, RoomserverAPI } from '../roomserver/api.js';
import type { UserAPI } from '../userapi/api.js';

export async function setFullyRead(userapi: Client<UserAPI>, roomserver: Client<RoomserverAPI>, userId: string, event: RoomEvent): Promise<void> {
  const current = await userapi.queryAccountData({ user_id: userId, room_id: event.room_id, type: 'm.fully_read' });
  const currentId = current?.content.event_id;
  if (currentId === event.event_id) return;
  if (typeof currentId === 'string') {
    const [old] = (await roomserver.queryEvents({ event_ids: [currentId] })).events;
    if (old && old.pdu.depth > event.pdu.depth) return;
  }
  await userapi.setAccountData({ user_id: userId, room_id: event.room_id, type: 'm.fully_read', content: { event_id: event.event_id }, read_marker: true });
}
