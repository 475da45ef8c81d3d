/** POST /createRoom (client-server API "Creation"). */
import type { JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { isValidRoomAlias } from '../../../../core/identifiers.js';
import { roomVersion } from '../../../../core/room-versions.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { PerformCreateRoomRequest, RoomPreset } from '../../../roomserver/api.js';
import { refuseIfSuspended } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { body, fullUser, profileContent, userIdParam, V3 } from './common.js';
import { invitesBlockedBy } from '../../invite-permission.js';
import { carryOverRoomSettings } from './predecessor-settings.js';

type StateEvent = { type: string; state_key?: string; content: JsonObject };

/** The full alias for `room_alias_name`: a localpart without ":" or white space, on this server. */
function aliasFor(name: string, serverName: string): string {
  if (name === '' || /[:\s]/.test(name)) throw new MatrixError(400, 'M_INVALID_PARAM', 'room_alias_name must be a non-empty alias localpart without ":" or white space');
  const alias = `#${name}:${serverName}`;
  if (!isValidRoomAlias(alias)) throw new MatrixError(400, 'M_INVALID_PARAM', `${alias} is not a valid room alias`);
  return alias;
}

export const createRoomRoutes: ClientRoutes = (app, cctx) => {
  app.post(
    `${V3}/createRoom`,
    { onRequest: cctx.auth.required, preValidation: specBody('client-server', 'POST /createRoom'), config: { canonicalJson: true } },
    async (request) => {
      const owner = fullUser(request);
      refuseIfSuspended(owner, 'create rooms');
      cctx.limit('send', owner.user_id);
      const b = body(request);

      if (Array.isArray(b.invite_3pid) && b.invite_3pid.length > 0) {
        throw new MatrixError(400, 'M_INVALID_PARAM', 'Third-party invites need an identity server, which this server does not use');
      }
      if (typeof b.room_version === 'string' && !roomVersion(b.room_version)) {
        throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${b.room_version} is not supported`);
      }
      const named = ((b.invite as string[] | undefined) ?? []).map((u) => userIdParam(u, 'invite'));
      // Someone who blocks invites is left out; the room is made all the same (spec, invite permission).
      const blocked = await Promise.all(named.map((u) => invitesBlockedBy(cctx, u)));
      const invite = named.filter((_, i) => !blocked[i]);
      const preset = (b.preset as RoomPreset | undefined) ?? (b.visibility === 'public' ? 'public_chat' : 'private_chat');
      const alias = typeof b.room_alias_name === 'string' ? aliasFor(b.room_alias_name, cctx.serverName) : undefined;

      const req: PerformCreateRoomRequest = {
        creator: owner.user_id,
        preset,
        creator_profile: await profileContent(cctx, owner.user_id),
        ...(typeof b.room_version === 'string' ? { room_version: b.room_version } : {}),
        ...(b.creation_content ? { creation_content: b.creation_content as JsonObject } : {}),
        ...(b.power_level_content_override ? { power_level_content_override: b.power_level_content_override as JsonObject } : {}),
        ...(b.initial_state
          ? { initial_state: (b.initial_state as StateEvent[]).map((e) => ({ type: e.type, state_key: e.state_key ?? '', content: e.content })) }
          : {}),
        ...(typeof b.name === 'string' ? { name: b.name } : {}),
        ...(typeof b.topic === 'string' ? { topic: b.topic } : {}),
        ...(invite.length > 0 ? { invite } : {}),
        ...(b.is_direct === true ? { is_direct: true } : {}),
        ...(alias ? { alias } : {}),
        ...(b.visibility === 'public' ? { publish: true } : {}),
      };
      let roomId: string;
      try {
        roomId = (await cctx.roomserver.performCreateRoom(req)).room_id;
      } catch (e) {
        // The auth rules refused one of the events the request implies: the request asked for an impossible room.
        if (e instanceof MatrixError && e.errcode === 'M_FORBIDDEN') throw new MatrixError(400, 'M_INVALID_ROOM_STATE', e.message);
        throw e;
      }
      // A room made by hand to replace another (`predecessor` in its create event): the creator's settings follow, as on /upgrade.
      if ((b.creation_content as JsonObject | undefined)?.predecessor !== undefined) await carryOverRoomSettings(cctx, request, owner.user_id, roomId);
      return { room_id: roomId };
    },
  );
};
