/**
 * Reads HTTP/1.1 answers off a byte stream, for the lean clients that write
 * their requests themselves: the internal calls' SocketClient, the
 * gateway's SocketProxy and the benchmarks' client. node:http's client
 * costs about 100 µs of CPU more per request than writing a request as one
 * string and reading the answer here, and every hop on a message's path
 * paid it.
 *
 * ResponseParser streams: the head, then the body's bytes as they come, then
 * the end. ResponseReader collects a whole answer. Both know what these
 * clients need: interim (1xx) answers, bodies by content-length, chunked
 * coding, or up to the end of the connection, answers to HEAD, and
 * `connection: close`. Not for upgrades.
 */

export interface AnswerHead {
  status: number;
  statusText: string;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Map<string, string>;
  /** Every header line as sent, names and values in turn (node:http's rawHeaders shape). */
  rawHeaders: string[];
}

export interface HttpAnswer extends AnswerHead {
  body: Buffer;
  /** The server will not take another request on this connection. */
  close: boolean;
}

export interface AnswerEvents {
  interim?(status: number): void;
  head(head: AnswerHead): void;
  data(chunk: Buffer): void;
  /** The answer is complete; `close`: the connection is done with too. */
  end(close: boolean): void;
}

const CRLF = Buffer.from('\r\n');
/** Where an HTTP/1.1 head ends. */
export const HEAD_END = Buffer.from('\r\n\r\n');
/** A head longer than this is not from a peer we talk to (the internal-call server holds requests to it too). */
export const MAX_HEAD = 64 * 1024;

/** A header line as `[name, value]` (the name as sent), or undefined when it is not one. */
export function headerLine(line: string): [string, string] | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
}

export class MalformedAnswer extends Error {}

function parseHead(buf: Buffer, end: number): AnswerHead {
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw new MalformedAnswer(`not an HTTP/1.1 status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers = new Map<string, string>();
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const h = headerLine(lines[i]!);
    if (!h) throw new MalformedAnswer(`malformed header line: ${JSON.stringify(lines[i]!.slice(0, 80))}`);
    const [name, value] = h;
    headers.set(name.toLowerCase(), value);
    rawHeaders.push(name, value);
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', headers, rawHeaders };
}

type Body =
  | { kind: 'none' }
  | { kind: 'length'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-end' }
  | { kind: 'trailers' }
  | { kind: 'to-close' };

/**
 * Feed it what the connection reads (push) and tell it when the connection
 * ends (finish); it reports each answer through the events. Bytes after a
 * complete answer stay buffered for the next one (`pending`). Throws
 * MalformedAnswer on bytes that are not an HTTP/1.1 answer.
 */
export class ResponseParser {
  private buf: Buffer = Buffer.alloc(0);
  private body: Body | undefined;
  private close = false;
  private headRequest = false;

  constructor(private readonly events: AnswerEvents) {}

  /** The next answer is to a HEAD request: it has no body, whatever its headers say. */
  expectHead(yes: boolean): void {
    this.headRequest = yes;
  }

  /** Bytes buffered and not yet part of an answer. */
  get pending(): number {
    return this.buf.length;
  }

  /** Whether an answer has begun (its head arrived) and not ended. */
  get inBody(): boolean {
    return this.body !== undefined;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.step());
  }

  /** The connection ended: true if that completes an answer (one whose body runs to the end). */
  finish(): boolean {
    if (this.body?.kind !== 'to-close') return false;
    this.done();
    return true;
  }

  /** Parses what it can; true while there is more to do. */
  private step(): boolean {
    const b = this.body;
    if (!b) return this.head();
    switch (b.kind) {
      case 'none':
        return this.done();
      case 'length':
      case 'chunk-data': {
        if (this.buf.length === 0) return false;
        const n = Math.min(b.left, this.buf.length);
        const data = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        b.left -= n;
        this.events.data(data);
        if (b.left > 0) return false;
        if (b.kind === 'length') return this.done();
        this.body = { kind: 'chunk-end' };
        return true;
      }
      case 'chunk-size': {
        const lineEnd = this.buf.indexOf(CRLF);
        if (lineEnd < 0) return this.tooLong('chunk size line');
        // A chunk size may carry extensions after ';'.
        const sizeText = this.buf.toString('latin1', 0, lineEnd).split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new MalformedAnswer(`bad chunk size: ${JSON.stringify(sizeText.slice(0, 20))}`);
        this.buf = this.buf.subarray(lineEnd + 2);
        const size = parseInt(sizeText, 16);
        this.body = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left: size };
        return true;
      }
      case 'chunk-end': {
        if (this.buf.length < 2) return false;
        if (this.buf[0] !== 13 || this.buf[1] !== 10) throw new MalformedAnswer('chunk not followed by CRLF');
        this.buf = this.buf.subarray(2);
        this.body = { kind: 'chunk-size' };
        return true;
      }
      case 'trailers': {
        // Trailer lines, if any, then an empty line; trailers are not passed on.
        const lineEnd = this.buf.indexOf(CRLF);
        if (lineEnd < 0) return this.tooLong('trailer line');
        this.buf = this.buf.subarray(lineEnd + 2);
        return lineEnd === 0 ? this.done() : true;
      }
      case 'to-close': {
        if (this.buf.length === 0) return false;
        const data = this.buf;
        this.buf = Buffer.alloc(0);
        this.events.data(data);
        return false;
      }
    }
  }

  private head(): boolean {
    const end = this.buf.indexOf(HEAD_END);
    if (end < 0) return this.tooLong('answer head');
    const head = parseHead(this.buf, end);
    this.buf = this.buf.subarray(end + 4);
    if (head.status < 200) {
      if (head.status === 101) throw new MalformedAnswer('unexpected protocol upgrade');
      this.events.interim?.(head.status);
      return true;
    }
    const length = head.headers.get('content-length');
    const chunked = /(^|,)\s*chunked\s*$/i.test(head.headers.get('transfer-encoding') ?? '');
    if (length !== undefined && !chunked && !/^\d+$/.test(length)) throw new MalformedAnswer(`bad content-length: ${JSON.stringify(length)}`);
    this.close = head.headers.get('connection')?.toLowerCase() === 'close';
    if (this.headRequest || head.status === 204 || head.status === 304) this.body = { kind: 'none' };
    else if (chunked) this.body = { kind: 'chunk-size' };
    else if (length !== undefined) this.body = Number(length) === 0 ? { kind: 'none' } : { kind: 'length', left: Number(length) };
    else {
      this.body = { kind: 'to-close' };
      this.close = true;
    }
    this.events.head(head);
    return true;
  }

  private tooLong(what: string): false {
    if (this.buf.length > MAX_HEAD) throw new MalformedAnswer(`${what} too long`);
    return false;
  }

  /** An answer ends; bytes after it wait for the next push (a server sends nothing unasked). */
  private done(): false {
    this.body = undefined;
    this.headRequest = false;
    this.events.end(this.close);
    return false;
  }
}

/**
 * A whole answer at a time: push returns it once complete (finish, at the
 * end of the connection, for a body that runs to it).
 */
export class ResponseReader {
  private readonly parser: ResponseParser;
  private head: AnswerHead | undefined;
  private parts: Buffer[] = [];
  private complete: HttpAnswer | undefined;

  constructor(onInterim: (status: number) => void = () => {}) {
    this.parser = new ResponseParser({
      interim: onInterim,
      head: (h) => (this.head = h),
      data: (c) => this.parts.push(c),
      end: (close) => {
        const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
        this.complete = { ...this.head!, body, close };
        this.head = undefined;
        this.parts = [];
      },
    });
  }

  get pending(): number {
    return this.parser.pending;
  }

  /** The answer this chunk completes, if any; bytes after it wait for the next push. */
  push(chunk: Buffer): HttpAnswer | undefined {
    this.complete = undefined;
    this.parser.push(chunk);
    return this.take();
  }

  /** The connection ended: the answer that completes, if any. */
  end(): HttpAnswer | undefined {
    this.complete = undefined;
    this.parser.finish();
    return this.take();
  }

  private take(): HttpAnswer | undefined {
    const a = this.complete;
    this.complete = undefined;
    return a;
  }
}
