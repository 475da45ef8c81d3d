/**
 * Which component owns a public path, and on which listeners it is served.
 * More specific entries come first. The client port serves the client API
 * over plain HTTP on the LAN; the federation port (TLS) serves federation
 * and the client API too, so that one forwarded port is enough.
 */
import type { ComponentName } from '../../platform/config/components.js';

export type ListenerKind = 'client' | 'federation' | 'setup';

interface Route {
  prefix: string;
  component: ComponentName;
  listeners: readonly ListenerKind[];
}

const PUBLIC: readonly ListenerKind[] = ['client', 'federation'];
const FEDERATION: readonly ListenerKind[] = ['federation'];

export const ROUTES: readonly Route[] = [
  { prefix: '/_matrix/client/', component: 'clientapi', listeners: PUBLIC },
  { prefix: '/_synapse/admin/', component: 'clientapi', listeners: PUBLIC },
  { prefix: '/.well-known/matrix/', component: 'clientapi', listeners: PUBLIC },
  { prefix: '/_matrix/federation/', component: 'federationapi', listeners: FEDERATION },
  { prefix: '/_matrix/key/', component: 'serverkeyapi', listeners: FEDERATION },
  { prefix: '/', component: 'setup', listeners: ['setup'] },
];

export function routeFor(listener: ListenerKind, path: string): ComponentName | undefined {
  for (const r of ROUTES) {
    if (r.listeners.includes(listener) && path.startsWith(r.prefix)) return r.component;
  }
  return undefined;
}
