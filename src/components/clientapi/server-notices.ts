/**
 * Server notices (client-server API "Server Notices"): messages from the
 * server itself, in one room per user, sent by a system user the server
 * reserves (`@_server:<server name>`; registration refuses names that begin
 * with `_`). The room is made on the first notice: private, tagged
 * `m.server_notice` for the user, read-only for them (users_default below
 * events_default), and the user is invited, not joined. A user who left it
 * is invited back into the same room by the next notice. The invite cannot
 * be rejected (403 M_CANNOT_LEAVE_SERVER_NOTICE_ROOM); once joined, the
 * user may leave.
 */
import type { JsonObject } from '../../core/canonical-json.js';
import { MatrixError } from '../../core/errors.js';
import { noticesUserOf } from '../../core/invites.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import type { ClientApiContext } from './context.js';

const ROOM_NAME = 'Server Notices';
const NOTICE_TAG = 'm.server_notice';

export interface Notice {
  user_id: string;
  type: string;
  content: JsonObject;
  state_key?: string;
  /** Repeating the same transaction sends nothing new and answers with the first event. */
  txn?: { device_id: string; txn_id: string };
}

export class ServerNotices {
  /** One notice at a time per user: two first notices must not make two rooms. */
  private readonly locks = new KeyedQueue();
  readonly sender: string;

  constructor(private readonly cctx: ClientApiContext) {
    this.sender = noticesUserOf(cctx.serverName);
  }

  /** The user's notices room: among the rooms the system user is in, the one the user has a membership in. */
  async roomOf(userId: string): Promise<string | undefined> {
    const { rooms } = await this.cctx.roomserver.queryRoomsForUser({ user_id: this.sender, membership: 'join' });
    for (const { room_id } of rooms) {
      if ((await this.cctx.roomserver.queryMembership({ room_id, user_id: userId })).membership !== null) return room_id;
    }
    return undefined;
  }

  async send(n: Notice): Promise<{ event_id: string }> {
    const user = await this.cctx.userapi.queryUser({ user_id: n.user_id });
    if (!user || user.deactivated) throw new MatrixError(404, 'M_NOT_FOUND', `There is no active user ${n.user_id}`);
    return this.locks.run(n.user_id, async () => {
      const roomId = (await this.roomOf(n.user_id)) ?? (await this.createRoom(n.user_id));
      const { membership } = await this.cctx.roomserver.queryMembership({ room_id: roomId, user_id: n.user_id });
      if (membership !== 'join' && membership !== 'invite') {
        await this.cctx.roomserver.sendEvent({ room_id: roomId, sender: this.sender, type: 'm.room.member', state_key: n.user_id, content: { membership: 'invite' } });
      }
      const { event_id } = await this.cctx.roomserver.sendEvent({
        room_id: roomId,
        sender: this.sender,
        type: n.type,
        content: n.content,
        ...(n.state_key !== undefined ? { state_key: n.state_key } : {}),
        ...(n.txn ? { txn: n.txn } : {}),
      });
      return { event_id };
    });
  }

  private async createRoom(userId: string): Promise<string> {
    const { room_id: roomId } = await this.cctx.roomserver.performCreateRoom({
      creator: this.sender,
      creator_profile: { displayname: ROOM_NAME },
      preset: 'private_chat',
      name: ROOM_NAME,
      // The user reads notices; only the server writes.
      power_level_content_override: { users_default: -10 },
      invite: [userId],
    });
    const tags = await this.cctx.userapi.queryAccountData({ user_id: userId, room_id: roomId, type: 'm.tag' });
    const existing = (tags?.content.tags as JsonObject | undefined) ?? {};
    await this.cctx.userapi.setAccountData({ user_id: userId, room_id: roomId, type: 'm.tag', content: { tags: { ...existing, [NOTICE_TAG]: {} } } });
    return roomId;
  }
}

/** Refuses to reject an invite to a notices room (the spec's M_CANNOT_LEAVE_SERVER_NOTICE_ROOM); a joined user may leave. */
export async function refuseNoticeInviteRejection(cctx: ClientApiContext, roomId: string, userId: string): Promise<void> {
  const m = await cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId });
  if (m.membership !== 'invite' || !m.event_id) return;
  const [invite] = (await cctx.roomserver.queryEvents({ event_ids: [m.event_id] })).events;
  if (invite?.pdu.sender === noticesUserOf(cctx.serverName)) {
    throw new MatrixError(403, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM', 'The invite to the server notices room cannot be rejected; join the room, then leave it if you wish');
  }
}

/** One notices sender per ClientAPI: its lock keeps two first notices for a user from making two rooms. */
const senders = new WeakMap<ClientApiContext, ServerNotices>();

export function noticesFor(cctx: ClientApiContext): ServerNotices {
  let n = senders.get(cctx);
  if (!n) senders.set(cctx, (n = new ServerNotices(cctx)));
  return n;
}
