/**
 * GET /admin/whois/{userId} (client-server API "Server administration"),
 * and Synapse's /_synapse/admin/v1/whois/{userId} that admin tools call:
 * a user's devices with the address, time and user agent each was last
 * seen with (the latest only: one connection per device). For the user
 * themselves or a server admin.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { isValidUserId } from '../../../../core/identifiers.js';
import type { DeviceInfo } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { fullUser, paramsOf, V3 } from './common.js';

/** The device's last connection, as whois lists it. */
function connection(d: DeviceInfo, lastSeen: number) {
  return {
    ...(d.last_seen_ip !== undefined ? { ip: d.last_seen_ip } : {}),
    last_seen: lastSeen,
    ...(d.last_seen_user_agent !== undefined ? { user_agent: d.last_seen_user_agent } : {}),
  };
}

export const whoisRoutes: ClientRoutes = (app, cctx) => {
  const handler = async (request: FastifyRequest) => {
    const owner = fullUser(request);
    const userId = paramsOf(request).userId ?? '';
    if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is not a valid user id`);
    if (userId !== owner.user_id && !owner.is_admin) throw new MatrixError(403, 'M_FORBIDDEN', 'Only server administrators can look up other users');
    if (!(await cctx.userapi.queryUser({ user_id: userId }))) throw new MatrixError(404, 'M_NOT_FOUND', `${userId} is not a user of this server`);
    const { devices } = await cctx.userapi.queryDevices({ user_id: userId });
    return {
      user_id: userId,
      devices: Object.fromEntries(
        devices.map((d) => [
          d.device_id,
          { sessions: [{ connections: d.last_seen_ts === undefined ? [] : [connection(d, d.last_seen_ts)] }] },
        ]),
      ),
    };
  };
  app.get(`${V3}/admin/whois/:userId`, { preHandler: cctx.auth.required }, handler);
  app.get('/_synapse/admin/v1/whois/:userId', { preHandler: cctx.auth.required }, handler);
};
