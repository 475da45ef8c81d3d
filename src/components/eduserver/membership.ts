/**
 * Who may send typing notifications and receipts to a room: its joined
 * members. The common case (a joined member) costs one roomserver query;
 * only a refusal asks whether the room exists at all.
 */
import { MatrixError } from '../../core/errors.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { RoomserverAPI } from '../roomserver/api.js';

export async function requireJoined(roomserver: Client<RoomserverAPI>, roomId: string, userId: string): Promise<void> {
  const { membership } = await roomserver.queryMembership({ room_id: roomId, user_id: userId });
  if (membership === 'join') return;
  if (!(await roomserver.queryRoom({ room_id: roomId }))) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${roomId}`);
  throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not in the room`);
}
