/**
 * Carries user changes into rooms, from the user_changes log: a new display
 * name or avatar becomes a join event in every room the user is in (spec:
 * "Events on Change of Profile Information"); a deactivated account leaves
 * its rooms and declines its invites.
 *
 * Each event is sent with a transaction id made of the record's offset, so
 * a batch handled twice (at-least-once delivery) sends nothing twice.
 */
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.js';
import type { LogRecord } from '../../platform/log/topic.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { RoomserverAPI } from '../roomserver/api.js';
import type { UserChange } from './topics.js';

/** The device id of the transactions the server sends on the user's behalf (ours are ten capital letters). */
const SERVER_DEVICE = '_neurite_userapi';

export async function applyUserChanges(roomserver: () => Client<RoomserverAPI>, batch: LogRecord<UserChange>[], logger: Logger): Promise<void> {
  for (const { offset, record } of batch) {
    const rs = roomserver();
    if (record.kind === 'profile') {
      const { rooms } = await rs.queryRoomsForUser({ user_id: record.user_id, membership: 'join' });
      for (const { room_id } of rooms) {
        const { events } = await rs.queryCurrentState({ room_id, keys: [['m.room.member', record.user_id]] });
        const current = events[0]?.pdu.content as Record<string, unknown> | undefined;
        if (current?.membership !== 'join') continue;
        const content: Record<string, unknown> = { ...current };
        delete content.displayname;
        delete content.avatar_url;
        if (record.displayname !== undefined) content.displayname = record.displayname;
        if (record.avatar_url !== undefined) content.avatar_url = record.avatar_url;
        if (content.displayname === current.displayname && content.avatar_url === current.avatar_url) continue;
        await send(rs, logger, room_id, record.user_id, content, `profile-${offset}`);
      }
    } else if (record.kind === 'deactivated') {
      const { rooms } = await rs.queryRoomsForUser({ user_id: record.user_id });
      for (const { room_id, membership } of rooms) {
        if (membership !== 'join' && membership !== 'invite' && membership !== 'knock') continue;
        await send(rs, logger, room_id, record.user_id, { membership: 'leave' }, `deactivated-${offset}`);
      }
    }
  }
}

async function send(rs: Client<RoomserverAPI>, logger: Logger, roomId: string, userId: string, content: Record<string, unknown>, txnId: string): Promise<void> {
  try {
    await rs.sendEvent({
      room_id: roomId,
      sender: userId,
      type: 'm.room.member',
      state_key: userId,
      content: content as never,
      txn: { device_id: SERVER_DEVICE, txn_id: txnId },
    });
  } catch (e) {
    // A room's rules may refuse the event (a room the user can no longer act in): skip that room, not the log.
    if (e instanceof MatrixError && e.status < 500) {
      logger.info({ room_id: roomId, user_id: userId, errcode: e.errcode, reason: e.message }, 'membership update refused by the room');
      return;
    }
    throw e;
  }
}
