/**
 * A process's socket as the host serves it (createProcessSocket): internal
 * calls on connections of their own, read and answered by hand, and every
 * other connection handed to node:http. Raw bytes on a real Unix socket:
 * calls whole, in pieces and back to back; what is not a call as
 * SocketClient sends it; a caller that hangs up mid-call.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { IpcServer } from '../../src/platform/ipc/server.js';
import { createProcessSocket } from '../../src/platform/ipc/socket.js';
import { ResponseReader, type HttpAnswer } from '../../src/platform/http/response-reader.js';
import { createTestImpl, testApi } from '../fixtures/ipc/api.js';
import { tempDir, until } from '../fixtures/ipc/harness.js';

async function callee(t: Test, firstBytesMs?: number) {
  const dir = tempDir(t);
  const path = join(dir, 'callee.sock');
  const ipc = new IpcServer();
  const impl = createTestImpl({ stateDir: dir });
  ipc.register(testApi, impl);
  const http = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': 'node:http' });
    res.end(`${req.method} ${req.url}`);
  });
  const { server, closeAllConnections } = createProcessSocket(ipc, http, firstBytesMs ? { firstBytesMs } : {});
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => {
    closeAllConnections();
    server.close();
  });
  return { path, impl };
}

/** A raw connection: write bytes, collect the answers (interim ones by status) and whether it closed. */
async function rawConnection(t: Test, path: string) {
  const socket: Socket = connect(path);
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  const answers: HttpAnswer[] = [];
  const interim: number[] = [];
  const reader = new ResponseReader((s) => interim.push(s));
  let closed = false;
  socket.on('data', (c: Buffer) => {
    for (let a = reader.push(c); a; a = reader.push(Buffer.alloc(0))) answers.push(a);
  });
  socket.on('end', () => {
    const a = reader.end();
    if (a) answers.push(a);
  });
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  return { socket, answers, interim, closed: () => closed };
}

const call = (method: string, body: string, extra = '') =>
  `POST /_internal/roomserver/test/${method} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

const json = (a: HttpAnswer | undefined) => (a ? JSON.parse(a.body.toString('utf8')) : undefined);

t.test('calls whole, byte by byte, and back to back on one connection', async (t) => {
  const { path } = await callee(t);
  const c = await rawConnection(t, path);
  c.socket.write(call('echo', '{"n":1}'));
  t.ok(await until(() => c.answers.length === 1, 5000));
  t.equal(c.answers[0]!.status, 200);
  t.same(json(c.answers[0]), { r: { n: 1 } }, 'the result');

  const bytes = Buffer.from(call('echo', '{"text":"ünïcødé"}'));
  for (const b of bytes) {
    c.socket.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
  t.ok(await until(() => c.answers.length === 2, 5000));
  t.same(json(c.answers[1]), { r: { text: 'ünïcødé' } }, 'a call written one byte at a time');

  c.socket.write(call('echo', '"first"') + call('increment', '{}') + call('echo', '"third"'));
  t.ok(await until(() => c.answers.length === 5, 5000));
  t.same(c.answers.slice(2).map(json), [{ r: 'first' }, { r: 1 }, { r: 'third' }], 'three at once: answered in order');
  t.same(c.interim, [102], 'the call that is not idempotent was told about (102) before it ran');
  t.notOk(c.closed(), 'the connection stays open');
});

t.test('refusals that leave the connection usable: unknown method, a body that is not JSON, a method that throws', async (t) => {
  const { path } = await callee(t);
  const c = await rawConnection(t, path);
  c.socket.write(call('nonesuch', '{}'));
  c.socket.write(call('echo', '{not json'));
  c.socket.write(call('fail', '{"kind":"matrix"}'));
  c.socket.write(call('echo', '"still here"'));
  t.ok(await until(() => c.answers.length === 4, 5000));
  t.equal(c.answers[0]!.status, 503);
  t.equal(json(c.answers[0]).error.type, 'unavailable', 'not served here (yet): the caller may retry');
  t.equal(c.answers[1]!.status, 400);
  t.match(json(c.answers[1]).error.message, /not JSON/);
  t.equal(c.answers[2]!.status, 500);
  t.match(json(c.answers[2]).error, { type: 'matrix', errcode: 'M_FORBIDDEN', status: 403 });
  t.same(json(c.answers[3]), { r: 'still here' });
  t.notOk(c.closed());
});

t.test('what is not a call as SocketClient sends one: an error, and the connection closed', async (t) => {
  const { path } = await callee(t);
  const cases: [string, number, RegExp][] = [
    ['POST /_internal/roomserver/test/echo HTTP/1.0\r\ncontent-length: 2\r\n\r\n{}', 400, /request line/],
    ['POST /_internal/roomserver/test/echo HTTP/1.1\r\nno colon\r\n\r\n', 400, /header/],
    ['POST /_internal/roomserver/test/echo HTTP/1.1\r\ncontent-length: 1x\r\n\r\n', 400, /content-length/],
    ['POST /_internal/roomserver/test/echo HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', 400, /content-length/],
    ['POST /_internal/roomserver/test/echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', 411, /content-length/],
    [`POST /_internal/roomserver/test/echo HTTP/1.1\r\ncontent-length: ${70 * 1024 * 1024}\r\n\r\n`, 413, /too large/],
    [`POST /_internal/roomserver/test/echo HTTP/1.1\r\nx: ${'a'.repeat(70_000)}`, 431, /too long/],
  ];
  for (const [bytes, status, message] of cases) {
    const c = await rawConnection(t, path);
    c.socket.write(bytes);
    t.ok(await until(() => c.answers.length === 1 && c.closed(), 5000), `${JSON.stringify(bytes.slice(0, 60))}: answered, then closed`);
    t.equal(c.answers[0]?.status, status);
    t.match(json(c.answers[0])?.error.message, message);
  }
});

t.test('a connection that does not open with an internal call is node:http\'s, even when it calls later', async (t) => {
  const { path } = await callee(t);
  const c = await rawConnection(t, path);
  c.socket.write('GET /_internal/health HTTP/1.1\r\nhost: x\r\n\r\n');
  t.ok(await until(() => c.answers.length === 1, 5000));
  t.equal(c.answers[0]!.headers.get('x-served-by'), 'node:http');
  t.equal(c.answers[0]!.body.toString(), 'GET /_internal/health');
  c.socket.write('PUT /_matrix/client/v3/x HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc');
  t.ok(await until(() => c.answers.length === 2, 5000));
  t.equal(c.answers[1]!.body.toString(), 'PUT /_matrix/client/v3/x', 'kept alive, still node:http');

  // A first packet shorter than the prefix: told apart once enough has come.
  const d = await rawConnection(t, path);
  d.socket.write('POS');
  await new Promise((r) => setTimeout(r, 50));
  d.socket.write(call('echo', '"late"').slice(3));
  t.ok(await until(() => d.answers.length === 1, 5000));
  t.same(json(d.answers[0]), { r: 'late' }, 'a call that arrived in pieces from its first byte');
  const e = await rawConnection(t, path);
  e.socket.write('PO');
  await new Promise((r) => setTimeout(r, 50));
  e.socket.write('ST /other HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n');
  t.ok(await until(() => e.answers.length === 1, 5000));
  t.equal(e.answers[0]!.body.toString(), 'POST /other', 'and a POST that is not a call goes to node:http');
});

t.test('a caller that hangs up mid-call aborts the call', async (t) => {
  const { path, impl } = await callee(t);
  const c = await rawConnection(t, path);
  c.socket.write(call('wait', '{"id":"w1","ms":10000}'));
  t.ok(await until(() => c.interim.length === 1, 5000), 'the call started');
  c.socket.destroy();
  const aborted = async () => {
    const s = await impl.state({ id: 'w1' });
    return s.started && s.aborted;
  };
  t.ok(await until(aborted, 5000), 'the callee saw its signal aborted');
});

t.test('a connection that stays silent is closed; one told apart is not timed out by it', async (t) => {
  const { path } = await callee(t, 300);
  const silent = await rawConnection(t, path);
  t.ok(await until(() => silent.closed(), 5000), 'closed after the first-bytes timeout');
  const busy = await rawConnection(t, path);
  busy.socket.write(call('echo', '1'));
  t.ok(await until(() => busy.answers.length === 1, 5000));
  await new Promise((r) => setTimeout(r, 600));
  t.notOk(busy.closed(), 'a call connection idle past it stays open');
  busy.socket.write(call('echo', '2'));
  t.ok(await until(() => busy.answers.length === 2, 5000));
  t.same(json(busy.answers[1]), { r: 2 });
});
