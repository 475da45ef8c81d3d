/**
 * POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync:
 * simplified sliding sync (MSC4186), the sync Element X speaks.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenAuth } from '../../../platform/http/auth.js';
import type { SyncDeps } from '../deps.js';
import type { SlidingSyncEngine } from '../sliding/engine.js';
import { parseSlidingRequest } from '../sliding/request.js';
import { intParam, ownerOf, query, readYourWrites, single } from './common.js';
import { hangupSignal } from './sync.js';

export function slidingSyncRoutes(app: FastifyInstance, deps: SyncDeps, engine: SlidingSyncEngine, auth: TokenAuth): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const owner = ownerOf(request);
    const q = query(request);
    const req = parseSlidingRequest(request.body, { pos: single(q, 'pos'), timeout: intParam(q, 'timeout'), set_presence: single(q, 'set_presence') }, owner.user_id);
    if (deps.setPresence && deps.presenceEnabled) {
      // Presence is best effort: a sync never fails for it.
      void deps.setPresence(owner.user_id, req.set_presence).catch(() => {});
    }
    await readYourWrites(deps);
    return engine.sync({ user_id: owner.user_id, device_id: owner.device_id }, req, hangupSignal(reply));
  };
  app.post('/_matrix/client/unstable/org.matrix.simplified_msc3575/sync', { onRequest: auth.required }, handler);
}
