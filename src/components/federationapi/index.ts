/**
 * FederationAPI: the federation endpoints other homeservers call. This issue
 * brings the version endpoint; transactions, joins and backfill arrive with
 * the federation issue.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { versionRoutes } from './routes/version.js';

export async function start(_ctx: ComponentContext): Promise<ComponentInstance> {
  return { routes: versionRoutes };
}
