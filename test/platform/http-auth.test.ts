/**
 * Access tokens (header and query) and the rate limiter, behind a real
 * loopback socket; the limiter's clock is injected.
 */
import t, { type Test } from 'tap';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MatrixError } from '../../src/core/errors.js';
import { createPublicApp, namedPlugin, clientIp } from '../../src/platform/http/app.js';
import { requireAccessToken } from '../../src/platform/http/auth.js';
import { RateLimiter } from '../../src/platform/http/rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    testUser?: string;
  }
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown>;
}

let now = 1_000_000;
const clock = () => now;
const TOKENS: Record<string, string> = { 'tok-alice': '@alice:example.org', 'tok.bob~=': '@bob:example.org' };
const verified: string[] = [];

const app = createPublicApp({ logger: pino({ level: 'silent' }) });
const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, clock);
await app.register(
  namedPlugin('auth-routes', async (a) => {
    const auth = requireAccessToken(
      async (token) => {
        verified.push(token);
        return TOKENS[token];
      },
      (req, user: string) => {
        req.testUser = user;
      },
    );
    a.get('/whoami', { preHandler: auth }, async (req) => ({ user_id: req.testUser }));
    a.post('/whoami', { preHandler: auth }, async (req) => ({ user_id: req.testUser, body: req.body }));
    a.post('/limited', async (req) => {
      limiter.check(`ip:${clientIp(req)}`);
      return {};
    });
  }),
);
await app.ready();
const server: Server = createServer((req, res) => app.routing(req, res));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
t.teardown(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await app.close();
});

function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function isMatrixError(t: Test, r: Reply, status: number, errcode: string, what: string): void {
  t.equal(r.status, status, `${what}: status ${status}`);
  t.equal(r.json.errcode, errcode, `${what}: ${errcode}`);
  t.type(r.json.error, 'string', `${what}: has a message`);
}

t.test('no token: 401 M_MISSING_TOKEN', async (t) => {
  verified.length = 0;
  isMatrixError(t, await send('GET', '/whoami'), 401, 'M_MISSING_TOKEN', 'no header, no query');
  isMatrixError(t, await send('GET', '/whoami?access_token='), 401, 'M_MISSING_TOKEN', 'an empty access_token');
  isMatrixError(t, await send('GET', '/whoami', { authorization: 'Bearer' }), 401, 'M_MISSING_TOKEN', '"Bearer" alone');
  isMatrixError(t, await send('GET', '/whoami', { authorization: 'Basic dXNlcjpwYXNz' }), 401, 'M_MISSING_TOKEN', 'another scheme');
  isMatrixError(t, await send('POST', '/whoami', { 'content-type': 'application/json' }, '{"access_token":"tok-alice"}'), 401, 'M_MISSING_TOKEN', 'a token in the body does not count');
  t.same(verified, [], 'verify is not called without a token');
});

t.test('unknown token: 401 M_UNKNOWN_TOKEN with soft_logout false', async (t) => {
  verified.length = 0;
  const r = await send('GET', '/whoami', { authorization: 'Bearer nope' });
  isMatrixError(t, r, 401, 'M_UNKNOWN_TOKEN', 'header');
  t.equal(r.json.soft_logout, false, 'soft_logout is false');
  t.same(Object.keys(r.json).sort(), ['errcode', 'error', 'soft_logout']);
  const q = await send('GET', '/whoami?access_token=nope');
  isMatrixError(t, q, 401, 'M_UNKNOWN_TOKEN', 'query');
  t.equal(q.json.soft_logout, false);
  t.same(verified, ['nope', 'nope'], 'verify saw the token as sent');
});

t.test('a valid token from the Authorization header or the access_token query parameter', async (t) => {
  verified.length = 0;
  t.same((await send('GET', '/whoami', { authorization: 'Bearer tok-alice' })).json, { user_id: '@alice:example.org' }, 'header');
  t.same((await send('GET', '/whoami', { authorization: 'bearer   tok-alice  ' })).json, { user_id: '@alice:example.org' }, 'scheme is case-insensitive, spaces tolerated');
  t.same((await send('GET', '/whoami?access_token=tok-alice')).json, { user_id: '@alice:example.org' }, 'query');
  t.same((await send('GET', `/whoami?x=1&access_token=${encodeURIComponent('tok.bob~=')}`)).json, { user_id: '@bob:example.org' }, 'query, URL-encoded');
  const post = await send('POST', '/whoami', { authorization: 'Bearer tok.bob~=', 'content-type': 'application/json' }, '{"k":1}');
  t.same(post.json, { user_id: '@bob:example.org', body: { k: 1 } }, 'on a POST with a body');
  t.same(verified, ['tok-alice', 'tok-alice', 'tok-alice', 'tok.bob~=', 'tok.bob~=']);
  const both = await send('GET', '/whoami?access_token=tok-alice', { authorization: 'Bearer nope' });
  isMatrixError(t, both, 401, 'M_UNKNOWN_TOKEN', 'the header wins over the query');
});

t.test('RateLimiter with an injected clock', async (t) => {
  let at = 0;
  const rl = new RateLimiter({ perSecond: 4, burst: 2 }, () => at);
  t.equal(rl.take('a'), 0);
  t.equal(rl.take('a'), 0, 'a burst of 2');
  t.equal(rl.take('a'), 250, 'then 250 ms until the next token at 4/s');
  t.equal(rl.take('b'), 0, 'another key has its own bucket');
  const err = (() => {
    try {
      rl.check('a');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.type(err, MatrixError);
  t.same([(err as MatrixError).status, (err as MatrixError).errcode, (err as MatrixError).extra], [429, 'M_LIMIT_EXCEEDED', { retry_after_ms: 250 }]);
  at = 100;
  t.equal(rl.take('a'), 150, 'refills with time');
  at = 250;
  t.equal(rl.take('a'), 0, 'a token is back after 250 ms');
  t.equal(rl.take('a'), 250);
  at = 3_600_000;
  t.equal(rl.take('a'), 0);
  t.equal(rl.take('a'), 0);
  t.equal(rl.take('a'), 250, 'a long pause refills only up to the burst');
  t.equal(rl.take('c', 2), 0, 'a cost of 2');
  t.equal(rl.take('c', 1), 250);
  t.equal(rl.take('d', 3), 250, 'more than the burst at once: the missing token');
  t.doesNotThrow(() => rl.check('e'));
});

t.test('over the limit: 429 M_LIMIT_EXCEEDED with retry_after_ms, then refill', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await send('POST', '/limited')).status, 200, `request ${i + 1} within the burst`);
  const r = await send('POST', '/limited');
  isMatrixError(t, r, 429, 'M_LIMIT_EXCEEDED', 'the fourth');
  t.equal(r.json.retry_after_ms, 500, 'retry_after_ms: 500 ms for one token at 2/s');
  t.equal(r.headers['retry-after'], '1', 'Retry-After rounds up to whole seconds');
  now += 499;
  const r2 = await send('POST', '/limited');
  isMatrixError(t, r2, 429, 'M_LIMIT_EXCEEDED', '1 ms short');
  t.ok((r2.json.retry_after_ms as number) >= 1 && (r2.json.retry_after_ms as number) <= 2, `retry_after_ms ${r2.json.retry_after_ms}`);
  now += 1;
  t.equal((await send('POST', '/limited')).status, 200, 'a token is back after the time it said');
  now += 1500;
  for (let i = 0; i < 3; i++) t.equal((await send('POST', '/limited')).status, 200, `refilled to the burst: ${i + 1}`);
  t.equal((await send('POST', '/limited')).status, 429, 'and no further');
});
