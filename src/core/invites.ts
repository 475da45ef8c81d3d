/**
 * Who may not be sent an invite, and whose invites a user does not see: the
 * spec's invite permission module (v1.18, account data
 * `m.invite_permission_config` with `default_action: block`) and the
 * server notices sender, whose invites are the server's own and are never
 * blocked (its room is how the server reaches the user).
 */
import type { JsonObject } from './canonical-json.js';

export const INVITE_PERMISSION_TYPE = 'm.invite_permission_config';

/** The system user that sends server notices (`_` names are refused at registration). */
export const NOTICES_LOCALPART = '_server';
export const noticesUserOf = (serverName: string): string => `@${NOTICES_LOCALPART}:${serverName}`;

/** Whether an `m.invite_permission_config` content blocks every invite. A missing or unknown value does not (spec). */
export function blocksAllInvites(content: JsonObject | Record<string, unknown> | undefined | null): boolean {
  return content?.default_action === 'block';
}
