/**
 * User-interactive authentication (client-server API "User-Interactive
 * Authentication API") for the endpoints that need it: registration, device
 * deletion, password change, deactivation. The UserAPI keeps the sessions;
 * this runs the exchange.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError, type ErrCode } from '../../../../core/errors.js';
import type { UiaState } from '../../../userapi/api.js';
import { clientIp } from '../../../../platform/http/app.js';
import type { ClientApiContext } from '../../context.js';
import { userLimitKey } from './common.js';

/**
 * The 401 that asks for (more) authentication: the session's flows, params
 * and completed stages, with errcode and error only when a stage failed.
 */
export class AuthRequired extends MatrixError {
  constructor(
    readonly state: UiaState,
    readonly failure?: { errcode: ErrCode; error: string },
  ) {
    super(401, failure?.errcode ?? 'M_UNAUTHORIZED', failure?.error ?? 'Additional authentication is required');
  }

  override toJSON(): Record<string, unknown> {
    const { session, flows, params, completed } = this.state;
    return {
      ...(this.failure ? { errcode: this.failure.errcode, error: this.failure.error } : {}),
      session,
      flows: flows.map((stages) => ({ stages })),
      params,
      completed,
    };
  }
}

export interface UiaOptions {
  /** Names the request: a session opened for one request authorises no other. */
  bound: string;
  flows: string[][];
  params?: Record<string, unknown>;
  /** The authenticated user (m.login.password must prove to be this user). */
  userId?: string;
}

type AuthDict = Record<string, unknown> & { type?: unknown; session?: unknown };

/** The next stages a client may attempt, given what it has completed. */
function nextStages(flows: string[][], completed: string[]): Set<string> {
  const next = new Set<string>();
  for (const flow of flows) {
    if (completed.every((c, i) => flow[i] === c) && flow.length > completed.length) next.add(flow[completed.length]!);
  }
  return next;
}

function flowDone(flows: string[][], completed: string[]): boolean {
  return flows.some((flow) => flow.every((stage) => completed.includes(stage)));
}

/** Authentication as someone other than the user making the request. */
class WrongUser extends MatrixError {
  constructor() {
    super(403, 'M_FORBIDDEN', 'The password is not that of the logged-in user');
  }
}

/**
 * Resolves with the session id once a flow is complete; otherwise throws
 * the 401 that tells the client what to do next. Call it after the request's
 * own checks, so that a request that cannot succeed fails before any
 * authentication is asked for.
 */
export async function interactiveAuth(cctx: ClientApiContext, request: FastifyRequest, auth: unknown, opts: UiaOptions): Promise<string> {
  if (auth === undefined || auth === null) {
    throw new AuthRequired(await cctx.userapi.uiaBegin({ bound: opts.bound, flows: opts.flows, ...(opts.params ? { params: opts.params } : {}) }));
  }
  if (typeof auth !== 'object' || Array.isArray(auth)) throw new MatrixError(400, 'M_BAD_JSON', 'auth must be an object');
  const dict = auth as AuthDict;
  if (dict.session !== undefined && typeof dict.session !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'auth.session must be a string');
  if (dict.type !== undefined && typeof dict.type !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'auth.type must be a string');

  let state =
    dict.session !== undefined
      ? await cctx.userapi.uiaQuery({ session: dict.session, bound: opts.bound })
      : await cctx.userapi.uiaBegin({ bound: opts.bound, flows: opts.flows, ...(opts.params ? { params: opts.params } : {}) });
  const type = dict.type as string | undefined;
  if (type !== undefined && !state.completed.includes(type)) {
    if (!nextStages(state.flows, state.completed).has(type)) {
      throw new AuthRequired(state, { errcode: 'M_UNRECOGNIZED', error: `${type} is not the next stage of any flow offered` });
    }
    try {
      state = await completeStage(cctx, request, dict, type, state, opts);
    } catch (e) {
      if (e instanceof MatrixError && !(e instanceof AuthRequired) && !(e instanceof WrongUser) && (e.status === 401 || e.status === 403)) {
        // A failed stage may be tried again in the same session.
        throw new AuthRequired(state, { errcode: e.errcode, error: e.message });
      }
      throw e;
    }
  }
  if (!flowDone(state.flows, state.completed)) throw new AuthRequired(state);
  return state.session;
}

async function completeStage(cctx: ClientApiContext, request: FastifyRequest, auth: AuthDict, type: string, state: UiaState, opts: UiaOptions): Promise<UiaState> {
  const done = (extra: { token?: string } = {}) => cctx.userapi.uiaComplete({ session: state.session, bound: opts.bound, stage: type, ...extra });
  switch (type) {
    case 'm.login.dummy':
      return done();
    case 'm.login.registration_token': {
      if (typeof auth.token !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'auth.token is required');
      return done({ token: auth.token });
    }
    case 'm.login.password': {
      const user = passwordUser(auth);
      if (typeof auth.password !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'auth.password is required');
      // Guessing a password through UIA is guessing it through login.
      cctx.limit('login', clientIp(request));
      cctx.limit('login', userLimitKey(user));
      const { user_id } = await cctx.userapi.checkPassword({ user, password: auth.password });
      // Final, not a stage to retry (as Synapse answers): the session stays for the right password.
      if (opts.userId !== undefined && user_id !== opts.userId) throw new WrongUser();
      return done();
    }
    default:
      throw new MatrixError(400, 'M_UNRECOGNIZED', `Unsupported auth type ${type}`);
  }
}

/** The user an m.login.password dict names: `identifier` (m.id.user) or the legacy `user`. */
export function passwordUser(dict: Record<string, unknown>): string {
  const id = dict.identifier;
  if (id !== undefined) {
    if (typeof id !== 'object' || id === null || Array.isArray(id)) throw new MatrixError(400, 'M_BAD_JSON', 'identifier must be an object');
    const { type, user } = id as Record<string, unknown>;
    if (type === 'm.id.user') {
      if (typeof user !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'identifier.user must be a string');
      return user;
    }
    if (type === 'm.id.thirdparty' || type === 'm.id.phone') {
      // No third-party identifiers are bound to accounts here: the spec's answer for an unknown one.
      throw new MatrixError(403, 'M_FORBIDDEN', 'Unknown third-party identifier');
    }
    throw new MatrixError(400, 'M_UNRECOGNIZED', `Unknown identifier type ${String(type)}`);
  }
  if (typeof dict.user === 'string') return dict.user;
  if (typeof dict.medium === 'string' || typeof dict.address === 'string') throw new MatrixError(403, 'M_FORBIDDEN', 'Unknown third-party identifier');
  throw new MatrixError(400, 'M_MISSING_PARAM', 'identifier is required');
}
