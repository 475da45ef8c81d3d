/**
 * Server-side key backups: /room_keys/version[/{version}] and
 * /room_keys/keys[/{roomId}[/{sessionId}]]?version=…, for full accounts.
 */
import { MatrixError } from '../../../../core/errors.js';
import type { BackupRooms, KeyBackupData } from '../../../keyserver/api.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, paramsOf, roomParam, routeOpts, V3, versionParam } from './common.js';

export const backupRoutes: ClientRoutes = (app, cctx) => {
  const user = (request: Parameters<typeof fullUser>[0]) => {
    const owner = fullUser(request);
    cctx.limit('default', owner.user_id);
    return owner.user_id;
  };

  app.post(`${V3}/room_keys/version`, routeOpts(cctx, 'POST /room_keys/version'), async (request) => {
    const b = bodyOf(request);
    return cctx.keyserver.createBackup({ user_id: user(request), algorithm: b.algorithm as string, auth_data: b.auth_data as Record<string, unknown> });
  });
  app.get(`${V3}/room_keys/version`, routeOpts(cctx), async (request) => cctx.keyserver.queryBackup({ user_id: user(request) }));
  app.get(`${V3}/room_keys/version/:version`, routeOpts(cctx), async (request) => cctx.keyserver.queryBackup({ user_id: user(request), version: paramsOf(request).version! }));
  app.put(`${V3}/room_keys/version/:version`, routeOpts(cctx, 'PUT /room_keys/version/{version}'), async (request) => {
    const b = bodyOf(request);
    const version = paramsOf(request).version!;
    if (b.version !== undefined && b.version !== version) throw new MatrixError(400, 'M_INVALID_PARAM', 'The version in the body differs from the one in the path');
    await cctx.keyserver.updateBackup({ user_id: user(request), version, algorithm: b.algorithm as string, auth_data: b.auth_data as Record<string, unknown> });
    return {};
  });
  app.delete(`${V3}/room_keys/version/:version`, routeOpts(cctx), async (request) => {
    await cctx.keyserver.deleteBackup({ user_id: user(request), version: paramsOf(request).version! });
    return {};
  });

  // Keys: the whole backup, one room, one session.
  app.put(`${V3}/room_keys/keys`, routeOpts(cctx, 'PUT /room_keys/keys'), async (request) =>
    cctx.keyserver.putBackupKeys({ user_id: user(request), version: versionParam(request), rooms: bodyOf(request).rooms as BackupRooms }),
  );
  app.put(`${V3}/room_keys/keys/:roomId`, routeOpts(cctx, 'PUT /room_keys/keys/{roomId}'), async (request) => {
    const roomId = roomParam(paramsOf(request).roomId);
    const rooms = { [roomId]: { sessions: bodyOf(request).sessions as Record<string, KeyBackupData> } };
    return cctx.keyserver.putBackupKeys({ user_id: user(request), version: versionParam(request), rooms });
  });
  app.put(`${V3}/room_keys/keys/:roomId/:sessionId`, routeOpts(cctx, 'PUT /room_keys/keys/{roomId}/{sessionId}'), async (request) => {
    const p = paramsOf(request);
    const roomId = roomParam(p.roomId);
    const rooms = { [roomId]: { sessions: { [p.sessionId!]: bodyOf(request) as unknown as KeyBackupData } } };
    return cctx.keyserver.putBackupKeys({ user_id: user(request), version: versionParam(request), rooms });
  });

  app.get(`${V3}/room_keys/keys`, routeOpts(cctx), async (request) => cctx.keyserver.queryBackupKeys({ user_id: user(request), version: versionParam(request) }));
  app.get(`${V3}/room_keys/keys/:roomId`, routeOpts(cctx), async (request) => {
    const roomId = roomParam(paramsOf(request).roomId);
    const { rooms } = await cctx.keyserver.queryBackupKeys({ user_id: user(request), version: versionParam(request), room_id: roomId });
    return rooms[roomId] ?? { sessions: {} };
  });
  app.get(`${V3}/room_keys/keys/:roomId/:sessionId`, routeOpts(cctx), async (request) => {
    const p = paramsOf(request);
    const roomId = roomParam(p.roomId);
    const { rooms } = await cctx.keyserver.queryBackupKeys({ user_id: user(request), version: versionParam(request), room_id: roomId, session_id: p.sessionId! });
    return rooms[roomId]!.sessions[p.sessionId!]!;
  });

  app.delete(`${V3}/room_keys/keys`, routeOpts(cctx), async (request) => cctx.keyserver.deleteBackupKeys({ user_id: user(request), version: versionParam(request) }));
  app.delete(`${V3}/room_keys/keys/:roomId`, routeOpts(cctx), async (request) =>
    cctx.keyserver.deleteBackupKeys({ user_id: user(request), version: versionParam(request), room_id: roomParam(paramsOf(request).roomId) }),
  );
  app.delete(`${V3}/room_keys/keys/:roomId/:sessionId`, routeOpts(cctx), async (request) => {
    const p = paramsOf(request);
    return cctx.keyserver.deleteBackupKeys({ user_id: user(request), version: versionParam(request), room_id: roomParam(p.roomId), session_id: p.sessionId! });
  });
};
