/**
 * ClientAPI: the client-server endpoints other than sync and media.
 * Routes validate and authenticate, then call the UserAPI, Roomserver,
 * EDUServer and KeyServer.
 */
import { tokenCheckFor } from '../../platform/http/token-cache.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { eduServerApi } from '../eduserver/api.js';
import { keyServerApi } from '../keyserver/api.js';
import { roomserverApi } from '../roomserver/api.js';
import { syncApi } from '../syncapi/api.js';
import { userApi } from '../userapi/api.js';
import { clientApi } from './api.js';
import { createClientApiContext } from './context.js';
import { clientRoutes } from './routes/index.js';
import { noticesFor } from './server-notices.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const userapi = ctx.apis.get(userApi);
  const cctx = createClientApiContext({
    serverName: ctx.config.server_name,
    config: ctx.config,
    paths: ctx.paths,
    roomserver: ctx.apis.get(roomserverApi),
    userapi,
    eduserver: ctx.apis.get(eduServerApi),
    keyserver: ctx.apis.get(keyServerApi),
    syncapi: ctx.apis.get(syncApi),
    tokenCheck: tokenCheckFor(ctx, (req) => userapi.queryAccessToken(req)),
  });
  ctx.apis.provide(clientApi, {
    sendServerNotice: (req) =>
      noticesFor(cctx).send({
        user_id: req.user_id,
        type: req.type ?? 'm.room.message',
        content: req.content,
        ...(req.txn_id !== undefined ? { txn: { device_id: 'server-notices', txn_id: req.txn_id } } : {}),
      }),
  });
  return {
    routes: async (app) => {
      for (const register of clientRoutes) await register(app, cctx);
    },
  };
}
