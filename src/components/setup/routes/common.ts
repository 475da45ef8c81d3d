/**
 * What every page route on the setup port shares: security headers, form
 * bodies, the answer as a page or (for scripts and tests asking for JSON)
 * as JSON, and the session and CSRF guards.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CORS_HEADERS } from '../../../platform/http/cors.js';
import type { SafeHtml } from '../html.js';
import { csrfOk, type Session } from '../sessions.js';
import type { Form } from '../wizard/validate.js';

/** No inline script or style anywhere: everything comes from /assets. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
    // Pages with sessions must never be readable cross-origin. The gateway sends no CORS on the setup port
    // (gateway/index.ts); should any reach this process all the same (a gateway in this process sets them
    // on the raw response, which removeHeader clears too), none leaves. Split mode relies on the gateway alone.
    for (const h of Object.keys(CORS_HEADERS)) reply.removeHeader(h);
    if (!req.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
    return payload;
  });
}

/** Forms arrive URL-encoded; scripts and tests may send JSON, which the app already parses. */
export function formBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 32 * 1024 }, (_req, body, done) => {
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of new URLSearchParams(body as string)) out[k] = v;
    done(null, out);
  });
}

export function formOf(req: FastifyRequest): Form {
  const body = req.body;
  const out: Form = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

export const wantsJson = (req: FastifyRequest): boolean => (req.headers.accept ?? '').includes('application/json');

export function sendPage(reply: FastifyReply, status: number, page: SafeHtml): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(page.text);
}

/** A page for browsers, JSON for scripts: `render` is only called for the page. */
export function answer(req: FastifyRequest, reply: FastifyReply, status: number, json: Record<string, unknown>, render: () => SafeHtml): FastifyReply {
  if (wantsJson(req)) return reply.status(status).type('application/json').send(json);
  return sendPage(reply, status, render());
}

/** After a successful change: see-other for browsers (no re-post on reload), `{next}` for scripts. */
export function goTo(req: FastifyRequest, reply: FastifyReply, next: string, extra: Record<string, unknown> = {}): FastifyReply {
  if (wantsJson(req)) return reply.status(200).type('application/json').send({ next, ...extra });
  return reply.redirect(next, 303);
}

/**
 * A change must come from our own pages: the CSRF token of the session, and
 * no other site as Origin (SameSite=Strict already keeps the cookie from
 * cross-site requests; this is the second lock).
 */
export function changeAllowed(req: FastifyRequest, session: Session): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    try {
      if (new URL(origin).host !== req.headers.host) return 'This request came from another site.';
    } catch {
      return 'This request came from another site.';
    }
  }
  if (req.headers['sec-fetch-site'] === 'cross-site') return 'This request came from another site.';
  if (!csrfOk(req, session)) return 'The form has expired. Reload the page and try again.';
  return undefined;
}
