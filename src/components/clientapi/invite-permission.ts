/**
 * Invite permission (client-server API, v1.18): a local user whose
 * `m.invite_permission_config` blocks invites is not invited, whether by
 * POST /invite, a membership PUT or createRoom's `invite` list. The SyncAPI
 * hides the invites such a user already had.
 */
import { MatrixError } from '../../core/errors.js';
import { blocksAllInvites, INVITE_PERMISSION_TYPE } from '../../core/invites.js';
import { serverNameOf } from '../../core/identifiers.js';
import type { ClientApiContext } from './context.js';

export async function invitesBlockedBy(cctx: ClientApiContext, target: string): Promise<boolean> {
  if (serverNameOf(target) !== cctx.serverName) return false;
  const config = await cctx.userapi.queryAccountData({ user_id: target, type: INVITE_PERMISSION_TYPE });
  return blocksAllInvites(config?.content);
}

export async function refuseBlockedInvite(cctx: ClientApiContext, target: string): Promise<void> {
  if (await invitesBlockedBy(cctx, target)) throw new MatrixError(403, 'M_INVITE_BLOCKED', `${target} does not accept invites`);
}
