import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { serverKeyApi, type ServerKeyAPI } from './api.js';
import { LocalKeys } from './local-keys.js';
import { keyRoutes } from './routes/keys.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const keys = new LocalKeys(ctx.config.server_name, ctx.signingKey());
  const api: ServerKeyAPI = {
    localKeys: async () => keys.document(),
  };
  ctx.apis.provide(serverKeyApi, api);
  return { routes: keyRoutes(keys) };
}
