/**
 * Synapse's user admin API, the part synapse-admin needs to list users and
 * make or unmake admins, for admins:
 * GET /_synapse/admin/v2/users (from, limit, name, user_id, guests,
 * deactivated, admins), GET and PUT /_synapse/admin/v2/users/{userId}.
 *
 * PUT changes `admin` only. It never creates an account (404), and refuses
 * other fields whose value differs from the account's, rather than ignore
 * them: synapse-admin sends the whole record back, unchanged fields included.
 * Searches match prefixes (UserAPI.listUsers), where Synapse matches anywhere.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import type { UserSummary } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { requireAdmin } from './admin-registration-tokens.js';
import { bodyOf, paramsOf, queryOf } from './common.js';

export const ADMIN_V2 = '/_synapse/admin/v2';

/** A list entry as Synapse gives it; `creation_ts` in milliseconds there. */
function synapseUser(u: UserSummary) {
  return {
    name: u.user_id,
    displayname: u.displayname ?? null,
    avatar_url: u.avatar_url ?? null,
    is_guest: u.guest,
    admin: u.admin,
    deactivated: u.deactivated,
    user_type: null,
    shadow_banned: false,
    locked: u.locked,
    creation_ts: u.created_ts,
  };
}

/** One account as Synapse's GET and PUT answer: `creation_ts` in seconds there, as Synapse stores it. */
function synapseAccount(u: UserSummary) {
  return { ...synapseUser(u), erased: u.erased, creation_ts: Math.floor(u.created_ts / 1000), threepids: [], external_ids: [] };
}

function flag(q: Record<string, unknown>, name: string): boolean | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be true or false`);
  return v === 'true';
}

function count(q: Record<string, unknown>, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be a whole number`);
  return Number(v);
}

/** Fields of a PUT body that would change something this endpoint cannot change. */
function unsupportedChanges(b: Record<string, unknown>, u: UserSummary): string[] {
  const differs: [string, boolean][] = [
    ['password', 'password' in b],
    ['displayname', 'displayname' in b && (b.displayname ?? '') !== (u.displayname ?? '')],
    ['avatar_url', 'avatar_url' in b && (b.avatar_url ?? '') !== (u.avatar_url ?? '')],
    ['deactivated', 'deactivated' in b && b.deactivated !== u.deactivated],
    ['threepids', Array.isArray(b.threepids) && b.threepids.length > 0],
    ['external_ids', Array.isArray(b.external_ids) && b.external_ids.length > 0],
    ['user_type', b.user_type !== undefined && b.user_type !== null],
    ['locked', b.locked === true],
  ];
  return differs.filter(([, d]) => d).map(([f]) => f);
}

export const adminUserRoutes: ClientRoutes = (app, cctx) => {
  const admin = { preHandler: [cctx.auth.required, async (request: FastifyRequest) => requireAdmin(request)] };

  app.get(`${ADMIN_V2}/users`, admin, async (request) => {
    const q = queryOf(request);
    const search = typeof q.name === 'string' ? q.name : typeof q.user_id === 'string' ? q.user_id : undefined;
    const from = count(q, 'from');
    const limit = count(q, 'limit');
    const guests = flag(q, 'guests');
    const deactivated = flag(q, 'deactivated');
    const admins = flag(q, 'admins');
    const page = await cctx.userapi.listUsers({
      ...(from !== undefined ? { from } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(search !== undefined ? { search } : {}),
      ...(guests !== undefined ? { guests } : {}),
      ...(deactivated !== undefined ? { deactivated } : {}),
      ...(admins !== undefined ? { admins } : {}),
    });
    return { users: page.users.map(synapseUser), total: page.total, ...(page.next !== undefined ? { next_token: String(page.next) } : {}) };
  });

  const existing = async (userId: string): Promise<UserSummary> => {
    const u = await cctx.userapi.queryUser({ user_id: userId });
    if (!u) throw new MatrixError(404, 'M_NOT_FOUND', `There is no user ${userId}; this server does not create users through this endpoint`);
    return u;
  };

  app.get(`${ADMIN_V2}/users/:userId`, admin, async (request) => synapseAccount(await existing(paramsOf(request).userId!)));

  app.put(`${ADMIN_V2}/users/:userId`, admin, async (request) => {
    const userId = paramsOf(request).userId!;
    const b = bodyOf(request);
    if ('admin' in b && typeof b.admin !== 'boolean') throw new MatrixError(400, 'M_INVALID_PARAM', 'admin must be true or false');
    const u = await existing(userId);
    const unsupported = unsupportedChanges(b, u);
    if (unsupported.length > 0) throw new MatrixError(400, 'M_INVALID_PARAM', `Only admin can be changed through this endpoint, not ${unsupported.join(', ')}`);
    if (typeof b.admin !== 'boolean') return synapseAccount(u);
    return synapseAccount(await cctx.userapi.setUserAdmin({ user_id: userId, admin: b.admin }));
  });
};
