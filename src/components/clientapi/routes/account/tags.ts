/**
 * Room tags (client-server API "Room Tagging"): GET /user/{userId}/rooms/{roomId}/tags,
 * PUT and DELETE …/tags/{tag}. Tags are the room's `m.tag` account data
 * (`{tags: {name: {order?}}}`), so they reach every device of the user
 * through /sync; each change is a read-modify-write of that one record,
 * one at a time per user and room.
 */
import type { JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { isValidRoomId } from '../../../../core/identifiers.js';
import { KeyedQueue } from '../../../../platform/storage/keyed-queue.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, ownUserParam, paramsOf, V3 } from './common.js';

const TAG = 'm.tag';
const MAX_TAG_BYTES = 255;

function roomIdOf(roomId: string | undefined): string {
  if (roomId === undefined || !isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(roomId)} is not a valid room id`);
  return roomId;
}

function tagName(tag: string | undefined): string {
  if (!tag) throw new MatrixError(400, 'M_INVALID_PARAM', 'The tag is missing');
  if (Buffer.byteLength(tag) > MAX_TAG_BYTES) throw new MatrixError(400, 'M_INVALID_PARAM', `A tag name is at most ${MAX_TAG_BYTES} bytes`);
  return tag;
}

/** The tag's object: `order`, when given, is a number from 0 to 1. */
function tagContent(body: JsonObject): JsonObject {
  const order = body.order;
  if (order !== undefined && (typeof order !== 'number' || !Number.isFinite(order) || order < 0 || order > 1)) {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'order must be a number from 0 to 1');
  }
  return body;
}

export const tagRoutes: ClientRoutes = (app, cctx) => {
  const queue = new KeyedQueue();
  const current = async (userId: string, roomId: string): Promise<Record<string, JsonObject>> => {
    const found = await cctx.userapi.queryAccountData({ user_id: userId, room_id: roomId, type: TAG });
    const tags = found?.content.tags;
    return tags && typeof tags === 'object' && !Array.isArray(tags) ? { ...(tags as Record<string, JsonObject>) } : {};
  };
  const change = (userId: string, roomId: string, edit: (tags: Record<string, JsonObject>) => boolean) =>
    queue.run(`${userId}\0${roomId}`, async () => {
      const tags = await current(userId, roomId);
      // Nothing to change (a tag removed that is not there): no write, no sync traffic.
      if (edit(tags)) await cctx.userapi.setAccountData({ user_id: userId, room_id: roomId, type: TAG, content: { tags } });
    });

  app.get(`${V3}/user/:userId/rooms/:roomId/tags`, { preHandler: cctx.auth.required }, async (request) => {
    const userId = ownUserParam(request, fullUser(request));
    return { tags: await current(userId, roomIdOf(paramsOf(request).roomId)) };
  });

  app.put(`${V3}/user/:userId/rooms/:roomId/tags/:tag`, { preHandler: cctx.auth.required }, async (request) => {
    const userId = ownUserParam(request, fullUser(request));
    const p = paramsOf(request);
    const roomId = roomIdOf(p.roomId);
    const tag = tagName(p.tag);
    const content = tagContent(bodyOf(request) as JsonObject);
    await change(userId, roomId, (tags) => {
      tags[tag] = content;
      return true;
    });
    return {};
  });

  app.delete(`${V3}/user/:userId/rooms/:roomId/tags/:tag`, { preHandler: cctx.auth.required }, async (request) => {
    const userId = ownUserParam(request, fullUser(request));
    const p = paramsOf(request);
    const roomId = roomIdOf(p.roomId);
    const tag = tagName(p.tag);
    await change(userId, roomId, (tags) => {
      if (!(tag in tags)) return false;
      delete tags[tag];
      return true;
    });
    return {};
  });
};
