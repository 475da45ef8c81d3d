/**
 * Synapse's admin API for media, the part admin tools use
 * (https://element-hq.github.io/synapse/latest/admin_api/media_admin_api.html):
 *
 *   GET    /_synapse/admin/v1/media/{serverName}/{mediaId}          media_info
 *   DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}          delete one (local)
 *   POST   /_synapse/admin/v1/media/delete?before_ts=…              delete local media by last access
 *   POST   /_synapse/admin/v1/media/{serverName}/delete?before_ts=…
 *   POST   /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}   and /unquarantine/
 *   POST   /_synapse/admin/v1/media/protect/{mediaId}               and /unprotect/
 *   GET    /_synapse/admin/v1/users/{userId}/media                  a user's uploads, paged
 *   DELETE /_synapse/admin/v1/users/{userId}/media                  delete that page
 *   POST   /_synapse/admin/v1/user/{userId}/media/quarantine
 *   POST   /_synapse/admin/v1/purge_media_cache?before_ts=…         remote media
 *   GET    /_synapse/admin/v1/statistics/users/media                per-user usage
 *
 * Room media (`/room/{roomId}/media`) needs the room's events and is not served.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import { parseUserId } from '../../../core/identifiers.js';
import { mediaInfo, USER_MEDIA_ORDER, type MediaAdmin, type Page, type UserMediaOrder } from '../admin.js';
import { avatarCheck } from '../avatars.js';
import { boolParam, intParam, one, queryOf, requireAdmin, type Query, type RouteDeps } from './common.js';

const V1 = '/_synapse/admin/v1';

function page(q: Query): Page {
  const from = intParam(q, 'from', { min: 0 }) ?? 0;
  const limit = intParam(q, 'limit', { min: 0 }) ?? 100;
  const dir = one(q, 'dir') ?? 'f';
  if (dir !== 'f' && dir !== 'b') throw new MatrixError(400, 'M_INVALID_PARAM', 'dir must be f or b');
  return { from, limit, dir };
}

export function adminRoutes(app: FastifyInstance, d: RouteDeps, admin: MediaAdmin): void {
  const opts = { preHandler: [d.auth.required, async (request: FastifyRequest) => void requireAdmin(request)] };
  const local = d.repo.serverName;

  /** A local user who exists. */
  const localUser = async (userId: string): Promise<string> => {
    const parsed = parseUserId(userId);
    if (!parsed.ok) throw new MatrixError(400, 'M_INVALID_PARAM', 'Not a user id');
    if (parsed.value.serverName !== local) throw new MatrixError(400, 'M_INVALID_PARAM', 'Can only look up local users');
    if ((await d.userapi().queryProfile({ user_id: userId })) === null) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown user');
    return userId;
  };

  const beforeTs = (q: Query) => intParam(q, 'before_ts', { required: true, min: 0 })!;

  type MediaParams = { Params: { serverName: string; mediaId: string } };
  app.get<MediaParams>(`${V1}/media/:serverName/:mediaId`, opts, async (request) => ({
    media_info: mediaInfo(await admin.info(request.params.serverName, request.params.mediaId)),
  }));
  app.delete<MediaParams>(`${V1}/media/:serverName/:mediaId`, opts, async (request) => {
    const deleted = await admin.deleteLocal(request.params.serverName, request.params.mediaId);
    return { deleted_media: deleted, total: deleted.length };
  });

  const deleteBefore = async (request: FastifyRequest) => {
    const q = queryOf(request);
    const deleted = await admin.deleteLocalBefore(
      beforeTs(q),
      intParam(q, 'size_gt', { min: 0 }) ?? 0,
      boolParam(q, 'keep_profiles', true),
      avatarCheck(d.userapi()),
    );
    return { deleted_media: deleted, total: deleted.length };
  };
  app.post(`${V1}/media/delete`, opts, deleteBefore);
  app.post<{ Params: { serverName: string } }>(`${V1}/media/:serverName/delete`, opts, async (request) => {
    if (request.params.serverName !== local) throw new MatrixError(400, 'M_INVALID_PARAM', 'Can only delete local media');
    return deleteBefore(request);
  });

  app.post<MediaParams>(`${V1}/media/quarantine/:serverName/:mediaId`, opts, async (request) => {
    await admin.setQuarantine(request.params.serverName, request.params.mediaId, request.owner!.user_id);
    return {};
  });
  app.post<MediaParams>(`${V1}/media/unquarantine/:serverName/:mediaId`, opts, async (request) => {
    await admin.setQuarantine(request.params.serverName, request.params.mediaId, null);
    return {};
  });
  app.post<{ Params: { mediaId: string } }>(`${V1}/media/protect/:mediaId`, opts, async (request) => {
    await admin.setProtected(request.params.mediaId, true);
    return {};
  });
  app.post<{ Params: { mediaId: string } }>(`${V1}/media/unprotect/:mediaId`, opts, async (request) => {
    await admin.setProtected(request.params.mediaId, false);
    return {};
  });

  type UserParams = { Params: { userId: string } };
  const userPage = async (request: FastifyRequest<UserParams>) => {
    const userId = await localUser(request.params.userId);
    const q = queryOf(request);
    const order = (one(q, 'order_by') ?? 'created_ts') as UserMediaOrder;
    if (!USER_MEDIA_ORDER.includes(order)) throw new MatrixError(400, 'M_INVALID_PARAM', `order_by must be one of ${USER_MEDIA_ORDER.join(', ')}`);
    return admin.userMedia(userId, order, page(q));
  };
  app.get<UserParams>(`${V1}/users/:userId/media`, opts, async (request) => {
    const { entries, total, next_token } = await userPage(request);
    return { media: entries, total, ...(next_token !== undefined ? { next_token } : {}) };
  });
  app.delete<UserParams>(`${V1}/users/:userId/media`, opts, async (request) => {
    const { records } = await userPage(request);
    const { deleted } = await d.repo.delete(records);
    return { deleted_media: deleted.map((m) => m.media_id), total: deleted.length };
  });
  app.post<UserParams>(`${V1}/user/:userId/media/quarantine`, opts, async (request) => {
    const userId = await localUser(request.params.userId);
    return { num_quarantined: await admin.quarantineUser(userId, request.owner!.user_id) };
  });

  app.post(`${V1}/purge_media_cache`, opts, async (request) => ({ deleted: await admin.purgeRemote(beforeTs(queryOf(request))) }));

  app.get(`${V1}/statistics/users/media`, opts, async (request) => {
    const q = queryOf(request);
    const p = page(q);
    const order = one(q, 'order_by') ?? 'user_id';
    if (!['user_id', 'displayname', 'media_length', 'media_count'].includes(order)) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'order_by must be user_id, displayname, media_length or media_count');
    }
    const search = one(q, 'search_term');
    const stats = await admin.userStats(intParam(q, 'from_ts', { min: 0 }), intParam(q, 'until_ts', { min: 0 }));
    let users = await Promise.all(
      [...stats].map(async ([user_id, s]) => {
        const profile = await d.userapi().queryProfile({ user_id }).catch(() => null);
        return { user_id, displayname: profile?.displayname ?? null, ...s };
      }),
    );
    if (search !== undefined && search !== '') {
      const needle = search.toLowerCase();
      users = users.filter((u) => u.user_id.toLowerCase().includes(needle) || (u.displayname ?? '').toLowerCase().includes(needle));
    }
    const key = order as keyof (typeof users)[number];
    users.sort((a, b) => (a[key] === b[key] ? (a.user_id < b.user_id ? -1 : 1) : (a[key] ?? '') < (b[key] ?? '') ? -1 : 1));
    if (p.dir === 'b') users.reverse();
    const slice = users.slice(p.from, p.from + p.limit);
    const next = p.from + slice.length;
    return { users: slice, total: users.length, ...(next < users.length ? { next_token: next } : {}) };
  });
}
