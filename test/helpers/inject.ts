/**
 * A request to an in-process fastify app as a user (bearer token) with a
 * JSON body, answered with the status and the parsed body (the text when it
 * is not JSON). What the component harnesses' `call` is.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export type InjectCall<U extends { token: string }> = (user: U | undefined, method: string, url: string, body?: unknown) => Promise<{ status: number; body: any; raw: LightMyRequestResponse }>;

export function injectCall<U extends { token: string }>(app: FastifyInstance): InjectCall<U> {
  return async (user, method, url, body) => {
    const raw = await app.inject({
      method: method as 'GET',
      url,
      headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown;
    try {
      parsed = raw.json();
    } catch {
      parsed = raw.body;
    }
    return { status: raw.statusCode, body: parsed, raw };
  };
}
