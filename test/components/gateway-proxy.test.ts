/**
 * SocketProxy between a real loopback front server and a real upstream
 * HTTP server on a Unix socket: streaming both ways, headers, long-polls,
 * disconnects, a missing socket, a dropped kept-alive connection.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createServer, request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { SocketProxy } from '../../src/components/gateway/proxy.js';
import { CORS_HEADERS } from '../../src/platform/http/cors.js';

const dir = fs.mkdtempSync(join(os.tmpdir(), 'nt-'));
const upstreamSock = join(dir, 'clientapi.sock');
const missingSock = join(dir, 'nobody.sock');

/** What the upstream saw, for the tests to inspect. */
const seen = {
  headers: [] as IncomingHttpHeaders[],
  /** Paths whose request the upstream saw end before it answered (the caller went away). */
  aborted: [] as string[],
  /** Bytes received so far on the echo route. */
  echoReceived: 0,
  requests: 0,
};
/** Releases for upstream responses that wait for the test. */
const gates = new Map<string, () => void>();
let dropNextReused = false;

function deterministicBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://upstream');
  seen.requests++;
  seen.headers.push(req.headers);
  const s = req.socket as unknown as { served?: boolean };
  if (dropNextReused && s.served) {
    // A kept-alive connection closed by the upstream just as the next request arrives.
    dropNextReused = false;
    req.socket.destroy();
    return;
  }
  s.served = true;
  res.on('close', () => {
    if (!res.writableFinished) seen.aborted.push(url.pathname);
  });
  switch (url.pathname) {
    case '/echo': {
      // Streams the request body back as it arrives.
      seen.echoReceived = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.on('data', (c: Buffer) => {
        seen.echoReceived += c.length;
        res.write(c);
      });
      req.on('end', () => res.end());
      return;
    }
    case '/sink': {
      const h = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        h.update(c);
        bytes += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ bytes, sha256: h.digest('hex') }));
      });
      return;
    }
    case '/source': {
      // Sends a first part, then the rest only once the test says the client got the first part.
      const data = deterministicBytes(Number(url.searchParams.get('bytes')), 7);
      const first = 256 * 1024;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      res.write(data.subarray(0, first));
      gates.set('source', () => res.end(data.subarray(first)));
      return;
    }
    case '/headers': {
      req.resume();
      res.setHeader('x-custom', 'kept');
      res.setHeader('x-latin-answer', 'caf\u00e9');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('keep-alive', 'timeout=999, max=7');
      res.setHeader('proxy-authenticate', 'Basic realm="upstream"');
      res.setHeader('trailer', 'x-checksum');
      res.setHeader('upgrade', 'h2c');
      res.setHeader('access-control-allow-origin', 'https://only.example');
      res.writeHead(201, 'Made It', { 'content-type': 'application/json' });
      // Written in two parts: chunked, as a Trailer header requires.
      res.write('{"made":');
      res.end('true}');
      return;
    }
    case '/status': {
      req.resume();
      const code = Number(url.searchParams.get('code'));
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode: 'M_NOT_FOUND', error: 'nothing', code }));
      return;
    }
    case '/sync': {
      // A long-poll: answers after 1.5 s.
      req.resume();
      const timer = setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ next_batch: 's42' }));
      }, 1500);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case '/early': {
      // Answers at once, without reading the body.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"early":true}');
      return;
    }
    case '/hang': {
      // Reads the body (if any) and never answers.
      req.on('data', () => {});
      return;
    }
    case '/truncated': {
      req.resume();
      // Chunked: only the missing last chunk tells a client the body is incomplete.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(100_000, 1), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    default:
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errcode":"M_UNRECOGNIZED","error":"no"}');
  }
}

const upstream: Server = createServer({ keepAliveTimeout: 65_000 }, upstreamHandler);
await new Promise<void>((r) => upstream.listen(upstreamSock, r));
const proxy = new SocketProxy();
const front: Server = createServer((req, res) => {
  const missing = req.url?.startsWith('/missing/');
  proxy.forward(req, res, missing ? missingSock : upstreamSock, missing ? 'mediaapi' : 'clientapi');
});
await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
const port = (front.address() as AddressInfo).port;

t.teardown(async () => {
  proxy.close();
  front.closeAllConnections();
  upstream.closeAllConnections();
  await Promise.all([new Promise((r) => front.close(r)), new Promise((r) => upstream.close(r))]);
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function open(method: string, path: string, headers: Record<string, string | number> = {}): ClientRequest {
  return request({ host: '127.0.0.1', port, method, path, headers, agent: false });
}

/** The whole response; fails after 15 s rather than hang the file. */
function reply(req: ClientRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no complete response to ${req.method} ${req.path} within 15 s`));
      req.destroy();
    }, 15_000);
    const fail = (e: unknown) => {
      clearTimeout(timer);
      reject(e);
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
  });
}

function send(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<Reply> {
  const req = open(method, path, body === undefined ? headers : { 'content-length': Buffer.byteLength(body), ...headers });
  const p = reply(req);
  req.end(body);
  return p;
}

/** Like send, without Content-Length: the body goes chunked (which a Trailer header requires). */
function sendChunked(method: string, path: string, headers: Record<string, string | number>, body: string): Promise<Reply> {
  const req = open(method, path, headers);
  const p = reply(req);
  req.write(body);
  req.end();
  return p;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** A raw connection to the front server: what it received so far, as latin1 text. */
function rawClient(t: Test): { socket: Socket; text: () => string } {
  const socket = connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  return { socket, text: () => text };
}

function hasCors(t: Test, headers: IncomingHttpHeaders, what: string): void {
  for (const [k, v] of Object.entries(CORS_HEADERS)) t.equal(headers[k], v, `${what}: ${k}`);
}

t.test('large bodies stream both ways, intact', async (t) => {
  const size = 6 * 1024 * 1024;
  const data = deterministicBytes(size, 99);
  const want = createHash('sha256').update(data).digest('hex');

  const up = await send('POST', '/sink', { 'content-type': 'application/octet-stream' }, data);
  t.equal(up.status, 200);
  t.same(JSON.parse(up.body.toString()), { bytes: size, sha256: want }, '6 MiB upload with Content-Length arrives intact');

  const chunked = open('PUT', '/sink', { 'content-type': 'application/octet-stream' });
  const p = reply(chunked);
  for (let i = 0; i < size; i += 100_000) chunked.write(data.subarray(i, i + 100_000));
  chunked.end();
  t.same(JSON.parse((await p).body.toString()), { bytes: size, sha256: want }, 'a chunked 6 MiB upload too');

  const echoed = await send('POST', '/echo', { 'content-type': 'application/octet-stream' }, data);
  t.equal(echoed.body.length, size);
  t.equal(createHash('sha256').update(echoed.body).digest('hex'), want, '6 MiB echoed back intact');
});

t.test('request bodies are streamed, not buffered: the upstream sees each part before the client sends the next', async (t) => {
  const part = 512 * 1024;
  const parts = 8;
  const req = open('POST', '/echo', { 'content-type': 'application/octet-stream' });
  let received = 0;
  const hash = createHash('sha256');
  const done = new Promise<void>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      res.on('data', (c: Buffer) => {
        received += c.length;
        hash.update(c);
      });
      res.on('end', resolve);
    });
    setTimeout(() => reject(new Error('the echo did not end within 15 s')), 15_000);
  });
  const sent = createHash('sha256');
  for (let i = 0; i < parts; i++) {
    const chunk = deterministicBytes(part, i);
    sent.update(chunk);
    req.write(chunk);
    // Only once this part went all the way to the upstream and back does the next one go out.
    const through = await until(() => seen.echoReceived >= (i + 1) * part && received >= (i + 1) * part, 10_000);
    t.ok(through, `part ${i + 1}/${parts} reached the upstream and came back before the request ended`);
    if (!through) break;
  }
  req.end();
  await done;
  t.equal(received, part * parts, '4 MiB in all');
  t.equal(hash.digest('hex'), sent.digest('hex'), 'intact');
});

t.test('response bodies are streamed, not buffered: the client gets the first part before the upstream sends the rest', async (t) => {
  const size = 4 * 1024 * 1024;
  const req = open('GET', `/source?bytes=${size}`);
  req.end();
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    setTimeout(() => reject(new Error('no response headers within 10 s')), 10_000);
  });
  t.equal(res.headers['content-length'], String(size), 'Content-Length passes through');
  let got = 0;
  const chunks: Buffer[] = [];
  const ended = new Promise((r) => res.on('end', r));
  res.on('data', (c: Buffer) => {
    got += c.length;
    chunks.push(c);
  });
  t.ok(await until(() => got >= 256 * 1024, 10_000), 'the first 256 KiB arrived while the upstream holds back the rest');
  t.equal(got, 256 * 1024, 'and nothing more yet');
  gates.get('source')!();
  await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the response did not end within 10 s')), 10_000))]);
  t.ok(Buffer.concat(chunks).equals(deterministicBytes(size, 7)), '4 MiB intact');
});

t.test('status and headers pass through; CORS added; hop-by-hop headers dropped', async (t) => {
  seen.headers.length = 0;
  const r = await sendChunked('POST', '/headers', {
    'content-type': 'application/json',
    authorization: 'Bearer tok',
    'x-request-id': 'req-1',
    'x-custom-req': 'yes',
    'x-latin': 'caf\u00e9',
    'proxy-authorization': 'Basic cHJveHk6cGFzcw==',
    te: 'trailers',
    'keep-alive': 'timeout=321',
    trailer: 'x-req-checksum',
  }, '{"a":1}');
  t.equal(r.status, 201, 'status');
  t.same(JSON.parse(r.body.toString()), { made: true });
  t.equal(r.headers['x-custom'], 'kept');
  t.equal(r.headers['x-latin-answer'], 'caf\u00e9', 'and back');
  t.same(r.headers['set-cookie'], ['a=1', 'b=2'], 'repeated headers stay separate');
  t.equal(r.headers['content-type'], 'application/json');
  hasCors(t, r.headers, 'response');
  t.notMatch(String(r.headers['keep-alive'] ?? ''), /999/, "the upstream's Keep-Alive is not passed on");
  t.notOk(r.headers['proxy-authenticate'], 'no Proxy-Authenticate');
  t.notOk(r.headers['trailer'], 'no Trailer');
  t.notOk(r.headers['upgrade'], 'no Upgrade');

  const h = seen.headers[0]!;
  t.equal(h.authorization, 'Bearer tok', 'Authorization reaches the upstream');
  t.equal(h['x-request-id'], 'req-1');
  t.equal(h['x-custom-req'], 'yes');
  t.equal(h['x-latin'], 'caf\u00e9', 'a header byte above 0x7f arrives as it was sent');
  t.equal(h['content-type'], 'application/json');
  t.match(h.host, /^127\.0\.0\.1:\d+$/, 'Host is the one the client used');
  t.notOk(h['proxy-authorization'], 'no Proxy-Authorization upstream');
  t.notOk(h.te, 'no TE upstream');
  t.notMatch(String(h['keep-alive'] ?? ''), /321/, "the client's Keep-Alive is not passed on");
  t.notOk(h.trailer, 'no Trailer upstream');

  for (const code of [200, 400, 404, 418, 500, 503]) {
    const s = await send('GET', `/status?code=${code}`);
    t.equal(s.status, code, `status ${code}`);
    t.same(JSON.parse(s.body.toString()), { errcode: 'M_NOT_FOUND', error: 'nothing', code });
    hasCors(t, s.headers, `status ${code}`);
  }
  const head = await send('HEAD', '/status?code=200');
  t.equal(head.status, 200, 'HEAD');
  t.equal(head.body.length, 0);
});

t.test('a long-poll answered after 1.5 s reaches the client', async (t) => {
  const started = Date.now();
  const r = await send('GET', '/sync?timeout=30000');
  t.equal(r.status, 200);
  t.same(JSON.parse(r.body.toString()), { next_batch: 's42' });
  t.ok(Date.now() - started >= 1400, 'it was held open until the upstream answered');
  hasCors(t, r.headers, 'long-poll');
});

t.test('a client that disconnects makes the upstream see its request aborted', async (t) => {
  seen.aborted.length = 0;
  const before = seen.requests;
  const get = open('GET', '/hang');
  get.on('error', () => {});
  get.end();
  t.ok(await until(() => seen.requests > before, 5000), 'the request reached the upstream');
  get.destroy();
  t.ok(await until(() => seen.aborted.includes('/hang'), 5000), 'waiting for an answer: the upstream sees the request go away');

  seen.aborted.length = 0;
  const post = open('POST', '/hang', { 'content-type': 'application/octet-stream' });
  post.on('error', () => {});
  post.write(Buffer.alloc(64 * 1024, 2));
  t.ok(await until(() => seen.requests > before + 1, 5000), 'the upload reached the upstream');
  post.destroy();
  t.ok(await until(() => seen.aborted.includes('/hang'), 5000), 'mid-upload: the upstream sees the request go away');

  seen.aborted.length = 0;
  const poll = open('GET', '/sync');
  poll.on('error', () => {});
  poll.end();
  await new Promise((r) => setTimeout(r, 300));
  poll.destroy();
  t.ok(await until(() => seen.aborted.includes('/sync'), 5000), 'a long-poll the client gave up on is cancelled upstream');
});

t.test('an upstream that dies mid-response: the client sees the response cut short', async (t) => {
  const req = open('GET', '/truncated');
  req.end();
  const outcome = await new Promise<string>((resolve) => {
    req.on('error', (e) => resolve(`request error ${(e as NodeJS.ErrnoException).code}`));
    req.on('response', (res) => {
      let got = 0;
      res.on('data', (c: Buffer) => (got += c.length));
      res.on('end', () => resolve(`end after ${got}`));
      res.on('aborted', () => resolve('aborted'));
      res.on('error', () => resolve('aborted'));
    });
    setTimeout(() => resolve('hung'), 10_000);
  });
  t.equal(outcome, 'aborted', 'the client sees an aborted response, neither a clean end nor a hang');
});

t.test('a missing socket: 503 with a Matrix error, Retry-After and CORS', async (t) => {
  for (const [method, body] of [
    ['GET', undefined],
    ['POST', '{"a":1}'],
    ['PUT', Buffer.alloc(200_000, 3)],
  ] as const) {
    const r = await send(method, '/missing/_matrix/media/v3/upload', body ? { 'content-type': 'application/json' } : {}, body);
    t.equal(r.status, 503, `${method}: 503`);
    const json = JSON.parse(r.body.toString());
    t.equal(json.errcode, 'M_UNKNOWN', `${method}: errcode`);
    t.type(json.error, 'string');
    t.match(json.error, /mediaapi/, 'names the component');
    t.equal(json.retry_after_ms, 1000);
    t.equal(r.headers['retry-after'], '1', `${method}: Retry-After`);
    t.match(r.headers['content-type'], /^application\/json/);
    hasCors(t, r.headers, method);
  }
});

t.test('a bodiless request waits briefly for a component that is starting', async (t) => {
  const late = join(dir, 'late.sock');
  const lateServer = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"late":true}');
  });
  t.teardown(() => {
    lateServer.closeAllConnections();
    lateServer.close();
  });
  const timer = setTimeout(() => lateServer.listen(late), 500);
  t.teardown(() => clearTimeout(timer));
  const lateFront = createServer((req, res) => proxy.forward(req, res, late, 'syncapi'));
  await new Promise<void>((r) => lateFront.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    lateFront.closeAllConnections();
    lateFront.close();
  });
  const r = await new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: (lateFront.address() as AddressInfo).port, path: '/sync', agent: false });
    reply(req).then(resolve, reject);
    req.end();
  });
  t.equal(r.status, 200, 'served once the socket appeared');
  t.same(JSON.parse(r.body.toString()), { late: true });
});

t.test('a kept-alive upstream connection dropped unread: a bodiless request is retried once; an upload is not', async (t) => {
  const warm = await send('GET', '/status?code=200');
  t.equal(warm.status, 200, 'a first request leaves a kept-alive upstream connection');
  dropNextReused = true;
  const r = await send('GET', '/status?code=200');
  t.equal(r.status, 200, 'the GET was retried on a new connection');
  t.notOk(dropNextReused, 'the first attempt was dropped');

  await send('GET', '/status?code=200');
  dropNextReused = true;
  const before = seen.requests;
  const post = await send('POST', '/sink', { 'content-type': 'application/octet-stream' }, Buffer.alloc(10_000));
  t.equal(post.status, 503, 'a request whose body was already streamed is not replayed');
  t.equal(seen.requests - before, 1, 'the upstream saw it once');
});

t.test('a POST with no body at all (no length, not chunked) reaches the upstream as an empty body', async (t) => {
  const { socket, text } = rawClient(t);
  socket.write('POST /sink HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
  t.ok(await until(() => /\r\n\r\n[\s\S]*\}/.test(text()), 10_000), 'answered');
  t.match(text(), /^HTTP\/1\.1 200 /);
  t.match(text(), /"bytes":0/, 'the upstream read an empty body and answered');
});

t.test('HEAD: the length of the body that GET would send, and no body', async (t) => {
  const { socket, text } = rawClient(t);
  gates.delete('source');
  socket.write(`HEAD /source?bytes=1000 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
  // The upstream holds back the end of its answer until told.
  t.ok(await until(() => gates.has('source'), 10_000), 'the upstream has the request');
  gates.get('source')!();
  t.ok(await until(() => text().includes('\r\n\r\n'), 10_000), 'a head came back');
  // Then a GET on the same connection: the HEAD's answer had no body, or this one would be misread.
  socket.write('GET /status?code=200 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
  t.ok(await until(() => /"code":200/.test(text()), 10_000), 'the next answer on the connection is whole');
  t.match(text(), /^HTTP\/1\.1 200 [^]*content-length: 1000\r\n/i, 'the GET length');
  t.equal(text().split('HTTP/1.1 ').length - 1, 2, 'two answers, nothing between them');
});

t.test('a connection paused for a slow client is read again when it serves the next request', async (t) => {
  // One kept-alive client connection, so that both requests take the same upstream connection in turn.
  const socket = connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  const size = 4 * 1024 * 1024;
  gates.delete('source');
  socket.write(`GET /source?bytes=${size} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
  // The client reads nothing for a while: the proxy's writes to it back up and it pauses the upstream.
  socket.pause();
  t.ok(await until(() => gates.has('source'), 10_000), 'the upstream has the request');
  gates.get('source')!();
  await new Promise((r) => setTimeout(r, 500));
  let text = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => (text = Buffer.concat([text, c])));
  socket.resume();
  t.ok(await until(() => text.length >= size, 10_000), 'the whole download arrives once the client reads');
  socket.write('GET /status?code=200 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
  t.ok(await until(() => text.includes('"code":200'), 10_000), 'the next request on the connection is answered');
});

t.test('an upstream that answers before the whole body went up: its connection does not carry the next request', async (t) => {
  const req = open('POST', '/early', { 'content-type': 'application/octet-stream', 'content-length': 200_000 });
  const answer = reply(req);
  req.write(Buffer.alloc(1000, 5));
  const early = await Promise.race([answer, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
  t.same(early && JSON.parse(early.body.toString()), { early: true }, 'answered before the body ended');
  req.end(Buffer.alloc(199_000, 5));
  // Most likely to take the pooled upstream connection if it had been kept: the next request, at once.
  for (let i = 0; i < 3; i++) {
    const r = await send('GET', '/status?code=200');
    t.equal(r.status, 200, `request ${i + 1} after it is answered whole`);
  }
});

t.test('an answer head node:http will not write: the client is cut off, the proxy carries on', async (t) => {
  const rawSock = join(dir, 'raw.sock');
  const raw = createNetServer((s) => {
    s.on('data', () => s.write('HTTP/1.1 200 OK\r\nBad Name: x\r\ncontent-length: 2\r\n\r\n{}'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => raw.listen(rawSock, r));
  t.teardown(() => raw.close());
  const rawFront = createServer((req, res) => proxy.forward(req, res, rawSock, 'mediaapi'));
  await new Promise<void>((r) => rawFront.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    rawFront.closeAllConnections();
    rawFront.close();
  });
  const outcome = await new Promise<string>((resolve) => {
    const req = request({ host: '127.0.0.1', port: (rawFront.address() as AddressInfo).port, path: '/x', agent: false }, (res) => resolve(`status ${res.statusCode}`));
    req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
    req.end();
  });
  t.equal(outcome, 'error ECONNRESET', 'the client sees its connection cut');
  const after = await send('GET', '/status?code=200');
  t.equal(after.status, 200, 'the proxy still serves');
});
