/**
 * The benchmarks' HTTP/1.1 client: kept-alive TCP connections, one request
 * at a time on each, the request written as one string and the answer read
 * by content-length or chunked transfer coding. It does what a load
 * generator such as wrk does, and no more, so that the client's own work
 * stays out of the figures: on the 2-core machine node:http's client spent
 * 180–250 µs of CPU per request, on the same core budget as the server it
 * measures (this one spends about a fifth of that). Answers are read by the
 * server's own ResponseReader, which the internal calls use too.
 */
import { connect, type Socket } from 'node:net';
import { ResponseReader, type HttpAnswer as RawAnswer } from '../../src/platform/http/response-reader.js';

export interface HttpAnswer {
  status: number;
  text: string;
}

class Connection {
  private readonly socket: Socket;
  private readonly reader = new ResponseReader();
  private waiting: { resolve: (a: HttpAnswer) => void; reject: (e: Error) => void } | undefined;
  closed = false;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    const answer = (a: RawAnswer | undefined) => {
      const w = this.waiting;
      if (!a || !w) return;
      this.waiting = undefined;
      if (a.close) this.close();
      w.resolve({ status: a.status, text: a.body.toString('utf8') });
    };
    this.socket.on('data', (chunk: Buffer) => {
      if (!this.waiting) return;
      try {
        answer(this.reader.push(chunk));
      } catch (e) {
        fail(e as Error);
      }
    });
    // An answer without a length ends with the connection.
    this.socket.on('end', () => answer(this.reader.end()));
    const fail = (e: Error) => {
      this.close();
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
