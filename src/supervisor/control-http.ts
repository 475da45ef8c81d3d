/**
 * JSON over the supervisor's control socket, both sides: the answers its
 * handlers write, the bodies they read, and the request the CLI's and the
 * update code's callers make.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

export function replyJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request body as JSON; RangeError past `maxBytes`, SyntaxError when it is not JSON. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > maxBytes) throw new RangeError('the request is too large');
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** The error of a request to a control socket nobody listens on: no supervisor runs. */
export function noSupervisor(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

export interface ControlAnswer {
  status: number;
  /** The answer parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  text: string;
}

/**
 * One request on the control socket. Rejects with the connection's error
 * (its `code` says ENOENT or ECONNREFUSED when no supervisor runs), or when
 * no answer came in `timeoutMs`.
 */
export function controlRequest(socketPath: string, method: string, path: string, opts: { timeoutMs: number; json?: unknown; stream?: Readable }): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const text = opts.json === undefined ? undefined : JSON.stringify(opts.json);
    const headers = text !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : opts.stream ? { 'content-type': 'application/octet-stream' } : {};
    const req = request({ socketPath, method, path, timeout: opts.timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text: body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('the supervisor did not answer in time')));
    req.on('error', reject);
    if (opts.stream) {
      // A refusal may come before the whole body is sent: the answer counts, not the broken pipe.
      opts.stream.on('error', (e) => req.destroy(e));
      opts.stream.pipe(req);
    } else req.end(text);
  });
}
