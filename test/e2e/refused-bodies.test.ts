/**
 * A body refused before it was read to the end (too large by its declared
 * length) gets its Matrix error, and then the server reads only a bounded
 * amount more and soon cuts the connection: a client declaring 8 GiB
 * cannot make the board read 8 GiB. A refused body that ends within the
 * bound leaves the connection open for the next request. In both process
 * arrangements (the gateway's proxy in split, fastify's error path in
 * monolith) and on the media upload route.
 */
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { LINGER_BYTES } from '../../src/platform/http/linger.js';
import { initServer, startServer } from '../helpers/server.js';

const C = '/_matrix/client/v3';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * Sends the headers declaring `declared` bytes, then writes as fast as the
 * connection takes, until the server closes it, or `giveUpAt` bytes went
 * out, or (unless `untilClosed`) the server has taken nothing for 1.5 s.
 */
function flood(port: number, head: string, declared: number, giveUpAt: number, untilClosed: boolean): Promise<{ status: number; body: string; sent: number; closedByServer: boolean; stalled: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    let sent = 0;
    let answer = '';
    let done = false;
    let stall: NodeJS.Timeout | undefined;
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const finish = (closedByServer: boolean, stalled = false) => {
      if (done) return;
      done = true;
      clearTimeout(stall);
      s.destroy();
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0);
      resolve({ status, body: answer.slice(answer.indexOf('\r\n\r\n') + 4), sent, closedByServer, stalled });
    };
    const pump = () => {
      clearTimeout(stall);
      while (!done) {
        if (sent >= giveUpAt) return finish(false);
        sent += chunk.length;
        if (!s.write(chunk)) {
          if (!untilClosed) stall = setTimeout(() => finish(false, true), 1500);
          return void s.once('drain', pump);
        }
      }
    };
    s.on('connect', () => {
      s.write(`${head}Content-Length: ${declared}\r\n\r\n`);
      pump();
    });
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
  });
}

/** A body over the limit that ends: the 413, then the same connection serves the next request. */
function overThenNext(port: number, path: string, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
      s.write(Buffer.alloc(size, 0x20));
      s.write('GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if ((text.match(/HTTP\/1\.1 /g) ?? []).length === 2 && /"versions"/.test(text)) {
        s.destroy();
        resolve(text);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(text));
  });
}

for (const mode of ['split', 'monolith'] as const) {
  t.test(`${mode}: refused bodies are not read without end`, { timeout: 120_000 }, async (t) => {
    const { dataDir, ports } = await initServer({ mode, tls: 'off', extra: ['--registration', 'open'] });
    const server = await startServer(dataDir, { clientPort: ports.client });
    t.teardown(() => server.kill());
    const reg = async () => {
      const call = (body: object) => fetch(`http://127.0.0.1:${ports.client}${C}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
      const first = await call({ username: 'alice', password: 'alice-password-1' });
      return call({ username: 'alice', password: 'alice-password-1', auth: { type: 'm.login.dummy', session: first.session } });
    };
    const alice = await reg();
    // What the server may read after the answer, and the kernel's socket buffers on both sides.
    const bound = LINGER_BYTES + 64 * MiB;

    const json = await flood(ports.client, `PUT ${C}/profile/${encodeURIComponent(alice.user_id)}/displayname HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.access_token}\r\nContent-Type: application/json\r\n`, 8 * GiB, 512 * MiB, true);
    t.equal(json.status, 413, 'a JSON body declared at 8 GiB is refused');
    t.match(JSON.parse(json.body), { errcode: 'M_TOO_LARGE' });
    t.ok(json.sent < bound, `the server took ${(json.sent / MiB).toFixed(0)} MiB, not the 8 GiB declared`);
    t.ok(json.closedByServer, 'and then closed the connection');

    const media = await flood(ports.client, `POST /_matrix/media/v3/upload?filename=big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.access_token}\r\nContent-Type: application/octet-stream\r\n`, 8 * GiB, 512 * MiB, false);
    t.equal(media.status, 413, 'an upload declared at 8 GiB is refused');
    t.match(JSON.parse(media.body), { errcode: 'M_TOO_LARGE' });
    t.ok((media.stalled || media.closedByServer) && media.sent < bound, `the server stopped taking the upload after ${(media.sent / MiB).toFixed(0)} MiB`);

    const both = await overThenNext(ports.client, `${C}/user/${encodeURIComponent(alice.user_id)}/filter`, 2 * MiB);
    t.match(both, /^HTTP\/1\.1 413 /, 'a 2 MiB body over the 1 MiB limit is refused');
    t.match(both, /HTTP\/1\.1 200 [^]*"versions"/, 'and, having ended, leaves the connection open for the next request');

    const versions = await fetch(`http://127.0.0.1:${ports.client}/_matrix/client/versions`);
    t.equal(versions.status, 200, 'the server still serves');
    t.equal((await server.stop()).code, 0);
  });
}
