/**
 * GET /keys/changes (client-server API "End-to-end encryption"): served
 * here rather than by the KeyServer because "shares a room between two
 * sync tokens" is the SyncAPI's knowledge; the KeyServer's device changes
 * reach it on the device_changes topic.
 */
import type { FastifyInstance } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import type { SyncEngine } from '../sync/engine.js';
import { requireToken } from '../tokens.js';
import { ownerOf, query, single } from './common.js';

export function keyChangesRoutes(app: FastifyInstance, engine: SyncEngine, auth: TokenAuth): void {
  app.get('/_matrix/client/v3/keys/changes', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const q = query(request);
    const fromText = single(q, 'from');
    const toText = single(q, 'to');
    if (fromText === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'from is required');
    if (toText === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'to is required');
    return engine.keyChanges(owner.user_id, requireToken(fromText, 'from'), requireToken(toText, 'to'));
  });
}
