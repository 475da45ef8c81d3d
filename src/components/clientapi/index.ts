/**
 * ClientAPI: the client-server endpoints other than sync and media.
 * Routes validate and authenticate, then call the UserAPI, Roomserver,
 * EDUServer and KeyServer.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { eduServerApi } from '../eduserver/api.js';
import { keyServerApi } from '../keyserver/api.js';
import { roomserverApi } from '../roomserver/api.js';
import { syncApi } from '../syncapi/api.js';
import { userApi } from '../userapi/api.js';
import { clientApiInternal } from './api.js';
import { createClientApiContext } from './context.js';
import { TokenCache } from './token-cache.js';
import { clientRoutes } from './routes/index.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const userapi = ctx.apis.get(userApi);
  // In another process, the UserAPI's answers about tokens are kept for a moment, and it says when to forget them.
  const tokens = ctx.apis.runsHere(userApi) ? undefined : new TokenCache(userapi);
  if (tokens) ctx.apis.provide(clientApiInternal, { forgetTokens: async () => tokens.forgetAll() });
  const cctx = createClientApiContext({
    serverName: ctx.config.server_name,
    config: ctx.config,
    paths: ctx.paths,
    roomserver: ctx.apis.get(roomserverApi),
    userapi,
    eduserver: ctx.apis.get(eduServerApi),
    keyserver: ctx.apis.get(keyServerApi),
    syncapi: ctx.apis.get(syncApi),
    ...(tokens ? { tokens } : {}),
  });
  return {
    routes: async (app) => {
      for (const register of clientRoutes) await register(app, cctx);
    },
  };
}
