/**
 * The benchmarks' HTTP/1.1 client: kept-alive TCP connections, one request
 * at a time on each, the request written as one string and the answer read
 * by content-length or chunked transfer coding. It does what a load
 * generator such as wrk does, and no more, so that the client's own work
 * stays out of the figures: on the 2-core machine node:http's client spent
 * 180–250 µs of CPU per request, on the same core budget as the server it
 * measures (this one spends about a fifth of that).
 */
import { connect, type Socket } from 'node:net';

export interface HttpAnswer {
  status: number;
  text: string;
}

const CRLF2 = Buffer.from('\r\n\r\n');

class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: HttpAnswer) => void; reject: (e: Error) => void } | undefined;
  closed = false;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.parse();
    });
    const fail = (e: Error) => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(e);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed before the answer')));
  }

  request(head: string, body: string | undefined): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  /** Completes the waiting request once its whole answer is buffered. */
  private parse(): void {
    const end = this.buffered.indexOf(CRLF2);
    if (end < 0 || !this.waiting) return;
    const head = this.buffered.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let body: Buffer;
    let used: number;
    if (length) {
      used = end + 4 + Number(length[1]);
      if (this.buffered.length < used) return;
      body = this.buffered.subarray(end + 4, used);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const parts: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const line = this.buffered.indexOf('\r\n', at);
        if (line < 0) return;
        const size = parseInt(this.buffered.toString('latin1', at, line), 16);
        if (this.buffered.length < line + 2 + size + 2) return;
        if (size === 0) {
          used = line + 4;
          break;
        }
        parts.push(this.buffered.subarray(line + 2, line + 2 + size));
        at = line + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      used = end + 4;
      body = Buffer.alloc(0);
    }
    const w = this.waiting;
    this.waiting = undefined;
    const text = body.toString('utf8');
    this.buffered = this.buffered.subarray(used);
    w.resolve({ status, text });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** A pool of kept-alive connections to one port on the loopback address. */
export class BenchHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();

  constructor(
    private readonly port: number,
    private readonly host = '127.0.0.1',
  ) {}

  async request(method: string, path: string, token?: string, body?: unknown): Promise<HttpAnswer> {
    const data = body !== undefined ? JSON.stringify(body) : undefined;
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`;
    if (token) head += `authorization: Bearer ${token}\r\n`;
    head += data !== undefined ? `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(data)}\r\n\r\n` : '\r\n';
    let conn = this.idle.pop();
    while (conn?.closed) conn = this.idle.pop();
    if (!conn) {
      conn = new Connection(this.host, this.port);
      this.all.add(conn);
    }
    try {
      const answer = await conn.request(head, data);
      this.idle.push(conn);
      return answer;
    } catch (e) {
      conn.close();
      this.all.delete(conn);
      throw e;
    }
  }

  close(): void {
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
  }
}
