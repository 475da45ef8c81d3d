/**
 * Shared-secret registration, as tools and test suites know it from
 * Synapse: GET /_synapse/admin/v1/register hands out a nonce; POST creates
 * an account when `mac` is the HMAC-SHA1, keyed with the shared secret, of
 * nonce \0 username \0 password \0 ("admin" | "notadmin").
 *
 * Nonces are single-use and expire after a minute. They live in this
 * process: the one ClientAPI process serves both requests.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MatrixError } from '../../../../core/errors.js';
import { resolveDataPath } from '../../../../platform/config/paths.js';
import type { ClientRoutes } from '../types.js';
import { ADMIN_V1 } from './admin-registration-tokens.js';
import { bodyOf, loginResponse, newLogin } from './common.js';

const NONCE_LIFETIME_MS = 60_000;
const MAX_NONCES = 1000;

export function registrationMac(secret: string, nonce: string, username: string, password: string, admin: boolean): string {
  return createHmac('sha1', secret)
    .update(`${nonce}\0${username}\0${password}\0${admin ? 'admin' : 'notadmin'}`, 'utf8')
    .digest('hex');
}

function disabled(): MatrixError {
  return new MatrixError(400, 'M_UNKNOWN', 'Shared secret registration is not enabled');
}

/** A string field of the body that Synapse checks the same way: present, a string, at most 512 characters, no NUL. */
function textField(b: Record<string, unknown>, field: string): string {
  if (!(field in b)) throw new MatrixError(400, 'M_BAD_JSON', `${field} must be specified`);
  const v = b[field];
  if (typeof v !== 'string' || v.length > 512 || v.includes('\0')) throw new MatrixError(400, 'M_UNKNOWN', `Invalid ${field}`);
  return v;
}

export const sharedSecretRegisterRoutes: ClientRoutes = (app, cctx) => {
  const nonces = new Map<string, number>();
  let secret: string | undefined;
  const file = cctx.config.registration_shared_secret_file;
  if (file !== '') {
    try {
      secret = readFileSync(resolveDataPath(cctx.paths, file), 'utf8').trim();
    } catch (e) {
      app.log.error({ err: e, file }, 'cannot read the registration shared secret: shared-secret registration is off');
    }
  }

  app.get(`${ADMIN_V1}/register`, async () => {
    if (!secret) throw disabled();
    const now = Date.now();
    for (const [n, expires] of nonces) if (expires <= now || nonces.size >= MAX_NONCES) nonces.delete(n);
    const nonce = randomBytes(16).toString('hex');
    nonces.set(nonce, now + NONCE_LIFETIME_MS);
    return { nonce };
  });

  app.post(`${ADMIN_V1}/register`, async (request) => {
    if (!secret) throw disabled();
    const b = bodyOf(request);
    if (!('nonce' in b)) throw new MatrixError(400, 'M_BAD_JSON', 'nonce must be specified');
    const nonce = b.nonce;
    const expires = typeof nonce === 'string' ? nonces.get(nonce) : undefined;
    if (typeof nonce !== 'string' || expires === undefined || expires <= Date.now()) throw new MatrixError(400, 'M_UNKNOWN', 'unrecognised nonce');
    // Spent whatever happens next, so that it cannot be tried again.
    nonces.delete(nonce);
    const username = textField(b, 'username');
    const password = textField(b, 'password');
    const admin = Boolean(b.admin);
    if (b.displayname !== undefined && b.displayname !== null && typeof b.displayname !== 'string') throw new MatrixError(400, 'M_UNKNOWN', 'Invalid displayname');
    if (b.user_type !== undefined && b.user_type !== null) throw new MatrixError(400, 'M_UNKNOWN', 'Invalid user type');
    if (!('mac' in b)) throw new MatrixError(400, 'M_BAD_JSON', 'mac must be specified');
    const want = Buffer.from(registrationMac(secret, nonce, username, password, admin), 'ascii');
    const got = Buffer.from(typeof b.mac === 'string' ? b.mac : '', 'ascii');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new MatrixError(403, 'M_FORBIDDEN', 'HMAC incorrect');

    const created = await cctx.userapi.createAccount({
      username,
      password,
      admin,
      ...(typeof b.displayname === 'string' ? { displayname: b.displayname } : {}),
      login: newLogin(request, { refresh_token: b.refresh_token }),
    });
    return loginResponse(created.login!, cctx.serverName);
  });
};
