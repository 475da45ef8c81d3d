/**
 * Third-party identifiers (email addresses, phone numbers). This server
 * sends no email or SMS and keeps no third-party identifiers (capability
 * `m.3pid_changes` is off), so every endpoint that would start or use a
 * validation answers, after checking its body, the spec's error for that
 * case in words; removing an identifier the account does not have changes
 * nothing and succeeds.
 */
import { MatrixError } from '../../../../core/errors.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, V3 } from './common.js';

export const threepidRoutes: ClientRoutes = (app, cctx) => {
  const notSupported = (what: string) => () => {
    throw new MatrixError(400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED', `This server does not send ${what}: third-party identifiers cannot be added`);
  };
  const checked = (operation: string) => ({ preValidation: specBody('client-server', operation) });

  // Validation requests: before registration, to add an identifier, to reset a password.
  app.post(`${V3}/register/email/requestToken`, checked('POST /register/email/requestToken'), notSupported('email'));
  app.post(`${V3}/register/msisdn/requestToken`, checked('POST /register/msisdn/requestToken'), notSupported('text messages'));
  app.post(`${V3}/account/3pid/email/requestToken`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid/email/requestToken') }, notSupported('email'));
  app.post(`${V3}/account/3pid/msisdn/requestToken`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid/msisdn/requestToken') }, notSupported('text messages'));
  const noAccount = () => {
    throw new MatrixError(400, 'M_THREEPID_NOT_FOUND', 'No account of this server has that address: reset passwords are set by an administrator (dashboard)');
  };
  app.post(`${V3}/account/password/email/requestToken`, checked('POST /account/password/email/requestToken'), noAccount);
  app.post(`${V3}/account/password/msisdn/requestToken`, checked('POST /account/password/msisdn/requestToken'), noAccount);

  // Using a validation session: there never is one.
  const noSession = () => {
    throw new MatrixError(400, 'M_THREEPID_AUTH_FAILED', 'No validation session of this server has that sid and client_secret');
  };
  app.post(`${V3}/account/3pid/add`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid/add') }, noSession);
  app.post(`${V3}/account/3pid`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid') }, noSession);
  app.post(`${V3}/account/3pid/bind`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid/bind') }, () => {
    throw new MatrixError(400, 'M_SERVER_NOT_TRUSTED', 'This server does not work with identity servers');
  });

  // Removing what is not there.
  const removed = async (request: Parameters<typeof bodyOf>[0]) => {
    fullUser(request);
    bodyOf(request);
    return { id_server_unbind_result: 'no-support' };
  };
  app.post(`${V3}/account/3pid/delete`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid/delete') }, removed);
  app.post(`${V3}/account/3pid/unbind`, { preHandler: cctx.auth.required, ...checked('POST /account/3pid/unbind') }, removed);
};
