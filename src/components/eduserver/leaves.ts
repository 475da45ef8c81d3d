/**
 * A member who leaves a room (or is kicked or banned) stops typing there
 * within a second, rather than when their timeout runs out (up to two
 * minutes of a typing notice for someone who is gone). The EDUServer learns of
 * membership changes from the roomserver's output log.
 */
import type { LogRecord } from '../../platform/log/topic.js';
import type { OutputRoomEvent } from '../roomserver/topics.js';
import type { Typing } from './typing.js';

/** Ends the typing notification of every user whose membership in this batch is no longer `join`. */
export async function stopTypingOnLeave(typing: Typing, batch: LogRecord<OutputRoomEvent>[]): Promise<void> {
  for (const { record } of batch) {
    if (record.kind !== 'new_room_event' || record.soft_failed) continue;
    const { pdu, room_id: roomId } = record.event;
    if (pdu.type !== 'm.room.member' || typeof pdu.state_key !== 'string') continue;
    if ((pdu.content as { membership?: unknown }).membership === 'join') continue;
    // Not typing: nothing is written (Typing.set ends only what is there).
    await typing.set(roomId, pdu.state_key, false, 0);
  }
}
