/**
 * Expired logins: token records no device can use any more and expired
 * user-interactive auth sessions (whose reserved registration-token uses
 * then count no longer), through the UserAPI's purge. The purge looks at a
 * bounded number of records per call, so the UserAPI keeps answering
 * between calls while this job walks every token. It runs before
 * expired-tokens (minute 41), whose deletions wait for `pending` to be 0.
 */
import { userApi } from '../../userapi/api.js';
import type { JobDefinition } from './types.js';

export const PURGE_BATCH = 500;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const expiredLogins: JobDefinition = {
  name: 'expired-logins',
  description: 'Deletes access and refresh tokens no device can use any more, and ends expired sign-up and authentication sessions.',
  schedule: '37 * * * *',
  async run({ ctx, signal }) {
    const users = ctx.apis.get(userApi);
    const total = { access: 0, refresh: 0, uia: 0, checked: 0 };
    let after: string | undefined;
    do {
      signal.throwIfAborted();
      const r = await users.purgeExpired({ limit: PURGE_BATCH, ...(after !== undefined ? { after } : {}) }, { signal });
      total.access += r.access_tokens;
      total.refresh += r.refresh_tokens;
      total.uia += r.uia_sessions;
      total.checked += r.checked;
      after = r.next;
    } while (after !== undefined);
    return `${plural(total.access, 'access token')} and ${plural(total.refresh, 'refresh token')} deleted (${total.checked} checked); ${plural(total.uia, 'expired auth session')} ended`;
  },
};
