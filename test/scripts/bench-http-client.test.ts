/**
 * The benchmarks' lean HTTP client (scripts/bench/http-client.ts) against a
 * real node:http server: answers by content-length and chunked, answers that
 * arrive in pieces, kept-alive connections reused, a closed one replaced.
 */
import { createServer, type Server } from 'node:http';
import t from 'tap';
import { BenchHttpClient } from '../../scripts/bench/http-client.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

t.test('content-length and chunked answers, bodies and headers as sent', async (t) => {
  const seen: { method: string; url: string; auth?: string; body: string }[] = [];
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      if (req.url === '/chunked') {
        // No content-length: node:http sends it chunked, in three writes.
        res.writeHead(201, { 'content-type': 'application/json' });
        res.write('{"parts":');
        setTimeout(() => {
          res.write('["é", ');
          res.end('"x".repeat(1)]}'.replace('"x".repeat(1)', `"${'x'.repeat(70_000)}"`));
        }, 5);
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        const out = JSON.stringify({ echo: body, big: 'y'.repeat(200_000) });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
      }
    });
  });
  const port = await listen(server);
  const client = new BenchHttpClient(port);
  t.teardown(() => {
    client.close();
    server.close();
  });

  const a = await client.request('PUT', '/echo?x=1', 'tok', { msg: 'héllo' });
  t.equal(a.status, 200);
  t.same(JSON.parse(a.text).echo, '{"msg":"héllo"}');
  t.equal(JSON.parse(a.text).big.length, 200_000);
  t.same(seen[0], { method: 'PUT', url: '/echo?x=1', auth: 'Bearer tok', body: '{"msg":"héllo"}' });

  const b = await client.request('GET', '/chunked');
  t.equal(b.status, 201);
  const parsed = JSON.parse(b.text);
  t.equal(parsed.parts[0], 'é');
  t.equal(parsed.parts[1].length, 70_000);
  t.equal(seen[1]!.auth, undefined);

  const c = await client.request('DELETE', '/empty');
  t.same(c, { status: 204, text: '' });

  // One request at a time: all of it on the one connection.
  t.equal(sockets.size, 1);
  // Concurrent requests each get a connection of their own, and their own answer.
  const many = await Promise.all(Array.from({ length: 5 }, (_, i) => client.request('POST', '/echo', undefined, { i })));
  t.same(many.map((m) => JSON.parse(JSON.parse(m.text).echo).i), [0, 1, 2, 3, 4]);
  t.equal(sockets.size, 5);
});

t.test('a connection the server closed fails its request and is not used again', async (t) => {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    if (n === 2) return req.socket.destroy();
    res.writeHead(200, { 'content-length': 2 }).end('{}');
  });
  const port = await listen(server);
  const client = new BenchHttpClient(port);
  t.teardown(() => {
    client.close();
    server.close();
  });
  t.same(await client.request('GET', '/a'), { status: 200, text: '{}' });
  await t.rejects(client.request('GET', '/b'), /closed before the answer/);
  t.same(await client.request('GET', '/c'), { status: 200, text: '{}' });
});

t.test('a refused connection rejects', async (t) => {
  // A port that was just free: nothing listens on it.
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((r) => probe.close(r));
  const client = new BenchHttpClient(port);
  t.teardown(() => client.close());
  await t.rejects(client.request('GET', '/'), /ECONNREFUSED/);
});
