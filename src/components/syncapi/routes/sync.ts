/**
 * GET /sync (client-server API "Syncing").
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenAuth } from '../../../platform/http/auth.js';
import type { SyncDeps } from '../deps.js';
import type { SyncEngine } from '../sync/engine.js';
import { parseToken } from '../tokens.js';
import { boolParam, enumParam, type FilterCache, intParam, ownerOf, query, readYourWrites, single } from './common.js';

/** An AbortSignal that fires when the client goes away before the answer. */
export function hangupSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

const PRESENCE_SETTLE_MS = 500;

/**
 * An initial sync answers after the presence it set has reached the views,
 * so that its `next_batch` is past it: otherwise the client's first
 * long-poll wakes at once for nothing but its own presence. Bounded: a slow
 * EDUServer delays the sync, never fails it.
 */
async function presenceSettled(deps: SyncDeps, relayed: Promise<unknown>): Promise<void> {
  const t0 = Date.now();
  await Promise.race([relayed, new Promise((r) => setTimeout(r, PRESENCE_SETTLE_MS))]);
  await deps.caughtUp?.('presence', Math.max(0, PRESENCE_SETTLE_MS - (Date.now() - t0)));
}

/**
 * What a sync's `set_presence` does (the deprecated /events and /initialSync
 * act as `online`). Best effort: a sync never fails for it. An initial sync
 * waits for it to settle (see presenceSettled).
 */
export async function syncSetsPresence(deps: SyncDeps, userId: string, presence: 'offline' | 'online' | 'unavailable', initial: boolean): Promise<void> {
  if (!deps.setPresence || !deps.presenceEnabled) return;
  const relayed = deps.setPresence(userId, presence).catch(() => {});
  if (initial && presence !== 'offline') await presenceSettled(deps, relayed);
}

export function syncRoutes(app: FastifyInstance, deps: SyncDeps, engine: SyncEngine, filters: FilterCache, auth: TokenAuth): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const owner = ownerOf(request);
    const q = query(request);
    const sinceText = single(q, 'since');
    const timeoutMs = intParam(q, 'timeout') ?? 0;
    const fullState = boolParam(q, 'full_state');
    const useStateAfter = boolParam(q, 'use_state_after');
    const setPresence = enumParam(q, 'set_presence', ['offline', 'online', 'unavailable'] as const, 'online')!;
    const filter = await filters.resolve(owner.user_id, single(q, 'filter'));
    await syncSetsPresence(deps, owner.user_id, setPresence, sinceText === undefined);
    // What the client was told is sent is in its answer (a send, then a sync or a long-poll's start).
    await readYourWrites(deps);
    return engine.sync({
      viewer: { user_id: owner.user_id, device_id: owner.device_id },
      // Garbage is treated like no token: an initial sync, never an error.
      since: sinceText === undefined ? undefined : parseToken(sinceText),
      timeoutMs,
      fullState,
      useStateAfter,
      filter,
      signal: hangupSignal(reply),
    });
  };
  app.get('/_matrix/client/v3/sync', { onRequest: auth.required }, handler);
}
