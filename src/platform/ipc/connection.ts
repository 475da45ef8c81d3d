/**
 * Internal calls on a connection of their own, HTTP/1.1 read and answered
 * by hand: one call at a time, in order, each with a content-length (what
 * SocketClient sends). node:http's server cost the callee about 45 µs of
 * CPU more per call (an echo: 81–89 against 35–44 µs), and the Roomserver
 * answers two calls for every message in split (its sendEvent and the
 * SyncAPI's log read).
 *
 * What is not such a call gets an HTTP error and the connection is closed:
 * only our own callers connect here.
 */
import type { Socket } from 'node:net';
import { HEAD_END, MAX_HEAD, headerLine } from '../http/response-reader.js';
import { DEADLINE_HEADER } from './wire.js';
import { encodeAnswer, MAX_CALL_BODY, type CallReply, type IpcServer } from './server.js';

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 405: 'Method Not Allowed', 411: 'Length Required', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' };

interface Pending {
  method: string;
  path: string;
  deadline: string | undefined;
  length: number;
}

/** Serves the calls on `socket`, starting with the bytes already read from it. */
export function serveCalls(ipc: IpcServer, socket: Socket, first: Buffer): void {
  let buf = first;
  /** The head of a call whose body is still arriving. */
  let pending: Pending | undefined;
  let body: Buffer[] = [];
  let bodySize = 0;
  /** A call is running: the next is read once it is answered. */
  let busy = false;
  let closed = false;
  let abort: AbortController | undefined;

  const write = (text: string) => {
    if (!closed) socket.write(text);
  };
  const answer = (status: number, payload: unknown, close = false) => {
    const { status: s, text } = encodeAnswer(status, payload);
    write(`HTTP/1.1 ${s} ${REASONS[s] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${close ? 'connection: close\r\n' : ''}\r\n${text}`);
    if (close) {
      closed = true;
      socket.end();
    }
  };
  /** A request that is not an internal call as SocketClient sends it. */
  const refuse = (status: number, message: string) => answer(status, { error: { type: 'internal', message } }, true);

  /** Inside next()'s loop: a call answered at once (refused) lets the loop go on instead of entering it again. */
  let looping = false;
  const next = () => {
    if (looping) return;
    looping = true;
    try {
      loop();
    } finally {
      looping = false;
    }
  };
  const loop = () => {
    while (!busy && !closed) {
      if (!pending) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD) refuse(431, 'internal call head too long');
          return;
        }
        const lines = buf.toString('latin1', 0, end).split('\r\n');
        buf = buf.subarray(end + 4);
        const m = /^([A-Z]+) (\/\S*) HTTP\/1\.1$/.exec(lines[0]!);
        if (!m) return refuse(400, 'not an HTTP/1.1 request line');
        let length: number | undefined;
        let deadline: string | undefined;
        for (let i = 1; i < lines.length; i++) {
          const h = headerLine(lines[i]!);
          if (!h) return refuse(400, 'malformed header line');
          const name = h[0].toLowerCase();
          const value = h[1];
          if (name === 'content-length') {
            if (!/^\d{1,16}$/.test(value) || (length !== undefined && length !== Number(value))) return refuse(400, 'bad content-length');
            length = Number(value);
          } else if (name === 'transfer-encoding') return refuse(411, 'internal calls carry a content-length');
          else if (name === DEADLINE_HEADER) deadline = value;
        }
        if (length === undefined) length = 0;
        if (length > MAX_CALL_BODY) return refuse(413, 'internal call body too large');
        pending = { method: m[1]!, path: m[2]!.split('?')[0]!, deadline, length };
        body = [];
        bodySize = 0;
      }
      const p = pending;
      // The body, as far as it has come.
      if (bodySize < p.length && buf.length > 0) {
        const take = Math.min(p.length - bodySize, buf.length);
        body.push(buf.subarray(0, take));
        bodySize += take;
        buf = buf.subarray(take);
      }
      if (bodySize < p.length) return;
      pending = undefined;
      busy = true;
      const done = () => {
        busy = false;
        abort = undefined;
        // The next call, if it came already.
        next();
      };
      const reply: CallReply = {
        processing: () => write('HTTP/1.1 102 Processing\r\n\r\n'),
        send: (status, payload) => {
          answer(status, payload);
          done();
        },
      };
      if (ipc.refuse(p.method, p.path, reply)) continue;
      abort = new AbortController();
      ipc.run(p.path, body.length === 1 ? body[0]! : Buffer.concat(body), p.deadline, abort.signal, reply);
    }
  };

  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    next();
  });
  // The caller hung up (its deadline passed, a long-poll was cancelled): the running call is aborted.
  socket.on('close', () => {
    closed = true;
    abort?.abort();
  });
  socket.on('error', () => socket.destroy());
  socket.resume();
  next();
}
