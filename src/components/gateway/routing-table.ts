/**
 * Which component owns a public path, and on which listeners it is served.
 * The first matching entry wins, so specific patterns come before the
 * prefixes they refine. The client port serves the client API over plain
 * HTTP on the LAN; the federation port (TLS) serves federation and the
 * client API too, so that one forwarded port is enough.
 */
import type { ComponentName } from '../../platform/config/components.js';

export type ListenerKind = 'client' | 'federation' | 'setup';

interface Route {
  /** A path prefix, or a pattern for paths inside another component's prefix. */
  match: string | RegExp;
  /** null: nobody serves it on these listeners (404). */
  component: ComponentName | null;
  listeners: readonly ListenerKind[];
}

const PUBLIC: readonly ListenerKind[] = ['client', 'federation'];
const FEDERATION: readonly ListenerKind[] = ['federation'];

/** `/_matrix/client/<any version>/` followed by one of these paths. */
const client = (rest: string) => new RegExp(`^/_matrix/client/[^/]+/(?:${rest})(?:[/?]|$)`);

export const ROUTES: readonly Route[] = [
  // The SyncAPI serves what reads a user's view of rooms.
  { match: client('sync|events|initialSync|notifications|keys/changes|search|rooms/[^/]+/(?:messages|context|relations|threads|initialSync|timestamp_to_event)'), component: 'syncapi', listeners: PUBLIC },
  { match: client('org\\.matrix\\.simplified_msc3575/sync'), component: 'syncapi', listeners: PUBLIC },
  // The MediaAPI: authenticated media, the /_matrix/media paths, Synapse's media admin endpoints.
  { match: client('media'), component: 'mediaapi', listeners: PUBLIC },
  { match: '/_matrix/media/', component: 'mediaapi', listeners: PUBLIC },
  { match: /^\/_synapse\/admin\/v1\/(?:media\/|users\/[^/]+\/media(?:[/?]|$)|user\/[^/]+\/media\/|purge_media_cache(?:[/?]|$)|statistics\/users\/media(?:[/?]|$))/, component: 'mediaapi', listeners: PUBLIC },
  { match: '/_matrix/client/', component: 'clientapi', listeners: PUBLIC },
  { match: '/_synapse/admin/', component: 'clientapi', listeners: PUBLIC },
  { match: '/.well-known/matrix/', component: 'clientapi', listeners: PUBLIC },
  // A third party asks whose an OpenID token is; Synapse answers it on its client listener too, and SyTest asks there.
  { match: /^\/_matrix\/federation\/v1\/openid\/userinfo(?:[/?]|$)/, component: 'federationapi', listeners: PUBLIC },
  { match: '/_matrix/federation/', component: 'federationapi', listeners: FEDERATION },
  { match: '/_matrix/key/', component: 'serverkeyapi', listeners: FEDERATION },
  // In one process every component's routes share one app: the setup port
  // must not reach the Matrix APIs through it.
  { match: '/_matrix/', component: null, listeners: ['setup'] },
  { match: '/_synapse/', component: null, listeners: ['setup'] },
  { match: '/.well-known/matrix/', component: null, listeners: ['setup'] },
  { match: '/', component: 'setup', listeners: ['setup'] },
];

const R0 = '/_matrix/client/r0/';

/**
 * `r0` is the client API's name from before spec v1.1, for the same
 * endpoints as `v3`; older clients, bots and test suites still call it.
 * The gateway serves it as `v3`, so that no component lists both.
 */
export function currentUrl(url: string): string {
  return url.startsWith(R0) ? `/_matrix/client/v3/${url.slice(R0.length)}` : url;
}

export function routeFor(listener: ListenerKind, path: string): ComponentName | undefined {
  for (const r of ROUTES) {
    if (!r.listeners.includes(listener)) continue;
    if (typeof r.match === 'string' ? path.startsWith(r.match) : r.match.test(path)) return r.component ?? undefined;
  }
  return undefined;
}
