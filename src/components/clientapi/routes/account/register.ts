/**
 * Registration: POST /register (user-interactive auth: m.login.dummy when
 * registration is open, m.login.registration_token when it needs a token;
 * guests when guest access is on), GET /register/available and
 * GET /register/m.login.registration_token/validity.
 */
import { MatrixError } from '../../../../core/errors.js';
import { clientIp } from '../../../../platform/http/app.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, loginResponse, newLogin, queryOf, V1, V3, type Body } from './common.js';
import { RegistrationParams } from './registration-params.js';
import { AuthRequired, interactiveAuth } from './uia.js';

/**
 * The guest a registration upgrades (guest access module: `guest_access_token`
 * with `username` set to the guest's localpart).
 */
async function guestToUpgrade(cctx: ClientApiContext, body: Body): Promise<string> {
  if (typeof body.guest_access_token !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'guest_access_token must be a string');
  const found = await cctx.userapi.queryAccessToken({ token: body.guest_access_token });
  if (!found.owner || !found.owner.is_guest) throw new MatrixError(403, 'M_FORBIDDEN', 'guest_access_token is not the token of a guest');
  const localpart = found.owner.user_id.slice(1, found.owner.user_id.indexOf(':'));
  if (body.username !== localpart) throw new MatrixError(400, 'M_INVALID_USERNAME', `Upgrading a guest keeps its user id: username must be ${localpart}`);
  return found.owner.user_id;
}

/** Whether `auth` names a registration session whose account already exists. */
async function finishedRegistration(cctx: ClientApiContext, auth: unknown): Promise<boolean> {
  const session = typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>).session : undefined;
  if (typeof session !== 'string') return false;
  const state = await cctx.userapi.uiaQuery({ session, bound: 'register' }).catch(() => undefined);
  return state?.finished === true;
}

export const registerRoutes: ClientRoutes = (app, cctx) => {
  const mode = cctx.config.registration;
  const remembered = new RegistrationParams();

  app.post(`${V3}/register`, { preValidation: specBody('client-server', 'POST /register') }, async (request) => {
    const body = remembered.withRemembered(bodyOf(request));
    const kind = queryOf(request).kind ?? 'user';
    if (kind !== 'user' && kind !== 'guest') throw new MatrixError(400, 'M_INVALID_PARAM', 'kind must be user or guest');
    const ip = clientIp(request);

    if (kind === 'guest') {
      if (!cctx.config.guest_access) throw new MatrixError(403, 'M_FORBIDDEN', 'Guest access is disabled on this server');
      cctx.limit('register', ip);
      // Everything but the device's display name is ignored for guests (spec); the server picks the device id.
      const { device_id: _ignored, refresh_token: _r, ...login } = newLogin(request, body);
      const created = await cctx.userapi.createAccount({ guest: true, login });
      return loginResponse(created.login!, cctx.serverName);
    }

    if (mode === 'closed') throw new MatrixError(403, 'M_FORBIDDEN', 'Registration is disabled on this server');
    // Checks that do not depend on authentication come first (spec): a taken
    // or invalid name is refused before the client is asked to authenticate.
    const upgrade = body.guest_access_token !== undefined ? await guestToUpgrade(cctx, body) : undefined;
    // A retry under a session whose registration succeeded gets that answer again (spec: completed stages
    // cannot be retried; the server answers with the result): the name it took is not "taken" for it.
    const retry = await finishedRegistration(cctx, body.auth);
    if (body.username !== undefined && !upgrade && !retry) await cctx.userapi.checkUsernameAvailable({ username: body.username as string });
    if (body.auth !== undefined) cctx.limit('register', ip);
    let session: string;
    try {
      session = await interactiveAuth(cctx, request, body.auth, {
        bound: 'register',
        flows: mode === 'open' ? [['m.login.dummy']] : [['m.login.registration_token']],
      });
    } catch (e) {
      if (e instanceof AuthRequired) remembered.remember(e.state.session, body);
      throw e;
    }
    if (typeof body.password !== 'string' && !retry) throw new MatrixError(400, 'M_MISSING_PARAM', 'password is required');
    const inhibit = body.inhibit_login === true;
    const created = await cctx.userapi.createAccount({
      ...(upgrade ? { upgrade_guest: upgrade } : body.username !== undefined ? { username: body.username as string } : {}),
      ...(typeof body.password === 'string' ? { password: body.password } : {}),
      uia_session: session,
      ...(inhibit ? {} : { login: newLogin(request, body) }),
    });
    if (!created.login) return { user_id: created.user_id, home_server: cctx.serverName };
    return loginResponse(created.login, cctx.serverName);
  });

  app.get(`${V3}/register/available`, async (request) => {
    if (mode === 'closed') throw new MatrixError(403, 'M_FORBIDDEN', 'Registration is disabled on this server');
    const username = queryOf(request).username;
    if (typeof username !== 'string' || username === '') throw new MatrixError(400, 'M_MISSING_PARAM', 'username is required');
    cctx.limit('default', clientIp(request));
    await cctx.userapi.checkUsernameAvailable({ username });
    return { available: true };
  });

  app.get(`${V1}/register/m.login.registration_token/validity`, async (request) => {
    if (mode === 'closed') throw new MatrixError(403, 'M_FORBIDDEN', 'Registration is disabled on this server');
    const token = queryOf(request).token;
    if (typeof token !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'token is required');
    // Its own bucket under the registration limits: guessing tokens is guessing registrations.
    cctx.limit('register', `validity:${clientIp(request)}`);
    return cctx.userapi.registrationTokenValid({ token });
  });
};
