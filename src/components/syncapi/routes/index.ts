/**
 * The SyncAPI's public routes, as one fastify plugin.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TokenAuth } from '../../../platform/http/auth.js';
import type { SyncDeps } from '../deps.js';
import type { ReadPositions } from '../push.js';
import { SlidingSyncEngine } from '../sliding/engine.js';
import { SyncEngine } from '../sync/engine.js';
import { FilterCache } from './common.js';
import { historyRoutes } from './history.js';
import { keyChangesRoutes } from './key-changes.js';
import { legacyRoutes } from './legacy.js';
import { notificationRoutes } from './notifications.js';
import { relationRoutes } from './relations.js';
import { searchRoutes } from './search.js';
import { slidingSyncRoutes } from './sliding-sync.js';
import { syncRoutes } from './sync.js';
import { timestampRoutes } from './timestamp.js';

export function syncApiRoutes(deps: SyncDeps, auth: TokenAuth, readPositions: (userId: string, roomId: string) => Promise<ReadPositions>): FastifyPluginAsync {
  const engine = new SyncEngine(deps);
  const filters = new FilterCache(deps);
  const sliding = new SlidingSyncEngine(deps, engine);
  return async (app) => {
    syncRoutes(app, deps, engine, filters, auth);
    slidingSyncRoutes(app, deps, sliding, auth);
    historyRoutes(app, deps, auth);
    relationRoutes(app, deps, auth);
    notificationRoutes(app, deps, auth, readPositions);
    legacyRoutes(app, deps, auth);
    keyChangesRoutes(app, engine, auth);
    searchRoutes(app, deps, auth);
    timestampRoutes(app, deps, auth);
  };
}
