/**
 * Expired tokens and sessions: registration tokens that expired a week ago
 * or more (the week lets an admin still see why a signup failed), and the
 * dashboard's expired sessions. Access and refresh tokens and auth
 * sessions are the expired-logins job's (expired-logins.ts).
 */
import { setupApi } from '../../setup/api.js';
import { userApi } from '../../userapi/api.js';
import type { JobDefinition } from './types.js';

export const TOKEN_GRACE_MS = 7 * 86_400_000;

export const expiredTokensAndSessions: JobDefinition = {
  name: 'expired-tokens',
  description: 'Deletes registration tokens expired for a week and ends expired dashboard sessions.',
  schedule: '41 * * * *',
  async run({ ctx, signal }) {
    const users = ctx.apis.get(userApi);
    const now = Date.now();
    const { registration_tokens } = await users.listRegistrationTokens({}, { signal });
    const old = registration_tokens.filter((t) => t.expiry_time !== null && t.expiry_time < now - TOKEN_GRACE_MS && t.pending === 0);
    for (const t of old) await users.deleteRegistrationToken({ token: t.token }, { signal });
    const sessions = await ctx.apis
      .get(setupApi)
      .pruneSessions({}, { signal, timeoutMs: 10_000 })
      .then((r) => `${r.removed} expired dashboard session${r.removed === 1 ? '' : 's'} ended`)
      .catch((e: Error) => `dashboard sessions not reached (${e.message})`);
    return `${old.length} expired registration token${old.length === 1 ? '' : 's'} deleted; ${sessions}`;
  },
};
