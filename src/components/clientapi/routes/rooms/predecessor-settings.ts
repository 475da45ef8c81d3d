/**
 * A user's own settings for a room follow it to its upgrade (client-server
 * API "Room upgrades": the server should replicate the user's personalised
 * settings, such as notifications and tags, when they join the new room):
 * the room's tags, its push rule, and its place in `m.direct`. Best effort:
 * the join or upgrade has happened whatever becomes of this.
 */
import type { FastifyRequest } from 'fastify';
import type { ClientApiContext } from '../../context.js';

/** The room an upgraded room replaced, from its create event. */
async function predecessorOf(cctx: ClientApiContext, roomId: string): Promise<string | undefined> {
  const [create] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [['m.room.create', '']] })).events;
  const p = create?.pdu.content.predecessor;
  const id = p && typeof p === 'object' && !Array.isArray(p) ? (p as { room_id?: unknown }).room_id : undefined;
  return typeof id === 'string' ? id : undefined;
}

export async function carryOverRoomSettings(cctx: ClientApiContext, request: FastifyRequest, userId: string, roomId: string): Promise<void> {
  try {
    const old = await predecessorOf(cctx, roomId);
    if (!old) return;
    const { userapi } = cctx;

    const tags = await userapi.queryAccountData({ user_id: userId, room_id: old, type: 'm.tag' });
    const tagged = tags && Object.keys((tags.content.tags as object | undefined) ?? {}).length > 0;
    if (tagged && !(await userapi.queryAccountData({ user_id: userId, room_id: roomId, type: 'm.tag' }))) {
      await userapi.setAccountData({ user_id: userId, room_id: roomId, type: 'm.tag', content: tags.content });
    }

    const rule = await userapi.queryPushRule({ user_id: userId, kind: 'room', rule_id: old }).catch(() => undefined);
    if (rule) {
      await userapi.putPushRule({ user_id: userId, kind: 'room', rule_id: roomId, rule: { actions: rule.actions } });
      if (!rule.enabled) await userapi.setPushRuleEnabled({ user_id: userId, kind: 'room', rule_id: roomId, enabled: false });
    }

    const direct = await userapi.queryAccountData({ user_id: userId, type: 'm.direct' });
    if (direct) {
      let changed = false;
      const next: Record<string, unknown> = {};
      for (const [other, rooms] of Object.entries(direct.content)) {
        const list = Array.isArray(rooms) ? [...rooms] : rooms;
        if (Array.isArray(list) && list.includes(old) && !list.includes(roomId)) {
          list.push(roomId);
          changed = true;
        }
        next[other] = list;
      }
      if (changed) await userapi.setAccountData({ user_id: userId, type: 'm.direct', content: next });
    }
  } catch (err) {
    request.log.warn({ err, roomId, userId }, "the user's settings of the room it replaced were not carried over");
  }
}
