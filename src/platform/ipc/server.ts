/**
 * The receiving side of internal calls: `POST /_internal/<component>/<ns>/<method>`
 * with a JSON body, answered with `{"r": result}` or `{"error": WireError}`.
 *
 * Calls arrive on connections of their own, read and answered by hand
 * (`connection.ts`; what a process's socket hears first tells them from the
 * gateway's forwarded requests, `socket.ts`), or through node:http (`handle`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { methodPath, type ApiDescriptor, type ApiMethod, type ApiShape, type CallContext, type MethodSpec } from './define.js';
import { DEADLINE_HEADER, toWireError, type WireError } from './wire.js';

export const MAX_CALL_BODY = 64 * 1024 * 1024;

export type InternalErrorReporter = (err: unknown, path: string) => void;

interface Handler {
  run: ApiMethod;
  /** Safe to retry: the caller needs no word that the call is about to run. */
  idempotent: boolean;
}

/** How a transport answers one call. */
export interface CallReply {
  /** 102: the call is about to run. */
  processing(): void;
  send(status: number, body: unknown): void;
}

export class IpcServer {
  private readonly handlers = new Map<string, Handler>();

  constructor(private readonly onInternalError: InternalErrorReporter = () => {}) {}

  register<T extends ApiShape<T>>(desc: ApiDescriptor<T>, impl: T): void {
    for (const name of Object.keys(desc.methods)) {
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new Error(`${desc.component} does not implement ${name}`);
      const spec = desc.methods[name as keyof typeof desc.methods] as MethodSpec;
      this.handlers.set(methodPath(desc, name), { run: (fn as ApiMethod).bind(impl), idempotent: spec.idempotent === true });
    }
  }

  /**
   * Whether a request is refused before its body is read: the reply is sent
   * and true returned. A path no handler serves (yet) is 503 "unavailable":
   * the callee component is not running here or still starting, nothing
   * ran, so the caller may retry.
   */
  refuse(method: string, path: string, reply: CallReply): boolean {
    if (method !== 'POST') {
      reply.send(405, { error: { type: 'internal', message: 'internal calls use POST' } });
      return true;
    }
    if (!this.handlers.has(path)) {
      reply.send(503, { error: { type: 'unavailable', message: `${path} is not served by this process (yet)` } });
      return true;
    }
    return false;
  }

  /**
   * Runs a call whose request was read whole. `signal` aborts when the
   * caller hangs up (deadline, cancelled long-poll).
   */
  run(path: string, body: Buffer, deadlineHeader: string | undefined, signal: AbortSignal, reply: CallReply): void {
    const handler = this.handlers.get(path)!;
    let arg: unknown;
    try {
      arg = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
    } catch {
      return reply.send(400, { error: { type: 'internal', message: 'internal call body is not JSON' } });
    }
    const deadline = Number(deadlineHeader) || Date.now() + 30_000;
    const ctx: CallContext = { signal, deadline };
    // 102 tells the caller the call is about to run: from now on a broken
    // connection may mean it ran, so a non-idempotent call must not be
    // retried. An idempotent one is retried either way, and the interim
    // answer would cost both sides a write and a read per call.
    if (!handler.idempotent) reply.processing();
    // Through a promise, so that a method throwing before its first await
    // answers with an error instead of taking the process down.
    Promise.resolve()
      .then(() => handler.run(arg, ctx))
      .then(
        (r: unknown) => reply.send(200, r === undefined ? {} : { r }),
        (e: unknown) => {
          const wire: WireError = toWireError(e);
          if (wire.type === 'internal') this.onInternalError(e, path);
          reply.send(500, { error: wire });
        },
      );
  }

  /** Handles, through node:http, a request whose path starts with /_internal/. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const reply: CallReply = {
      processing: () => res.writeProcessing(),
      send: (status, body) => {
        if (res.headersSent || res.destroyed) return;
        const text = encodeAnswer(status, body);
        res.writeHead(text.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text.text) });
        res.end(text.text);
      },
    };
    if (this.refuse(req.method ?? '', path, reply)) return void req.resume();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_CALL_BODY) {
        reply.send(413, { error: { type: 'internal', message: 'internal call body too large' } });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const controller = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      const header = req.headers[DEADLINE_HEADER];
      this.run(path, Buffer.concat(chunks), typeof header === 'string' ? header : undefined, controller.signal, reply);
    });
  }
}

/** An answer's JSON text; a result that is not JSON becomes a 500 that says so. */
export function encodeAnswer(status: number, body: unknown): { status: number; text: string } {
  try {
    return { status, text: JSON.stringify(body) };
  } catch (e) {
    return { status: 500, text: JSON.stringify({ error: { type: 'internal', message: `result is not JSON: ${(e as Error).message}` } }) };
  }
}
