/**
 * FederationAPI: the federation endpoints other homeservers call. Now the
 * version endpoint and OpenID's userinfo; transactions, joins and backfill
 * arrive with the federation issue.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { userApi } from '../userapi/api.js';
import { openIdRoutes } from './routes/openid.js';
import { versionRoutes } from './routes/version.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const openId = openIdRoutes(() => ctx.apis.get(userApi));
  return {
    routes: async (app) => {
      await app.register(versionRoutes);
      await app.register(openId);
    },
  };
}
