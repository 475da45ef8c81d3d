/**
 * federationsender: runs under the supervisor in every arrangement so that the process
 * layout is complete; its behaviour arrives with the federation issue.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';

export async function start(_ctx: ComponentContext): Promise<ComponentInstance> {
  return {};
}
