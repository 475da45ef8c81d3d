/**
 * Synapse's server notices admin API, as admin tools and Complement use it:
 * POST /_synapse/admin/v1/send_server_notice and
 * PUT /_synapse/admin/v1/send_server_notice/{txnId} (idempotent per admin
 * device and transaction id). Body: `user_id` (a local user), `content`,
 * and optionally `type` (default m.room.message) and `state_key`.
 */
import type { FastifyRequest } from 'fastify';
import type { JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { isObject } from '../../../../core/auth/types.js';
import { noticesFor } from '../../server-notices.js';
import type { ClientRoutes } from '../types.js';
import { ADMIN_V1, requireAdmin } from './admin-registration-tokens.js';
import { bodyOf, fullUser, localUserId, paramsOf } from './common.js';

export const serverNoticeRoutes: ClientRoutes = (app, cctx) => {
  const notices = noticesFor(cctx);
  const admin = { preHandler: [cctx.auth.required, async (request: FastifyRequest) => requireAdmin(request)] };

  const send = async (request: FastifyRequest, txnId?: string) => {
    const owner = fullUser(request);
    const b = bodyOf(request);
    const userId = localUserId(b.user_id, cctx.serverName);
    if (!isObject(b.content)) throw new MatrixError(400, 'M_BAD_JSON', 'content must be an object');
    if (b.type !== undefined && (typeof b.type !== 'string' || b.type === '')) throw new MatrixError(400, 'M_BAD_JSON', 'type must be a non-empty string');
    if (b.state_key !== undefined && typeof b.state_key !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'state_key must be a string');
    return notices.send({
      user_id: userId,
      type: (b.type as string | undefined) ?? 'm.room.message',
      content: b.content as JsonObject,
      ...(typeof b.state_key === 'string' ? { state_key: b.state_key } : {}),
      // Keyed by the admin who sent it: another admin's transaction 1 is another notice.
      ...(txnId !== undefined ? { txn: { device_id: `${owner.user_id}/${owner.device_id ?? ''}`, txn_id: txnId } } : {}),
    });
  };

  app.post(`${ADMIN_V1}/send_server_notice`, admin, async (request) => send(request));
  app.put(`${ADMIN_V1}/send_server_notice/:txnId`, admin, async (request) => send(request, paramsOf(request).txnId ?? ''));
};
