/**
 * Kept-alive HTTP/1.1 connections to another process's Unix socket, one
 * request at a time on each, with the request written by the caller and the
 * answer read by ResponseParser: what the internal calls (ipc/client.ts) and
 * the gateway's proxy use instead of node:http's client and Agent, which
 * cost each hop about 100 µs of CPU more.
 */
import { connect, type Socket } from 'node:net';
import { ResponseParser, type AnswerEvents } from './response-reader.js';

/** What a connection reports about the exchange on it. */
export interface Exchange extends AnswerEvents {
  /**
   * The connection failed or closed before the answer ended. `code` as
   * node:net gives it; a close without an error is ECONNRESET, and bytes
   * that are not an HTTP answer are EPROTO.
   */
  failed(code: string, message: string): void;
}

export class UpstreamConnection {
  private readonly socket: Socket;
  private readonly parser: ResponseParser;
  private exchange: Exchange | undefined;
  /** Has completed an exchange before: a close before any answer then means the callee dropped it while idle. */
  reused = false;
  connected = false;
  closed = false;
  /** Bytes of the current answer have arrived. */
  answering = false;
  private gone = false;

  constructor(
    path: string,
    private readonly onGone: (c: UpstreamConnection) => void,
  ) {
    this.parser = new ResponseParser({
      interim: (s) => this.exchange?.interim?.(s),
      head: (h) => this.exchange?.head(h),
      data: (c) => this.exchange?.data(c),
      end: (close) => {
        const x = this.exchange!;
        this.exchange = undefined;
        this.reused = true;
        if (close || this.parser.pending > 0) this.destroy();
        x.end(close);
      },
    });
    this.socket = connect(path);
    this.socket.once('connect', () => (this.connected = true));
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('drain', () => this.onDrain?.());
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? 'EIO', e.message));
    this.socket.on('end', () => {
      // An answer whose body runs to the end of the connection ends here.
      if (this.exchange && this.parser.finish()) return;
      this.fail('ECONNRESET', 'the callee closed the connection');
    });
    this.socket.on('close', () => this.fail('ECONNRESET', 'the connection closed'));
  }

  /** Called when what was written has drained (after a write returned false). */
  onDrain: (() => void) | undefined;

  /** Starts an exchange: the caller then writes the request. `head`: it is a HEAD request. */
  begin(exchange: Exchange, head = false): void {
    this.exchange = exchange;
    this.answering = false;
    this.onDrain = undefined;
    this.parser.expectHead(head);
    this.socket.ref();
    // A caller that paused the previous answer (a slow reader downstream) may not have resumed it.
    this.socket.resume();
  }

  /** False when the socket's buffer is full: wait for onDrain. */
  write(data: string | Buffer, encoding: BufferEncoding = 'utf8'): boolean {
    return typeof data === 'string' ? this.socket.write(data, encoding) : this.socket.write(data);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** When the connection was last parked idle. */
  parkedAt = 0;

  /** Kept for the next exchange without holding the process open. */
  park(): void {
    this.parkedAt = Date.now();
    this.socket.unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    // Nothing asked: bytes from the callee now are a protocol error; this connection is done.
    if (!this.exchange) return this.fail('EPROTO', 'unexpected bytes from the callee');
    this.answering = true;
    // Bytes that are not an answer, or an answer the caller's events threw on (a head node:http will not
    // write again): the connection fails, and with it the exchange, instead of the process.
    try {
      this.parser.push(chunk);
    } catch (e) {
      this.fail('EPROTO', (e as Error).message);
    }
  }

  private fail(code: string, message: string): void {
    const x = this.exchange;
    this.exchange = undefined;
    if (!this.closed) this.destroy();
    // 'error', 'end' and 'close' may all come: the pool hears of it once.
    if (!this.gone) {
      this.gone = true;
      this.onGone(this);
    }
    x?.failed(code, message);
  }
}

/**
 * The connections to one socket: the most recently used idle one first
 * (it is the likeliest to still be open), at most `max` open (calls beyond
 * wait for one), at most `maxIdle` kept idle, none reused after `idleMs`
 * idle: well before the server closes it (node:http's keepAliveTimeout,
 * 65 s in every Neurite process), so that a request never races that close
 * (a request with a body that loses the race cannot be sent again).
 */
export class ConnectionPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly open = new Set<UpstreamConnection>();
  private readonly queue: ((c: UpstreamConnection) => void)[] = [];

  constructor(
    readonly socketPath: string,
    private readonly limits: { max: number; maxIdle: number; idleMs?: number },
  ) {}

  /** Hands `grant` a free connection, a new one, or (at the limit) the next one freed. */
  take(grant: (c: UpstreamConnection) => void): void {
    const staleBefore = Date.now() - (this.limits.idleMs ?? 30_000);
    let c = this.idle.pop();
    while (c && (c.closed || c.parkedAt < staleBefore)) {
      c.destroy();
      c = this.idle.pop();
    }
    if (c) return grant(c);
    if (this.open.size < this.limits.max) {
      c = new UpstreamConnection(this.socketPath, (gone) => this.forget(gone));
      this.open.add(c);
      return grant(c);
    }
    this.queue.push(grant);
  }

  /** An exchange ended with the connection fit for another. */
  release(c: UpstreamConnection): void {
    if (c.closed) return;
    const next = this.queue.shift();
    if (next) return next(c);
    if (this.idle.length >= this.limits.maxIdle) return c.destroy();
    c.park();
    this.idle.push(c);
  }

  close(): void {
    for (const c of [...this.open]) c.destroy();
    this.open.clear();
    this.idle.length = 0;
    this.queue.length = 0;
  }

  private forget(c: UpstreamConnection): void {
    this.open.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A call waiting at the limit can have the place this one held.
    const next = this.queue.shift();
    if (next) this.take(next);
  }
}
