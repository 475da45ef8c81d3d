import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { serverKeyApi, type ServerKeyAPI } from './api.js';
import { LocalKeys } from './local-keys.js';
import { keyRoutes } from './routes/keys.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const keys = new LocalKeys(ctx.config.server_name, ctx.signingKey());
  const api: ServerKeyAPI = {
    localKeys: async () => keys.document(),
    verifyKeys: async ({ server_name }) => {
      if (server_name !== ctx.config.server_name) return { server_name, keys: {} };
      const doc = keys.document();
      const out: Record<string, { key: string; valid_until_ts: number }> = {};
      for (const [id, { key }] of Object.entries(doc.verify_keys)) out[id] = { key, valid_until_ts: doc.valid_until_ts };
      return { server_name, keys: out };
    },
  };
  ctx.apis.provide(serverKeyApi, api);
  return { routes: keyRoutes(keys) };
}
