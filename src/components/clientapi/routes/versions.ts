/** Client-server API: GET /_matrix/client/versions. */
import type { ClientRoutes } from './types.js';

/**
 * The spec versions this server implements, as far as its endpoints go: the
 * account and room endpoints follow v1.19 (format=event and room version 12
 * by default from 1.16, the room summary from 1.15, redactions through /send
 * from 1.18, replaces_state from 1.19; profiles with 1.16 fields), and every
 * earlier version since v1.1 (the v3 paths) is a subset of that. What is
 * missing is missing in every version alike: federation (remote joins,
 * keys, media and profiles) and application services.
 */
export const SUPPORTED_VERSIONS = Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`);

/**
 * Unstable features this server has: Simplified Sliding Sync (MSC4186,
 * the SyncAPI's sliding/), which Element X requires before it signs in;
 * and the stable flag of MSC3827 (`room_types` in the public room
 * directory's filter, in the spec since v1.4), which Element Web still
 * asks for before it publishes a public space or filters Explore by type.
 */
export const UNSTABLE_FEATURES: Record<string, boolean> = { 'org.matrix.simplified_msc3575': true, 'org.matrix.msc3827.stable': true };

export const versionsRoutes: ClientRoutes = (app) => {
  app.get('/_matrix/client/versions', async () => ({ versions: SUPPORTED_VERSIONS, unstable_features: UNSTABLE_FEATURES }));
};
