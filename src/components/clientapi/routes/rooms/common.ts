/**
 * What the room routes share: checking ids from paths and bodies, guests'
 * limits, and the profile that goes into membership events.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { parseRoomAlias, parseRoomId, parseUserId, serverNameOf } from '../../../../core/identifiers.js';
import { EVENT_BODY_LIMIT } from '../../../../platform/http/app.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { TokenOwner } from '../../../userapi/api.js';
import { ownerOf, type ClientApiContext } from '../../context.js';

export const V3 = '/_matrix/client/v3';

export function roomIdParam(value: unknown): string {
  if (typeof value !== 'string' || !parseRoomId(value).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid room id`);
  return value;
}

export function userIdParam(value: unknown, what = 'user_id'): string {
  if (typeof value !== 'string' || !parseUserId(value).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${what} ${String(value)} is not a valid user id`);
  return value;
}

export function aliasParam(value: unknown): string {
  if (typeof value !== 'string' || !parseRoomAlias(value).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid room alias`);
  return value;
}

export function isLocal(cctx: ClientApiContext, id: string): boolean {
  return serverNameOf(id) === cctx.serverName;
}

export function params(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

export function query(request: FastifyRequest): Record<string, string | string[] | undefined> {
  return (request.query ?? {}) as Record<string, string | string[] | undefined>;
}

/** The body as an object (routes validate it against the spec first). */
export function body(request: FastifyRequest): JsonObject {
  const b = request.body;
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as JsonObject) : {};
}

/** The owner, refusing guests on endpoints the guest access module does not open to them. */
export function fullUser(request: FastifyRequest): TokenOwner {
  const owner = ownerOf(request);
  if (owner.is_guest) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guests cannot use this endpoint');
  return owner;
}

/** A reason given in a membership request, when it is a string. */
export function reasonOf(b: JsonObject): { reason?: string } {
  return typeof b.reason === 'string' ? { reason: b.reason } : {};
}

/**
 * displayname / avatar_url for a local user's membership event. A profile
 * that cannot be read leaves them out rather than failing the join.
 */
export async function profileContent(cctx: ClientApiContext, userId: string): Promise<JsonObject> {
  if (!isLocal(cctx, userId)) return {};
  try {
    const p = await cctx.userapi.queryProfile({ user_id: userId }, { timeoutMs: 5000 });
    const out: JsonObject = {};
    if (typeof p?.displayname === 'string') out.displayname = p.displayname;
    if (typeof p?.avatar_url === 'string') out.avatar_url = p.avatar_url;
    return out;
  } catch {
    return {};
  }
}

/**
 * Options of a route whose body becomes (part of) an event: authenticated
 * first, an event's size limit, canonical-JSON numbers, the spec's schema.
 */
export function eventRoute(cctx: ClientApiContext, operation?: string, opts: { emptyBody?: boolean } = {}) {
  const check = operation ? specBody('client-server', operation) : undefined;
  return {
    onRequest: cctx.auth.required,
    bodyLimit: EVENT_BODY_LIMIT,
    config: { canonicalJson: true },
    ...(check
      ? {
          preValidation: async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
            // Clients often send nothing where the body's fields are all optional (Synapse accepts that too).
            if (opts.emptyBody && request.body === undefined) request.body = {};
            return check.call(this, request, reply);
          },
        }
      : {}),
  };
}
