/**
 * Setup: the first-boot wizard and, after it, the admin dashboard, on the
 * setup port. Unconfigured (setup-only arrangement) it serves the wizard;
 * configured, it finishes a wizard that was applied (first admin account,
 * first token) and serves the dashboard.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { maintenanceApi } from '../maintenance/api.js';
import { mediaApi } from '../mediaapi/api.js';
import { userApi } from '../userapi/api.js';
import { setupApi } from './api.js';
import { ensureCode } from './code.js';
import type { SetupDeps } from './context.js';
import { Finisher } from './finish.js';
import { loadAssets } from './routes/assets.js';
import { formBodies, securityHeaders } from './routes/common.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { statusRoutes } from './routes/status.js';
import { wizardRoutes } from './routes/wizard.js';
import { Sessions } from './sessions.js';
import { SetupStore } from './store.js';
import { SupervisorClient } from './supervisor-client.js';
import { page } from './views/layout.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const store = new SetupStore(ctx.paths.dataDir);
  const sessions = new Sessions(store);
  const { assets, routes: assetRoutes } = loadAssets();
  const deps: SetupDeps = {
    ctx,
    store,
    sessions,
    supervisor: new SupervisorClient(ctx.paths.controlSocket),
    assets,
    page: (o) => page({ ...o, assets }),
  };
  const phase = () => (ctx.configured && store.get().phase !== 'applying' ? 'complete' : store.get().phase);

  if (!ctx.configured) {
    deps.code = ensureCode(ctx.paths.dataDir);
  } else {
    deps.users = ctx.apis.get(userApi);
    deps.maintenance = ctx.apis.get(maintenanceApi);
    deps.media = ctx.apis.get(mediaApi);
    if (store.get().phase === 'applying') {
      deps.finisher = new Finisher({ dataDir: ctx.paths.dataDir, serverName: ctx.config.server_name, store, sessions, users: deps.users, logger: ctx.logger });
      deps.finisher.start();
    }
    ctx.apis.provide(setupApi, {
      pruneSessions: async () => {
        const { removed, expired } = sessions.prune();
        // Expired dashboard sessions leave no device behind in the user's list.
        await Promise.all(expired.map((s) => deps.users!.deleteDevices({ user_id: s.user_id, device_ids: [s.device_id] }).catch(() => undefined)));
        return { removed };
      },
    });
  }

  return {
    routes: async (app) => {
      securityHeaders(app);
      formBodies(app);
      await app.register(assetRoutes);
      await app.register(statusRoutes(ctx, phase));
      await app.register(wizardRoutes(deps));
      if (ctx.configured) await app.register(dashboardRoutes(deps));
      app.get('/', async (req, reply) => {
        if (phase() !== 'complete') return reply.redirect('/setup/', 303);
        return reply.redirect(sessions.get(req)?.kind === 'admin' ? '/dashboard' : '/login', 303);
      });
      app.get('/favicon.ico', async (_req, reply) => reply.redirect('/assets/favicon.svg', 301));
    },
    health: () => ({ setup: phase() }),
  };
}
