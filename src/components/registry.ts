/**
 * The component catalogue: how a process loads a component by name. Each
 * entry is a dynamic import, so the bundler gives every component its own
 * chunk and a process loads only the components it runs.
 */
import type { ComponentName } from '../platform/config/components.js';
import type { ComponentModule } from '../platform/runtime/component.js';

const loaders: Record<ComponentName, () => Promise<ComponentModule>> = {
  gateway: () => import('./gateway/index.js'),
  clientapi: () => import('./clientapi/index.js'),
  syncapi: () => import('./syncapi/index.js'),
  federationapi: () => import('./federationapi/index.js'),
  mediaapi: () => import('./mediaapi/index.js'),
  roomserver: () => import('./roomserver/index.js'),
  eduserver: () => import('./eduserver/index.js'),
  federationsender: () => import('./federationsender/index.js'),
  appservice: () => import('./appservice/index.js'),
  keyserver: () => import('./keyserver/index.js'),
  serverkeyapi: () => import('./serverkeyapi/index.js'),
  userapi: () => import('./userapi/index.js'),
  maintenance: () => import('./maintenance/index.js'),
  setup: () => import('./setup/index.js'),
};

export function loadComponent(name: ComponentName): Promise<ComponentModule> {
  return loaders[name]();
}
