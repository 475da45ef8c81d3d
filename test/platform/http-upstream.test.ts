/**
 * ConnectionPool and UpstreamConnection against a real node:http server on
 * a Unix socket: which connection a request gets (the last one freed, a new
 * one after idling too long or after the server closed it, the next one
 * freed at the limit), and the answer it reads. That idle connections do
 * not hold the process open is in ipc-socket.test.ts.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { ConnectionPool, type UpstreamConnection } from '../../src/platform/http/upstream.js';
import { tempDir, until } from '../fixtures/ipc/harness.js';

async function server(t: Test, keepAliveTimeout = 65_000): Promise<{ path: string; connections: () => number }> {
  const path = join(tempDir(t), 'up.sock');
  let connections = 0;
  const s: Server = createServer({ keepAliveTimeout }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ url: req.url, socket: (req.socket as unknown as { n?: number }).n });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  s.on('connection', (sock) => ((sock as unknown as { n: number }).n = ++connections));
  await new Promise<void>((r) => s.listen(path, r));
  t.teardown(() => {
    s.closeAllConnections();
    s.close();
  });
  return { path, connections: () => connections };
}

/** One GET on a connection from the pool: the server's answer and which of its connections served it. */
function get(pool: ConnectionPool, url: string): Promise<{ url: string; socket: number; conn: UpstreamConnection }> {
  return new Promise((resolve, reject) => {
    pool.take((c) => {
      const parts: Buffer[] = [];
      c.begin({
        head: () => {},
        data: (d) => parts.push(d),
        end: () => {
          pool.release(c);
          resolve({ ...JSON.parse(Buffer.concat(parts).toString()), conn: c });
        },
        failed: (code, message) => reject(new Error(`${code}: ${message}`)),
      });
      c.write(`GET ${url} HTTP/1.1\r\nhost: x\r\n\r\n`);
    });
  });
}

t.test('the connection freed last is reused; one idle too long is not', async (t) => {
  const { path, connections } = await server(t);
  const pool = new ConnectionPool(path, { max: 8, maxIdle: 4, idleMs: 300 });
  t.teardown(() => pool.close());
  const a = await get(pool, '/a');
  const b = await get(pool, '/b');
  t.equal(b.socket, a.socket, 'the kept-alive connection serves the next request');
  t.equal(connections(), 1);
  const [c, d] = await Promise.all([get(pool, '/c'), get(pool, '/d')]);
  t.not(c.socket, d.socket, 'two at once: two connections');
  t.equal(connections(), 2);
  const e = await get(pool, '/e');
  t.equal(e.socket, d.socket, 'the one freed last comes first');
  await new Promise((r) => setTimeout(r, 500));
  const f = await get(pool, '/f');
  t.equal(f.url, '/f');
  t.equal(connections(), 3, 'after idling past idleMs, a new connection');
  t.ok(e.conn.closed && c.conn.closed, 'and the stale ones it met are closed');
});

t.test('a connection the server closed while idle is passed over, not used', async (t) => {
  const { path, connections } = await server(t, 100);
  const pool = new ConnectionPool(path, { max: 8, maxIdle: 4 });
  t.teardown(() => pool.close());
  const a = await get(pool, '/a');
  // node:http adds a second to the timeout it was given.
  t.ok(await until(() => a.conn.closed, 5000), "the server's keep-alive timeout closed it");
  const b = await get(pool, '/b');
  t.equal(b.url, '/b', 'the next request is answered');
  t.equal(connections(), 2, 'on a new connection');
});

t.test('at the limit, a request waits for the next connection freed', async (t) => {
  const { path, connections } = await server(t);
  const pool = new ConnectionPool(path, { max: 2, maxIdle: 2 });
  t.teardown(() => pool.close());
  const all = await Promise.all(['/1', '/2', '/3', '/4', '/5'].map((u) => get(pool, u)));
  t.same(
    all.map((r) => r.url),
    ['/1', '/2', '/3', '/4', '/5'],
    'all answered',
  );
  t.equal(connections(), 2, 'on two connections');
});
