/**
 * ClientAPI: the client-server endpoints that are not sync, media or keys.
 * This issue brings /versions; accounts and rooms arrive with issue 4.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { versionsRoutes } from './routes/versions.js';

export async function start(_ctx: ComponentContext): Promise<ComponentInstance> {
  return { routes: versionsRoutes };
}
