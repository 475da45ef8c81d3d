/**
 * matrix-js-sdk in tests: quiet, registration through user-interactive
 * auth, and refusals checked by status and errcode.
 */
import type { Test } from 'tap';
import { createClient, type MatrixClient, MatrixError as SdkError } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';

// The SDK logs every request at debug level; the test reports what matters.
(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

/** Registers (m.login.dummy), then logs in: a client with its own device and token. */
export async function register(baseUrl: string, username: string, password: string): Promise<MatrixClient> {
  const anon = createClient({ baseUrl });
  // User-interactive auth: the first request learns the flows and the session, the second completes m.login.dummy.
  let session: string | undefined;
  try {
    await anon.registerRequest({ username, password });
  } catch (e) {
    if (!(e instanceof SdkError) || e.httpStatus !== 401) throw e;
    session = (e.data as { session?: string }).session;
  }
  await anon.registerRequest({ username, password, auth: { type: 'm.login.dummy', ...(session ? { session } : {}) }, inhibit_login: true });
  const login = await anon.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password });
  return createClient({ baseUrl, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
}

/** Expects the SDK call to fail with this status and errcode. */
export async function refused(t: Test, p: Promise<unknown>, status: number, errcode: string, what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: succeeded, expected ${status} ${errcode}`);
  } catch (e) {
    if (!(e instanceof SdkError)) throw e;
    t.match({ status: e.httpStatus, errcode: e.errcode }, { status, errcode }, `${what}: ${status} ${errcode} (${e.data.error})`);
  }
}

