/**
 * ResponseReader and ResponseParser: HTTP/1.1 answers read off a byte
 * stream, fed whole, byte by byte and in odd pieces, as real servers write
 * them (node:http's server among them), whole or streamed.
 */
import t from 'tap';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { MalformedAnswer, ResponseParser, ResponseReader, type HttpAnswer } from '../../src/platform/http/response-reader.js';

/** Feeds `bytes` in pieces of `size` and returns every answer completed, with the interim statuses seen. */
function feed(bytes: Buffer | string, size: number, reader?: ResponseReader): { answers: HttpAnswer[]; interim: number[]; reader: ResponseReader } {
  const interim: number[] = [];
  const r = reader ?? new ResponseReader((s) => interim.push(s));
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  const answers: HttpAnswer[] = [];
  for (let i = 0; i < buf.length; i += size) {
    const a = r.push(buf.subarray(i, i + size));
    if (a) answers.push(a);
  }
  return { answers, interim, reader: r };
}

const PIECES = [1, 2, 3, 7, 1 << 20];

t.test('a body by content-length, in any pieces, multi-byte text split anywhere', async (t) => {
  const body = '{"r":"ünïcødé 😀"}';
  const wire = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  for (const size of PIECES) {
    const { answers, reader } = feed(wire, size);
    t.equal(answers.length, 1, `pieces of ${size}: one answer`);
    t.equal(answers[0]!.status, 200);
    t.equal(answers[0]!.body.toString('utf8'), body, `pieces of ${size}: the body`);
    t.equal(answers[0]!.headers.get('content-type'), 'application/json', 'header names in lower case');
    t.equal(answers[0]!.close, false, 'kept alive');
    t.equal(reader.pending, 0, 'nothing left over');
  }
});

t.test('chunked coding, with chunk extensions and trailers', async (t) => {
  const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n';
  for (const size of PIECES) {
    const { answers } = feed(wire, size);
    t.equal(answers.length, 1, `pieces of ${size}`);
    t.equal(answers[0]!.body.toString(), 'hello 0123456789');
  }
  const empty = feed('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 3).answers;
  t.equal(empty[0]!.body.length, 0, 'an empty chunked body');
});

t.test('interim answers are reported and passed over; the final one follows', async (t) => {
  const wire = 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}';
  for (const size of PIECES) {
    const { answers, interim } = feed(wire, size);
    t.same(interim, [102, 103], `pieces of ${size}: interim statuses`);
    t.equal(answers.length, 1);
    t.equal(answers[0]!.status, 500);
  }
  // The interim answer is reported as soon as it is whole, before the final one begins.
  const seen: number[] = [];
  const r = new ResponseReader((s) => seen.push(s));
  t.equal(r.push(Buffer.from('HTTP/1.1 102 Processing\r\n\r\n')), undefined);
  t.same(seen, [102]);
});

t.test('answers one after another on one connection', async (t) => {
  const one = (s: string) => `HTTP/1.1 200 OK\r\ncontent-length: ${s.length}\r\n\r\n${s}`;
  const r = new ResponseReader();
  t.equal(r.push(Buffer.from(one('first') + one('sec').slice(0, 10)))?.body.toString(), 'first');
  t.equal(r.pending, 10, 'the start of the next answer stays buffered');
  t.equal(r.push(Buffer.from(one('sec').slice(10)))?.body.toString(), 'sec');
  t.equal(r.pending, 0);
});

t.test('no body: 204 and 304; a body up to the end of the connection; connection: close', async (t) => {
  for (const status of [204, 304]) {
    const a = feed(`HTTP/1.1 ${status} X\r\nETag: "a"\r\n\r\n`, 4).answers[0]!;
    t.equal(a.status, status);
    t.equal(a.body.length, 0, `${status}: complete without a body`);
  }
  const { answers, reader } = feed('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nbad things', 5);
  t.equal(answers.length, 0, 'no length: the body runs on until the connection ends');
  const end = reader.end()!;
  t.equal(end.body.toString(), 'bad things');
  t.equal(end.close, true, 'and the connection is done');
  t.equal(feed('HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n', 100).answers[0]!.close, true, 'connection: close is heard');
  t.equal(new ResponseReader().end(), undefined, 'an end with no answer begun: nothing');
  const cut = new ResponseReader();
  cut.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
  t.equal(cut.end(), undefined, 'an end in the middle of a counted body: cut short, no answer');
});

t.test('what is not an HTTP/1.1 answer throws MalformedAnswer', async (t) => {
  const bad: [string, RegExp][] = [
    ['SSH-2.0-OpenSSH\r\n\r\n', /status line/],
    ['HTTP/2 200\r\n\r\n', /status line/],
    ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /header line/],
    ['HTTP/1.1 200 OK\r\ncontent-length: 12x\r\n\r\n', /content-length/],
    ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', /content-length/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
    ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', /upgrade/],
  ];
  for (const [wire, message] of bad) t.throws(() => new ResponseReader().push(Buffer.from(wire)), message, JSON.stringify(wire.slice(0, 30)));
  const long = () => new ResponseReader().push(Buffer.from(`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(70_000)}`));
  t.throws(long, /head too long/, 'a head that never ends');
  let thrown: unknown;
  try {
    long();
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof MalformedAnswer, 'as a MalformedAnswer');
});

t.test("node:http's server, over a real connection: a counted body, a chunked one, and 102 first", async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/chunked') {
      res.write('part one, ');
      setTimeout(() => res.end('part two'), 5);
    } else if (req.url === '/processing') {
      res.writeProcessing();
      setTimeout(() => res.end('done'), 5);
    } else {
      res.setHeader('content-length', 5);
      res.end('whole');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const socket = connect({ port, host: '127.0.0.1' });
  t.teardown(() => socket.destroy());
  const interim: number[] = [];
  const reader = new ResponseReader((s) => interim.push(s));
  let next: ((a: HttpAnswer) => void) | undefined;
  socket.on('data', (c: Buffer) => {
    const a = reader.push(c);
    if (a) next?.(a);
  });
  const get = (path: string) =>
    new Promise<HttpAnswer>((resolve) => {
      next = resolve;
      socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
    });
  t.equal((await get('/whole')).body.toString(), 'whole');
  const chunked = await get('/chunked');
  t.equal(chunked.headers.get('transfer-encoding'), 'chunked');
  t.equal(chunked.body.toString(), 'part one, part two');
  const processed = await get('/processing');
  t.same(interim, [102]);
  t.equal(processed.body.toString(), 'done');
  t.equal(reader.pending, 0);
});

t.test('ResponseParser streams: the head, each piece of the body as it comes, then the end', async (t) => {
  const events: string[] = [];
  const p = new ResponseParser({
    head: (h) => events.push(`head ${h.status} ${h.statusText} ${JSON.stringify(h.rawHeaders)}`),
    data: (c) => events.push(`data ${c.toString()}`),
    end: (close) => events.push(`end${close ? ' close' : ''}`),
  });
  p.push(Buffer.from('HTTP/1.1 201 Made It\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 10\r\n\r\nabc'));
  t.same(events, ['head 201 Made It ["Set-Cookie","a=1","Set-Cookie","b=2","Content-Length","10"]', 'data abc'], 'the head and the first bytes, before the rest arrived');
  t.ok(p.inBody);
  p.push(Buffer.from('defghij'));
  t.same(events.slice(2), ['data defghij', 'end']);
  t.notOk(p.inBody);

  // A HEAD's answer has no body, whatever its length says; the next answer follows directly.
  events.length = 0;
  p.expectHead(true);
  p.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n'));
  t.same(events, ['head 200 OK ["content-length","1000"]', 'end'], 'HEAD: no body');
  events.length = 0;
  p.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
  t.same(events, ['head 200 OK ["content-length","2"]', 'data ok', 'end'], 'the next request is not HEAD unless told');

  // A body up to the end of the connection: finish() completes it; a counted one cut short is not complete.
  events.length = 0;
  p.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\nto the end'));
  t.ok(p.finish(), 'the connection ending completes it');
  t.same(events, ['head 200 OK []', 'data to the end', 'end close']);
  const q = new ResponseParser({ head: () => {}, data: () => {}, end: () => t.fail('not complete') });
  q.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab'));
  t.notOk(q.finish(), 'cut short');
  t.notOk(new ResponseParser({ head: () => {}, data: () => {}, end: () => {} }).finish(), 'nothing begun: nothing completed');
});
