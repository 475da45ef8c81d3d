/**
 * The public fastify app, served on a real loopback socket: JSON bodies and
 * their limits, 404 vs 405, errors as Matrix errors, request ids.
 */
import t, { type Test } from 'tap';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MatrixError } from '../../src/core/errors.js';
import { createPublicApp, namedPlugin, EVENT_BODY_LIMIT, DEFAULT_BODY_LIMIT } from '../../src/platform/http/app.js';
import { IpcError } from '../../src/platform/ipc/errors.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

const app = createPublicApp({ logger: pino({ level: 'silent' }) });
await app.register(
  namedPlugin('test-routes', async (a) => {
    a.post('/echo', async (req) => ({ body: req.body }));
    a.put('/rooms/:roomId/send/:eventType/:txnId', { bodyLimit: EVENT_BODY_LIMIT, config: { canonicalJson: true } }, async (req) => ({ body: req.body }));
    a.get('/id', async (req) => ({ id: req.id }));
    a.get('/throw/:kind', async (req) => {
      const kind = (req.params as { kind: string }).kind;
      if (kind === 'matrix') throw new MatrixError(403, 'M_FORBIDDEN', 'Not yours', { reason: 'testing' });
      if (kind === 'unavailable') throw new IpcError('UNAVAILABLE', 'roomserver is restarting');
      if (kind === 'deadline') throw new IpcError('DEADLINE_EXCEEDED', 'too slow');
      if (kind === 'internal') throw new IpcError('INTERNAL', 'secret detail');
      throw new Error('secret internal detail');
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

/** Sends exactly these bytes; `chunked` leaves out Content-Length and sends the body in pieces. */
function send(method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const headers: Record<string, string | number> = { ...opts.headers };
    if (body && !opts.chunked) headers['content-length'] = body.length;
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON: the tests look at text */
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (body && opts.chunked) {
      for (let i = 0; i < body.length; i += 8192) req.write(body.subarray(i, i + 8192));
      req.end();
    } else req.end(body);
  });
}

const JSON_CT = { 'content-type': 'application/json' };
const EVENT = '/rooms/!room:example.org/send/m.room.message/txn1';

function isMatrixError(t: Test, r: Reply, status: number, errcode: string, what: string): void {
  t.equal(r.status, status, `${what}: status ${status}`);
  t.equal(r.json.errcode, errcode, `${what}: ${errcode}`);
  t.type(r.json.error, 'string', `${what}: has an error message`);
  t.match(r.headers['content-type'], /^application\/json/, `${what}: JSON content type`);
}

t.test('bodies that are not JSON: 400 M_NOT_JSON', async (t) => {
  for (const body of ['{"a":', 'not json', '{"a":1}}', "{'a':1}", '[1,]', '\u00ff']) {
    isMatrixError(t, await send('POST', '/echo', { body, headers: JSON_CT }), 400, 'M_NOT_JSON', JSON.stringify(body));
  }
  isMatrixError(t, await send('PUT', EVENT, { body: '{', headers: JSON_CT }), 400, 'M_NOT_JSON', 'on an event route');
});

t.test('a refused body (read whole) leaves the connection open for the next request', async (t) => {
  // The gateway's proxy keeps connections to components alive; one closed under it as it finished writing lost the answer.
  for (const [body, errcode] of [['{"a":', 'M_NOT_JSON'], ['{"__proto__":{}}', 'M_BAD_JSON'], ['[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', 'M_BAD_JSON']] as const) {
    const r = await send('POST', '/echo', { body, headers: { ...JSON_CT, connection: 'keep-alive' } });
    isMatrixError(t, r, 400, errcode, body.slice(0, 20));
    t.not(r.headers.connection, 'close', `${body.slice(0, 20)}: no Connection: close`);
  }
});

t.test('JSON bodies are parsed whatever the content type; an empty body is {}', async (t) => {
  for (const ct of ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8']) {
    const r = await send('POST', '/echo', { body: '{"a":[1,"ü"]}', headers: { 'content-type': ct } });
    t.equal(r.status, 200, ct);
    t.same(r.json, { body: { a: [1, 'ü'] } }, `${ct}: parsed as JSON`);
  }
  const empty = await send('POST', '/echo', { body: '', headers: JSON_CT });
  t.equal(empty.status, 200);
  t.same(empty.json, { body: {} }, 'an empty JSON body is {}');
  const blank = await send('POST', '/echo', { body: ' \n ', headers: JSON_CT });
  t.same(blank.json, { body: {} }, 'whitespace only is {} too');
  const chunked = await send('POST', '/echo', { body: JSON.stringify({ k: 'v'.repeat(50_000) }), headers: JSON_CT, chunked: true });
  t.equal(chunked.status, 200, 'a chunked body');
  t.equal((chunked.json.body as { k: string }).k.length, 50_000);
});

t.test('bodies that are not UTF-8: 400 M_NOT_JSON, and nothing of them reaches the route', async (t) => {
  const bad = [
    Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x61, 0x81, 0x22, 0x7d]), // {"a":"a\x81"}: a lone continuation byte
    Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3]), Buffer.from('"}')]), // a truncated two-byte sequence
    Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // an encoded surrogate
  ];
  for (const body of bad) {
    isMatrixError(t, await send('POST', '/echo', { body, headers: JSON_CT }), 400, 'M_NOT_JSON', body.toString('hex'));
    isMatrixError(t, await send('PUT', EVENT, { body, headers: JSON_CT }), 400, 'M_NOT_JSON', `${body.toString('hex')} on an event route`);
  }
  const fine = await send('POST', '/echo', { body: Buffer.from('{"a":"ü€😀"}'), headers: JSON_CT });
  t.same(fine.json, { body: { a: 'ü€😀' } }, 'multi-byte UTF-8 is fine');
});

t.test('JSON answers say application/json, as the spec writes it', async (t) => {
  t.equal((await send('GET', '/id')).headers['content-type'], 'application/json', 'a result');
  t.equal((await send('GET', '/throw/matrix')).headers['content-type'], 'application/json', 'a Matrix error');
  t.equal((await send('GET', '/nowhere')).headers['content-type'], 'application/json', 'an unknown endpoint');
  t.equal((await send('POST', '/echo', { body: '{', headers: JSON_CT })).headers['content-type'], 'application/json', 'a refused body');
});

t.test('nesting deeper than 64 levels: 400 M_BAD_JSON', async (t) => {
  const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const objects = (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
  t.equal((await send('POST', '/echo', { body: nested(64), headers: JSON_CT })).status, 200, '64 nested arrays are accepted');
  t.equal((await send('POST', '/echo', { body: objects(64), headers: JSON_CT })).status, 200, '64 nested objects are accepted');
  isMatrixError(t, await send('POST', '/echo', { body: nested(65), headers: JSON_CT }), 400, 'M_BAD_JSON', '65 nested arrays');
  isMatrixError(t, await send('POST', '/echo', { body: objects(65), headers: JSON_CT }), 400, 'M_BAD_JSON', '65 nested objects');
  isMatrixError(t, await send('POST', '/echo', { body: nested(200_000), headers: JSON_CT }), 400, 'M_BAD_JSON', '200 000 nested arrays');
  t.equal((await send('GET', '/id')).status, 200, 'the server is still up');
});

t.test('__proto__ keys: 400 M_BAD_JSON', async (t) => {
  for (const body of ['{"__proto__":{"admin":true}}', '{"a":{"b":[{"__proto__":1}]}}', '[{"__proto__":null}]']) {
    isMatrixError(t, await send('POST', '/echo', { body, headers: JSON_CT }), 400, 'M_BAD_JSON', body);
    isMatrixError(t, await send('PUT', EVENT, { body, headers: JSON_CT }), 400, 'M_BAD_JSON', `${body} on an event route`);
  }
  const ok = await send('POST', '/echo', { body: '{"__proto__x":1,"constructor":2,"prototype":3,"a":"__proto__"}', headers: JSON_CT });
  t.equal(ok.status, 200, 'similar keys and a __proto__ value are fine');
});

t.test('event routes: numbers must be canonical; other routes take any number', async (t) => {
  const bad = ['{"n":1.5}', '{"n":-0.25}', '{"n":9007199254740992}', '{"n":-9007199254740992}', '{"n":1e400}', '{"a":[{"deep":3.14}]}', '{"n":12345678901234567890}'];
  for (const body of bad) {
    isMatrixError(t, await send('PUT', EVENT, { body, headers: JSON_CT }), 400, 'M_BAD_JSON', body);
    t.equal((await send('POST', '/echo', { body, headers: JSON_CT })).status, 200, `${body} is fine on a non-event route`);
  }
  const good = await send('PUT', EVENT, { body: '{"max":9007199254740991,"min":-9007199254740991,"zero":0}', headers: JSON_CT });
  t.equal(good.status, 200, 'integers within ±(2^53-1)');
  t.same(good.json, { body: { max: 9007199254740991, min: -9007199254740991, zero: 0 } });
});

t.test('body limits: 65536 bytes on an event route, 1 MiB elsewhere', async (t) => {
  const sized = (n: number) => {
    const s = `{"body":"${'x'.repeat(n - 11)}"}`;
    t.equal(Buffer.byteLength(s), n);
    return s;
  };
  const atLimit = await send('PUT', EVENT, { body: sized(EVENT_BODY_LIMIT), headers: JSON_CT });
  t.equal(atLimit.status, 200, '65536 bytes are accepted');
  isMatrixError(t, await send('PUT', EVENT, { body: sized(EVENT_BODY_LIMIT + 1), headers: JSON_CT }), 413, 'M_TOO_LARGE', '65537 bytes');
  isMatrixError(t, await send('PUT', EVENT, { body: sized(EVENT_BODY_LIMIT + 1), headers: JSON_CT, chunked: true }), 413, 'M_TOO_LARGE', '65537 bytes, chunked');
  t.equal((await send('PUT', EVENT, { body: sized(EVENT_BODY_LIMIT), headers: JSON_CT, chunked: true })).status, 200, '65536 bytes, chunked');
  // Multi-byte characters count as bytes.
  const utf8 = `{"body":"${'é'.repeat((EVENT_BODY_LIMIT - 10) / 2)}"}`;
  t.equal(Buffer.byteLength(utf8), EVENT_BODY_LIMIT + 1);
  isMatrixError(t, await send('PUT', EVENT, { body: utf8, headers: JSON_CT }), 413, 'M_TOO_LARGE', '65537 bytes of two-byte characters');

  t.equal((await send('POST', '/echo', { body: sized(EVENT_BODY_LIMIT + 1), headers: JSON_CT })).status, 200, 'other routes take more');
  t.equal((await send('POST', '/echo', { body: sized(DEFAULT_BODY_LIMIT), headers: JSON_CT })).status, 200, '1 MiB');
  isMatrixError(t, await send('POST', '/echo', { body: sized(DEFAULT_BODY_LIMIT + 1), headers: JSON_CT }), 413, 'M_TOO_LARGE', '1 MiB + 1');
});

t.test('unknown endpoints: 404 M_UNRECOGNIZED; known paths with the wrong method: 405 M_UNRECOGNIZED', async (t) => {
  isMatrixError(t, await send('GET', '/nothing/here'), 404, 'M_UNRECOGNIZED', 'unknown path');
  isMatrixError(t, await send('POST', '/nothing'), 404, 'M_UNRECOGNIZED', 'unknown path, POST');
  isMatrixError(t, await send('GET', '/echo'), 405, 'M_UNRECOGNIZED', 'GET on a POST route');
  isMatrixError(t, await send('DELETE', '/echo?x=1'), 405, 'M_UNRECOGNIZED', 'with a query string');
  isMatrixError(t, await send('GET', EVENT), 405, 'M_UNRECOGNIZED', 'GET on a PUT route with parameters');
  isMatrixError(t, await send('POST', '/rooms/!other:x/send/m.reaction/abc', { body: '{}', headers: JSON_CT }), 405, 'M_UNRECOGNIZED', 'other parameter values');
  isMatrixError(t, await send('PUT', '/rooms/!r/send/m.room.message'), 404, 'M_UNRECOGNIZED', 'a prefix of a route');
  isMatrixError(t, await send('POST', '/echo/'), 404, 'M_UNRECOGNIZED', 'a trailing slash is another path');
  isMatrixError(t, await send('POST', '/id'), 405, 'M_UNRECOGNIZED', 'POST on a GET route');
  t.equal((await send('HEAD', '/id')).status, 200, 'HEAD on a GET route is served');
});

t.test('errors thrown by handlers become Matrix errors', async (t) => {
  const m = await send('GET', '/throw/matrix');
  isMatrixError(t, m, 403, 'M_FORBIDDEN', 'a MatrixError');
  t.same(m.json, { errcode: 'M_FORBIDDEN', error: 'Not yours', reason: 'testing' }, 'with its message and extra fields');
  const u = await send('GET', '/throw/unavailable');
  isMatrixError(t, u, 503, 'M_UNKNOWN', 'IpcError UNAVAILABLE');
  t.equal(u.json.retry_after_ms, 1000);
  t.equal(u.headers['retry-after'], '1', 'Retry-After in seconds');
  isMatrixError(t, await send('GET', '/throw/deadline'), 504, 'M_UNKNOWN', 'IpcError DEADLINE_EXCEEDED');
  const i = await send('GET', '/throw/internal');
  isMatrixError(t, i, 500, 'M_UNKNOWN', 'IpcError INTERNAL');
  t.notMatch(i.text, /secret/, 'no internal detail leaks');
  const e = await send('GET', '/throw/plain');
  isMatrixError(t, e, 500, 'M_UNKNOWN', 'a plain Error');
  t.notMatch(e.text, /secret/, 'no internal detail leaks');
});

t.test('request id: taken from x-request-id', async (t) => {
  t.same((await send('GET', '/id', { headers: { 'x-request-id': 'gw-abc-123' } })).json, { id: 'gw-abc-123' });
  const long = 'x'.repeat(65);
  const a = (await send('GET', '/id', { headers: { 'x-request-id': long } })).json.id;
  t.not(a, long, 'a request id longer than 64 characters is replaced');
  t.type(a, 'string');
  const b = (await send('GET', '/id')).json.id;
  const c = (await send('GET', '/id')).json.id;
  t.type(b, 'string', 'without the header an id is generated');
  t.not(b, c, 'generated ids differ');
  t.equal((await send('GET', '/id', { headers: { 'x-request-id': 'y'.repeat(64) } })).json.id, 'y'.repeat(64), '64 characters are kept');
});

t.test('event bodies: numbers as written, and bodiless POSTs', async (t) => {
  const { createPublicApp, namedPlugin } = await import('../../src/platform/http/app.js');
  const { pino } = await import('pino');
  const app = createPublicApp({ logger: pino({ level: 'silent' }) });
  await app.register(
    namedPlugin('t', async (a) => {
      a.put('/event', { config: { canonicalJson: true } }, async (req) => ({ got: req.body }));
      a.post('/empty', async (req) => ({ got: req.body }));
    }),
  );
  await app.ready();
  for (const text of ['{"n":1.0}', '{"n":1e2}', '{"n":-0}', '{"a":[{"n":2.50}]}']) {
    const r = await app.inject({ method: 'PUT', url: '/event', payload: text, headers: { 'content-type': 'application/json' } });
    t.equal(r.statusCode, 400, text);
    t.equal(r.json().errcode, 'M_BAD_JSON', text);
  }
  const ok = await app.inject({ method: 'PUT', url: '/event', payload: '{"n":10,"s":"1.5e3"}', headers: { 'content-type': 'application/json' } });
  t.same(ok.json(), { got: { n: 10, s: '1.5e3' } }, 'integers and number-like strings pass');
  const empty = await app.inject({ method: 'POST', url: '/empty' });
  t.same(empty.json(), { got: {} }, 'a POST without a body is an empty object');
  await app.close();
});
