/**
 * Setup: the first-boot wizard and, after it, the admin dashboard, on the
 * setup port. This issue serves the status page; the wizard is issue 6.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { statusRoutes } from './routes/status.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  return { routes: statusRoutes(ctx) };
}
